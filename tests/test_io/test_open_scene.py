"""open_scene: exact values on every real raster, laziness, chunking, attrs, bad input."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
from rasterio.enums import ColorInterp
from rasterio.transform import from_origin

import iqx
from iqx.errors import (
    InvalidParameterError,
    IqxError,
    PathNotFoundError,
    RasterReadError,
    UnsupportedDtypeError,
)
from iqx.io import open_scene
from iqx.testing.laziness import raise_if_dask_computes

RASTER_EXT = {".tif", ".tiff", ".jp2", ".png", ".jpg", ".jpeg"}


def _rasters(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in RASTER_EXT)


def _rio_read(path: Path) -> np.ndarray:
    """rasterio's pixels; a palette raster's as the colours its table shows.

    The lookup is done here independently of iqx (one table row per distinct index through
    ``np.unique``), opaque tables as RGB, others as RGBA, as OpenCV and Pillow read them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path) as ds:
            arr = ds.read()
            if ds.count != 1 or ds.colorinterp[0] != ColorInterp.palette:
                return arr
            table = ds.colormap(1)
    values, inverse = np.unique(arr[0], return_inverse=True)
    colours = np.array([table.get(int(v), (0, 0, 0, 0)) for v in values], dtype=np.uint8)
    if all(c[3] == 255 for c in table.values()):
        colours = colours[:, :3]
    return colours[inverse.reshape(arr.shape[1:])].transpose(2, 0, 1)


def test_every_shared_raster_equals_rasterio(shared_data):
    paths = _rasters(shared_data)
    drivers = set()
    assert len(paths) >= 40
    for p in paths:
        with raise_if_dask_computes():
            scene = open_scene(p)
        ref = _rio_read(p)
        assert scene.dims == ("band", "y", "x")
        assert scene.dtype == ref.dtype, p
        np.testing.assert_array_equal(scene.values, ref, err_msg=str(p))
        drivers.add(scene.attrs["driver"])
    assert {"GTiff", "JPEG", "PNG", "JP2OpenJPEG"} <= drivers


@pytest.mark.parametrize("chunks", [(64, 100), 77, {"y": 300, "x": -1}, (1, 128, 128)])
def test_chunkings_give_same_values(shared_data, chunks):
    p = shared_data / "riotiler_fixtures" / "pix4d_alpha_nodata.tif"
    scene = open_scene(p, chunks=chunks)
    np.testing.assert_array_equal(scene.values, _rio_read(p))


def test_default_chunks_align_to_tiles(tmp_path):
    p = tmp_path / "big.tif"
    prof = dict(driver="GTiff", width=3000, height=2500, count=2, dtype="uint16", tiled=True,
                blockxsize=256, blockysize=256)  # fmt: skip
    with rasterio.open(p, "w", **prof):
        pass  # sparse file: fine for chunk layout
    scene = open_scene(p)
    _, cy, cx = (max(c) for c in scene.chunks)
    assert cy % 256 == 0 and cx % 256 == 0
    assert 512 * 512 <= cy * cx <= 2 * 1024 * 1024
    assert scene.chunks[0] == (2,)


def test_attrs_georeferenced(shared_data):
    scene = open_scene(shared_data / "calval_landsat8_sentinel2" / "LC081740392018051501T1-SC20180714062356" / "LC08_L1TP_174039_20180515_20180604_01_T1_sr_band2.tif")  # fmt: skip
    a = scene.attrs
    assert a["nodata"] == -9999 and isinstance(a["nodata"], int)
    assert "32636" in a["crs"]
    assert a["driver"] == "GTiff" and a["bit_depth"] is None and a["iqx_history"] == []
    t = a["transform"]
    assert len(t) == 6
    assert scene.x.values[0] == pytest.approx(t[2] + t[0] / 2)
    assert scene.y.values[0] == pytest.approx(t[5] + t[4] / 2)
    np.testing.assert_array_equal(scene.band.values, [1])


def test_goes_custom_crs_survives(shared_data):
    scene = open_scene(shared_data / "rasterio_landsat7_goes" / "goes.tif")
    assert "Geostationary_Satellite" in scene.attrs["crs"]
    with rasterio.open(shared_data / "rasterio_landsat7_goes" / "goes.tif") as ds:
        assert rasterio.crs.CRS.from_wkt(scene.attrs["crs"]) == ds.crs


def test_non_georeferenced_identity(shared_data):
    scene = open_scene(shared_data / "sahi_aerial_coco" / "terrain4.png")
    assert scene.attrs["crs"] is None
    assert scene.attrs["transform"] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    np.testing.assert_allclose(scene.x.values[:3], [0.5, 1.5, 2.5])
    assert scene.attrs["driver"] == "PNG"


