"""The registered ``niirs`` metric: blind NIIRS against the GIQE at the true inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy.stats import norm

from iqx.errors import InvalidParameterError
from iqx.metrics import niirs, niirs_map, sharpness
from iqx.metrics._niirs_inputs import gsd_from_attrs, overshoot_from_mtf
from iqx.metrics.giqe import INCH, giqe
from iqx.registry import metrics as registry
from iqx.testing.edges import _cell_params, edge_truth, parcel_scene

UTM = {"transform": (0.5, 0.0, 300000.0, 0.0, -0.5, 5.0e6), "crs": "EPSG:32631"}
CELL = 96


def _scene(sigma: float, snr: float | None, size: int = 576, **attrs) -> xr.DataArray:
    img = parcel_scene(size, cell=CELL, sigma=sigma, snr=snr, dtype=np.float64, seed=3)
    return xr.DataArray(img[None], dims=("band", "y", "x"), attrs={**UTM, **attrs})


def _true_edge_snr(edges, snr: float) -> float:
    """Median over the used edges of the planted contrast / noise (level x snr per cell)."""
    used = edges[edges["direction"].isin(["x", "y"])]
    levels = [
        _cell_params(3, int(y // CELL), int(x // CELL), CELL)[1][3]
        for y, x in zip(used["y"], used["x"], strict=True)
    ]
    return float(np.median(np.array(levels) * snr))


@pytest.fixture(scope="module")
def measured():
    out = {}
    for sigma in (0.6, 1.0):
        sc = _scene(sigma, 40.0)
        out[sigma] = (sc, sharpness(sc))
    return out


@pytest.mark.parametrize("sigma", [0.6, 1.0])
@pytest.mark.parametrize("version", [5, 4, 3])
def test_blind_niirs_within_0p1_of_giqe_at_the_truth(measured, sigma, version):
    sc, sres = measured[sigma]
    res = niirs(sc, version=version, sharpness_result=sres)
    truth = edge_truth(sigma)  # point-sampled Gaussian PSF
    true_snr = _true_edge_snr(sres.edges, 40.0)
    expected = giqe(
        version,
        rer_x=truth.rer,
        rer_y=truth.rer,
        gsd_in=0.5 / INCH,
        snr=true_snr,
        h=norm.cdf(1.25 / sigma),  # monotone Gaussian edge: ESF at 1.25 px
    )
    assert res.value == pytest.approx(expected, abs=0.1)
    s = res.scene
    assert s["niirs_ci_low"] <= s["niirs"] <= s["niirs_ci_high"]
    assert s["snr"] == pytest.approx(true_snr, rel=0.15)
    assert s["rer_x"] == pytest.approx(truth.rer, abs=0.02)
    assert s["rer_y"] == pytest.approx(truth.rer, abs=0.02)
    if version != 5:
        assert s["h"] == pytest.approx(norm.cdf(1.25 / sigma), abs=0.01)


def test_inputs_reported_beside_the_value(measured):
    sc, sres = measured[0.6]
    res = niirs(sc, sharpness_result=sres)
    flat = res.flat_summary()
    for key in (
        "niirs",
        "niirs_ci_low",
        "niirs_ci_high",
        "niirs_se",
        "niirs_gsd_m",
        "niirs_gsd_in",
        "niirs_gsd_source",
        "niirs_elevation_deg",
        "niirs_elevation_source",
        "niirs_rer_x",
        "niirs_rer_x_se",
        "niirs_rer_y",
        "niirs_snr",
        "niirs_snr_se",
        "niirs_snr_source",
        "niirs_n_edges_x",
        "niirs_reason",
    ):
        assert key in flat, key
    assert flat["niirs_gsd_m"] == pytest.approx(0.5)
    assert flat["niirs_gsd_in"] == pytest.approx(0.5 / 0.0254)
    assert flat["niirs_gsd_source"] == "georeferencing"
    assert "nadir" in flat["niirs_elevation_source"]
    assert 0 < flat["niirs_se"] < 0.1
    assert "NIIRS (GIQE 5)" in repr(res)
    ds = res.dataset
    assert ds.attrs["version"] == 5 and ds["reason"].values[0] == ""
    # same seed, same answer
    assert niirs(sc, sharpness_result=sres).scene == res.scene


def test_not_georeferenced_gives_a_reason_not_a_number(measured):
    sc, sres = measured[0.6]
    plain = sc.copy()
    plain.attrs = {}
    res = niirs(plain, sharpness_result=sres)
    assert res.value is None
    assert "GSD not measurable" in res.scene["reason"]
    assert np.isnan(res.dataset["niirs"].values).all()
    assert res.flat_summary()["niirs"] is None
    # ... and a given GSD (metres) makes it measurable
    given = niirs(plain, sharpness_result=sres, gsd=0.5)
    assert given.value == pytest.approx(niirs(sc, sharpness_result=sres).value, abs=1e-12)
    assert given.scene["gsd_source"] == "given"


def test_no_edges_gives_a_reason():
    flat = xr.DataArray(np.full((1, 128, 128), 100.0), dims=("band", "y", "x"), attrs=UTM)
    res = niirs(flat)
    assert res.value is None
    assert "RER not measurable" in res.scene["reason"]


def test_elevation_from_metadata_and_given(measured):
    sc, sres = measured[0.6]
    nadir = niirs(sc, sharpness_result=sres).value
    tilted = sc.copy()
    tilted.attrs = {**sc.attrs, "MEANOFFNADIRVIEWANGLE": 30.0}
    res = niirs(tilted, sharpness_result=sres)
    assert res.scene["elevation_deg"] == pytest.approx(60.0)
    assert "metadata" in res.scene["elevation_source"]
    # GIQE 5: GSD / sin(60 deg) ** 0.25
    assert res.value == pytest.approx(nadir + 3.32 * 0.25 * math.log10(math.sin(math.pi / 3)))
    assert niirs(sc, sharpness_result=sres, elevation=60.0).value == pytest.approx(res.value)


def test_snr_sources_and_options(measured):
    sc, sres = measured[0.6]
    fixed = niirs(sc, sharpness_result=sres, snr=25.0)
    assert fixed.scene["snr"] == 25.0 and fixed.scene["snr_source"] == "given"
    scene = niirs(sc, sharpness_result=sres, snr="scene")
    assert scene.scene["snr_source"] == "scene" and scene.scene["snr"] > 0
    alld = niirs(sc, sharpness_result=sres, directions="all")
    assert alld.scene["rer_x"] == alld.scene["rer_y"]
    assert alld.value == pytest.approx(niirs(sc, sharpness_result=sres).value, abs=0.05)
    g2 = niirs(sc, sharpness_result=sres, version=4, noise_gain=2.0, overshoot=1.1)
    assert g2.scene["g"] == 2.0 and g2.scene["h"] == 1.1
    for bad in (
        {"version": 2},
        {"gsd": -1.0},
        {"snr": "psnr"},
        {"elevation": 0.0},
        {"directions": "z"},
    ):
        with pytest.raises(InvalidParameterError):
            niirs(sc, sharpness_result=sres, **bad)


def test_multiband_scene_is_the_band_mean(measured):
    sc, _ = measured[0.6]
    two = xr.concat([sc, sc * 2.0 + 10.0], dim="band").assign_coords(band=[1, 2])
    two.attrs = sc.attrs
    res = niirs(two)
    per_band = res.dataset["niirs"].values
    assert np.isfinite(per_band).all()
    assert res.value == pytest.approx(per_band.mean())


def test_map_agrees_with_the_scene(measured):
    sc, sres = measured[0.6]
    m = niirs_map(sc, tile=288)
    assert m["niirs"].shape == (1, 2, 2)
    assert m.attrs["gsd_m"] == pytest.approx(0.5)
    scene_value = niirs(sc, sharpness_result=sres).value
    np.testing.assert_allclose(m["niirs"].values, scene_value, atol=0.05)
    with pytest.raises(InvalidParameterError, match="GSD"):
        niirs_map(sc.drop_attrs() if hasattr(sc, "drop_attrs") else sc.copy(data=sc.values))


def test_registered_for_iqx_list():
    reg = registry.get("niirs")
    assert reg.id == "niirs" and "niirs" in reg.outputs
    names = [p["name"] for p in reg.parameters()]
    assert {"version", "gsd", "elevation", "snr"} <= set(names)


def test_gsd_from_georeferencing():
    gx, gy, why = gsd_from_attrs({"transform": (2.0, 0, 0, 0, -3.0, 0), "crs": "EPSG:3857"}, (8, 8))
    assert (gx, gy, why) == (2.0, 3.0, "")
    # feet
    gx, _, _ = gsd_from_attrs({"transform": (1.0, 0, 0, 0, -1.0, 0), "crs": "EPSG:2227"}, (8, 8))
    assert gx == pytest.approx(0.3048006, rel=1e-6)
    # geographic: 1e-5 deg at the equator ~ 1.11 m
    gx, gy, _ = gsd_from_attrs({"transform": (1e-5, 0, 0, 0, -1e-5, 0), "crs": "EPSG:4326"}, (2, 2))
    assert gx == pytest.approx(1.1132, rel=1e-3) and gy == pytest.approx(1.1057, rel=1e-3)
    assert "CRS" in gsd_from_attrs({"transform": (1, 0, 0, 0, 1, 0), "crs": None}, (2, 2))[2]


def test_overshoot_of_a_sharpened_edge():
    f = np.round(np.arange(0.0, 1.0 + 1e-9, 0.01), 10)
    gauss = np.exp(-2 * np.pi**2 * 0.7**2 * f**2)
    assert overshoot_from_mtf(f, gauss) == pytest.approx(norm.cdf(1.25 / 0.7), abs=1e-3)
    boost = gauss * (1 + 1.5 * np.sin(np.pi * f) ** 2)  # MTFC-like mid-frequency boost
    assert overshoot_from_mtf(f, boost) > 1.02
    assert math.isnan(overshoot_from_mtf(f, np.full_like(f, np.nan)))
