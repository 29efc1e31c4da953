"""Config round trips, naming, chains, laziness, user-defined and external modifiers."""

from __future__ import annotations

import json
import sys

import dask.array as da
import numpy as np
import pytest
import xarray as xr

import iqx.modifiers as M
from iqx.errors import InvalidParameterError, UnknownOperationError
from iqx.registry import modifiers as registry
from iqx.testing.laziness import raise_if_dask_computes

ALL = [
    M.jpeg(quality=70),
    M.jpeg(quality=55, subsampling="4:4:4", per_band=True),
    M.jpeg2000(psnr=40),
    M.jpeg2000(ratio=8),
    M.jpeg2000(reversible=True),
    M.quantize(bits=6),
    M.quantize(bits=4, mode="mask"),
    M.gaussian_noise(sigma=2.5, seed=7),
    M.snr_noise(snr=20, initial_snr=31),
    M.gaussian_blur(sigma=1.5),
    M.rer_blur(rer=0.3, initial_rer=0.56),
    M.resample(factor=0.5, method="cubic"),
    M.resample(gsd=0.6, source_gsd=0.3),
    M.chain(M.jpeg(quality=70), M.quantize(bits=6)),
]


@pytest.mark.parametrize("mod", ALL, ids=lambda m: m.folder_name)
def test_config_json_round_trip(mod):
    cfg = mod.get_config()
    back = M.from_config(json.loads(json.dumps(cfg)))
    assert back == mod and back.get_config() == cfg and repr(back) == repr(mod)
    assert back.folder_name == mod.folder_name


def test_names_repr_and_cli_spelling_agree():
    """CLI spec, Python call and JSON study config mean the same modifier."""
    py = M.jpeg(quality=70, subsampling="4:4:4")
    cli = M.parse_spec("jpeg:quality=70,subsampling=444")
    study = M.from_config(json.loads('{"id": "jpeg", "quality": 70, "subsampling": "444"}'))
    assert py == cli == study
    assert repr(M.jpeg(quality=70)) == "jpeg(quality=70, subsampling='4:2:0')"
    assert M.jpeg(quality=70).folder_name == "jpeg_q70"
    assert cli.folder_name == "jpeg_q70_ss444"
    assert M.gaussian_blur(sigma=1.5).folder_name == "gaussian_blur_s1.5"
    assert M.quantize(bits=10).folder_name == "quantize_b10"
    assert M.resample(factor=0.5).folder_name == "resample_f0.5"
    assert M.parse_spec("quantize:bits=4,mode=mask") == M.quantize(bits=4, mode="mask")
    assert M.as_modifier(["jpeg:quality=70", {"id": "quantize", "bits": 10}]).folder_name == (
        "jpeg_q70+quantize_b10"
    )


def test_bad_specs():
    with pytest.raises(UnknownOperationError):
        M.parse_spec("nosuch:x=1")
    with pytest.raises(InvalidParameterError, match="key=value"):
        M.parse_spec("jpeg:70")
    with pytest.raises(InvalidParameterError):
        M.parse_spec("jpeg:qualty=70")
    with pytest.raises(InvalidParameterError, match="quality"):
        M.parse_spec("jpeg:quality=0")


def test_registry_metadata():
    assert {"jpeg", "jpeg2000", "quantize", "gaussian_noise", "snr_noise", "gaussian_blur"} <= set(
        registry.ids()
    )
    assert registry.get("resample").changes_grid
    assert not registry.get("jpeg").changes_grid
    assert registry.get("gaussian_blur").halo(sigma=2.0) == 8


