"""The ``sensor`` modifier: chunking, applied-vs-measured sharpness, noise model, config."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.metrics.sharpness import sharpness
from iqx.modifiers import Sensor, from_config, parse_spec, sensor
from iqx.testing.edges import slanted_edge

OPTICS = {"D": 0.35, "f": 5.5, "p_x": 11e-6, "altitude": 500e3, "eta": 0.25, "s_x": 0.1e-6}


def _scene(img: np.ndarray, chunks=None) -> xr.DataArray:
    data = img[None] if img.ndim == 2 else img
    if chunks is not None:
        data = da.from_array(data, chunks=chunks)
    return xr.DataArray(data, dims=("band", "y", "x"))


@pytest.mark.parametrize("chunks", [(1, 40, 40), (1, 97, 61), (1, 200, 33)])
def test_chunked_equals_whole_image(chunks):
    rng = np.random.default_rng(1)
    img = rng.uniform(0, 4000, (1, 200, 180))
    mod = Sensor(**OPTICS, source_gsd=0.25, defocus=8e-6, r0=0.12)
    whole = mod(img)
    lazy = mod(_scene(img, chunks))
    assert lazy.chunks is not None  # lazy
    got = lazy.compute()
    assert got.shape == whole.shape == (1, 50, 45)
    np.testing.assert_allclose(got.values, whole.values, rtol=0, atol=1e-9)


def test_output_gsd_and_georeferencing():
    img = np.zeros((1, 256, 256), np.uint16)
    out = sensor(_scene(img), **OPTICS, source_gsd=0.5)
    assert out.dtype == np.uint16
    assert out.shape == (1, 128, 128)
    assert out.attrs["gsd"] == pytest.approx(1.0)
    assert Sensor(**OPTICS).gsd == pytest.approx((1.0, 1.0))


def _predicted_rer(mod: Sensor, gsd_in: float, sigma_in: float) -> float:
    """RER = int OTF_x(xi) sinc(xi) dxi, xi in cycles per output pixel (ESF(.5) - ESF(-.5))."""
    scale = mod.gsd[1] / gsd_in  # input px per output px
    xi = np.linspace(-scale / 2, scale / 2, 20001)
    fx = xi / scale  # cycles per input pixel
    h = mod.otf(np.zeros_like(fx), fx, (gsd_in, gsd_in))
    h = h * np.exp(-2 * np.pi**2 * sigma_in**2 * fx**2)  # the edge's own blur
    return float(np.trapezoid(h * np.sinc(xi), xi))


@pytest.mark.parametrize(
    "optics",
    [OPTICS, {**OPTICS, "D": 1.2, "eta": 0.0, "s_x": 0.5e-6}],
    ids=["diffraction", "jitter"],
)
def test_measured_sharpness_matches_applied_otf(optics):
    """MTF@Nyquist within the metric's +-0.02; RER within 0.03 (see docs/sensor.md).

    The RER of a diffraction-limited chain is read 0.01-0.025 high: the Airy halo (the OTF's
    cusp at zero frequency) rises beyond the metric's plateau fit (halfwidth 10 px), so the
    measured ESF is normalised by a lower step than the full one.
    """
    gsd_in, sigma_in = 0.25, 0.3
    img = slanted_edge(1024, angle=6.0, sigma=sigma_in, low=500.0, contrast=2500.0)
    mod = Sensor(**optics, source_gsd=gsd_in, kernel_tol=1e-3)
    out = mod(img)
    res = sharpness(out, max_length=out.sizes["y"] - 16, halfwidth=10)
    assert len(res.edges) >= 1, res.rejected
    measured = res.edges[["rer", "mtf_nyquist"]].median()
    scale = mod.gsd[1] / gsd_in
    nyq = np.array([0.5 / scale])
    mtf_nyq = mod.otf(np.zeros(1), nyq, (gsd_in, gsd_in))[0]
    mtf_nyq *= np.exp(-2 * np.pi**2 * sigma_in**2 * nyq[0] ** 2)
    assert abs(measured["mtf_nyquist"] - mtf_nyq) <= 0.02, (measured, mtf_nyq)
    predicted = _predicted_rer(mod, gsd_in, sigma_in)
    assert 0.2 < predicted < 0.8
    assert abs(measured["rer"] - predicted) <= 0.03, (measured, predicted)


def test_noise_variance_follows_photon_plus_read_model():
    levels = np.repeat(np.linspace(200.0, 3800.0, 8), 1)[:, None, None]
    img = np.broadcast_to(levels, (8, 256, 256)).astype(np.float64).copy()
    kw = {"max_n": 40000.0, "full_scale": 4095.0, "read_noise": 15.0, "dark_current": 50.0}
    out = sensor(_scene(img), **OPTICS, source_gsd=1.0, resample=False, **kw).values
    gain = 40000.0 / 4095.0  # e- per DN
    predicted = levels.ravel() / gain + (50.0 + 15.0**2) / gain**2
    core = out[:, 32:-32, 32:-32]  # away from the reflect boundary
    var = core.reshape(8, -1).var(axis=1, ddof=1)
    mean = core.reshape(8, -1).mean(axis=1)
    np.testing.assert_allclose(mean, levels.ravel(), rtol=2e-3)
    np.testing.assert_allclose(var, predicted, rtol=0.05)
    slope, _intercept = np.polyfit(mean, var, 1)
    assert slope == pytest.approx(1 / gain, rel=0.05)


def test_noise_is_seeded_per_chunk():
    img = np.full((1, 64, 64), 1000.0)
    kw = {**OPTICS, "source_gsd": 1.0, "max_n": 1e4, "full_scale": 4095.0, "seed": 3}
    a = sensor(_scene(img, (1, 32, 32)), **kw).values
    b = sensor(_scene(img, (1, 32, 32)), **kw).values
    np.testing.assert_array_equal(a, b)
    assert not Sensor(**kw).chunk_invariant and Sensor(**OPTICS).chunk_invariant


def test_config_round_trip_and_validation():
    mod = Sensor(**OPTICS, r0=0.1, max_n=2e4)
    assert from_config(mod.get_config()) == mod
    assert parse_spec("sensor:D=0.35,f=5.5,p_x=11e-6,altitude=500000").params["D"] == 0.35
    assert mod.folder_name.startswith("sensor_D0.35_f5.5_p1.1e-05_alt500000")
    with pytest.raises(InvalidParameterError):
        Sensor(D=-1)
    with pytest.raises(InvalidParameterError):
        Sensor(r0=0.1, cn2=1e-16)
    with pytest.raises(InvalidParameterError):
        Sensor(**OPTICS)(np.zeros((1, 8, 8)))  # no GSD
    with pytest.raises(InvalidParameterError):
        Sensor(**OPTICS, source_gsd=1.0, max_n=1e4)(np.zeros((1, 8, 8)))  # float: full_scale