def test_nbits_bit_depth(tmp_path):
    p = tmp_path / "nbits.tif"
    a = np.arange(64 * 64, dtype=np.uint16).reshape(1, 64, 64) % 2048
    with rasterio.open(p, "w", driver="GTiff", width=64, height=64, count=1, dtype="uint16",
                       NBITS=11) as ds:  # fmt: skip
        ds.write(a)
    scene = open_scene(p)
    assert scene.attrs["bit_depth"] == 11
    np.testing.assert_array_equal(scene.values, a)


def test_graph_pickles_and_holds_no_handle(shared_data):
    scene = open_scene(shared_data / "solaris_spacenet" / "sample_geotiff.tif", chunks=256)
    blob = pickle.dumps(dict(scene.data.__dask_graph__()))
    assert len(blob) < 200_000
    again = pickle.loads(pickle.dumps(scene))
    np.testing.assert_array_equal(again.values, scene.values)


@pytest.mark.distributed
def test_read_on_process_workers(shared_data, dask_client):
    p = shared_data / "solaris_spacenet" / "sample_geotiff.tif"
    scene = open_scene(p, chunks=200)
    total = scene.sum().compute()
    assert int(total) == int(_rio_read(p).astype(np.int64).sum())


def test_lazy_iqx_toplevel(shared_data):
    with raise_if_dask_computes():
        scene = iqx.open_scene(shared_data / "solaris_spacenet" / "pan1.tif")
        _ = (scene.astype("float32") * 2).mean()


# ------------------------------------------------------------------ bad input
def _write_tif(path: Path, shape=(2, 600, 600), dtype="uint16") -> np.ndarray:
    a = np.random.default_rng(0).integers(0, 4000, shape).astype(dtype)
    with rasterio.open(path, "w", driver="GTiff", width=shape[2], height=shape[1],
                       count=shape[0], dtype=dtype, tiled=True, blockxsize=256, blockysize=256,
                       compress="deflate", crs="EPSG:32633",
                       transform=from_origin(500000, 4000000, 10, 10)) as ds:  # fmt: skip
        ds.write(a)
    return a


def test_missing_path():
    with pytest.raises(PathNotFoundError, match=r"nope\.tif"):
        open_scene("/definitely/not/here/nope.tif")


def test_random_bytes_named_tif(tmp_path):
    p = tmp_path / "garbage.tif"
    p.write_bytes(np.random.default_rng(1).bytes(5000))
    with pytest.raises(RasterReadError, match=r"garbage\.tif"):
        open_scene(p)


def _cut_in_half(path):
    """Keep the first half of the file's bytes (a download or copy cut short)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_truncated_tiff_fails_on_open(tmp_path):
    p = tmp_path / "trunc.tif"
    _write_tif(p)
    _cut_in_half(p)
    with pytest.raises(RasterReadError, match=r"trunc\.tif.*truncated"):
        open_scene(p)


def test_truncated_png_fails_on_open(tmp_path):
    p = tmp_path / "late.png"
    iqx.io.write_image(np.random.default_rng(2).integers(0, 255, (1, 300, 300)).astype("uint8"), p)
    _cut_in_half(p)
    with pytest.raises(RasterReadError, match=r"late\.png.*truncated"):
        open_scene(p)


def test_corrupt_chunk_read_names_file(tmp_path):
    p = tmp_path / "late.jpg"
    a = np.random.default_rng(2).integers(0, 255, (3, 400, 400)).astype("uint8")
    iqx.io.write_image(a, p)
    _cut_in_half(p)
    scene = open_scene(p)  # JPEG has no block table: the failure comes with the pixels
    with pytest.raises(RasterReadError, match=r"late\.jpg.*failed to read"):
        with dask.config.set(scheduler="sync"):
            scene.values  # noqa: B018


def test_complex_dtype_rejected(tmp_path):
    p = tmp_path / "cplx.tif"
    with rasterio.open(p, "w", driver="GTiff", width=8, height=8, count=1,
                       dtype="complex64") as ds:  # fmt: skip
        ds.write(np.ones((1, 8, 8), np.complex64))
    with pytest.raises(UnsupportedDtypeError, match=r"cplx\.tif.*complex64"):
        open_scene(p)


def test_folder_is_not_a_scene(tmp_path):
    with pytest.raises(RasterReadError, match="folder"):
        open_scene(tmp_path)


@pytest.mark.parametrize("chunks", [0, "big", (1, 2, 3, 4), {"z": 3}, True])
def test_bad_chunks(shared_data, chunks):
    with pytest.raises(InvalidParameterError):
        open_scene(shared_data / "solaris_spacenet" / "pan1.tif", chunks=chunks)


def test_errors_are_iqx_errors():
    assert issubclass(RasterReadError, IqxError)