@pytest.mark.parametrize("mod", ALL, ids=lambda m: m.folder_name)
def test_lazy_and_keeps_coords_attrs(mod):
    img = (np.random.default_rng(0).random((3, 48, 40)) * 255).astype(np.uint8)
    scene = xr.DataArray(
        da.from_array(img, chunks=(1, 24, 24)),
        dims=("band", "y", "x"),
        coords={"band": [1, 2, 3], "y": np.arange(48) + 0.5, "x": np.arange(40) + 0.5},
        attrs={"crs": "EPSG:32616", "transform": (1.0, 0, 0.0, 0, 1.0, 0.0), "iqx_history": ["x"]},
    )
    with raise_if_dask_computes():
        out = mod(scene)
    assert out.dims == ("band", "y", "x") and out.attrs["crs"] == "EPSG:32616"
    n = len(mod.steps) if isinstance(mod, M.Chain) else 1
    assert out.attrs["iqx_history"][0] == "x" and len(out.attrs["iqx_history"]) == 1 + n
    if not mod.changes_grid:
        np.testing.assert_array_equal(out.x.values, scene.x.values)
    assert out.values.dtype == np.uint8


def test_chain_equals_sequential_application():
    img = (np.random.default_rng(1).random((1, 32, 32)) * 255).astype(np.uint8)
    ch = M.chain(M.jpeg(quality=70), M.quantize(bits=4))
    ref = M.quantize(M.jpeg(img, quality=70), bits=4)
    np.testing.assert_array_equal(ch(img).values, ref.values)


def test_nodata_pixels_kept():
    img = np.full((1, 16, 16), 100, np.uint8)
    img[0, :4] = 0
    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"nodata": 0})
    out = M.gaussian_noise(scene, sigma=30, seed=0).values
    assert (out[0, :4] == 0).all() and (out[0, 4:] != 100).any()


class Invert(M.Modifier):
    """Invert unsigned data (test user-defined modifier)."""

    id = "invert_test"
    short = "invert"
    abbrev = {"top": "t"}  # noqa: RUF012
    always = ("top",)

    def __init__(self, top: int = 255) -> None:
        super().__init__(top=int(top))

    def apply(self, image):
        return self._params["top"] - image


def test_user_defined_modifier_registered_and_round_trips():
    from iqx.registry import register_modifier

    register_modifier("invert_test", summary="invert (test)")(Invert)
    m = M.from_config({"id": "invert_test", "top": 255})
    assert m.folder_name == "invert_test_t255" and repr(m) == "invert_test(top=255)"
    out = m(np.zeros((1, 2, 2), np.uint8))
    assert out.values.max() == 255 and out.attrs["iqx_history"] == ["invert_test(top=255)"]
    assert M.parse_spec("invert_test:top=255") == m


def test_external_modifier_runs_program_per_image(tmp_path):
    """A Python one-liner as 'external program': output = 255 - input (.npy files)."""
    code = "import sys,numpy as np; np.save(sys.argv[2], 255 - np.load(sys.argv[1]))"
    m = M.external(command=[sys.executable, "-c", code, "{input}", "{output}"], name="inv")
    img = (np.random.default_rng(0).random((1, 20, 30)) * 255).astype(np.uint8)
    out = m(da.from_array(img, chunks=(1, 10, 10)))
    np.testing.assert_array_equal(out.values, 255 - img)
    assert m.folder_name == "inv" and M.from_config(m.get_config()) == m
    bad = M.external(
        command=[sys.executable, "-c", "import sys; sys.exit(3)", "{input}", "{output}"]
    )
    with pytest.raises(M.ExternalCommandError, match="status 3"):
        _ = bad(img).values
    with pytest.raises(InvalidParameterError, match="input"):
        M.external(command=["prog", "{output}"])


@pytest.mark.distributed
@pytest.mark.slow
def test_every_modifier_under_distributed_processes(dask_client):
    """Each modifier computes on a LocalCluster with 2 process workers, equal to local run."""
    img = (np.random.default_rng(2).random((3, 64, 64)) * 255).astype(np.uint8)
    x = da.from_array(img, chunks=(1, 32, 32))
    mods = [
        *ALL,
        M.external(
            command=[
                sys.executable,
                "-c",
                "import shutil,sys; shutil.copy(sys.argv[1], sys.argv[2])",
                "{input}",
                "{output}",
            ]
        ),
    ]
    for mod in mods:
        dist = mod(x).compute()
        local = mod(x).compute(scheduler="sync")
        np.testing.assert_array_equal(dist.values, local.values)
    vol = M.data_volume(x, M.jpeg(quality=70))
    assert vol["compressed_bytes"] > 0
