"""to_geotiff / to_zarr / write_image / read_image: round trips, georeferencing, atomicity."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.io import open_scene, read_image, to_geotiff, to_zarr, valid_mask, write_image
from iqx.parallel import as_scene
from iqx.testing.laziness import raise_if_dask_computes


def _scene(shape=(2, 700, 900), dtype="uint16", chunks=(2, 300, 250), nodata=0):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2048, shape).astype(dtype)
    s = as_scene(da.from_array(a, chunks=chunks))
    s.attrs.update(
        crs=rasterio.crs.CRS.from_epsg(32616).to_wkt(),
        transform=tuple(from_origin(733000.0, 3726000.0, 0.5, 0.5))[:6],
        nodata=nodata,
        bit_depth=11,
        iqx_history=["noise(sigma=1)"],
    )
    return s, a


def _no_leftovers(folder):
    return [p.name for p in folder.iterdir() if "iqx-tmp" in p.name or "iqx-old" in p.name]


def test_to_geotiff_roundtrip_keeps_georef(tmp_path):
    s, a = _scene()
    out = to_geotiff(s, tmp_path / "o.tif", blocksize=256)
    back = open_scene(out)
    np.testing.assert_array_equal(back.values, a)
    for key in ("crs", "transform", "nodata", "bit_depth", "iqx_history"):
        assert back.attrs[key] == s.attrs[key], key
    with rasterio.open(out) as ds:
        assert ds.profile["tiled"] and ds.block_shapes[0] == (256, 256)
        assert ds.compression.name == "deflate"
    assert _no_leftovers(tmp_path) == []


def test_to_geotiff_cog_is_valid(tmp_path):
    s, a = _scene(shape=(1, 1100, 1000))
    out = to_geotiff(s, tmp_path / "c.tif", cog=True, blocksize=256, compress="zstd")
    with rasterio.open(out) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.overviews(1)  # overviews built
        assert ds.block_shapes[0] == (256, 256)
    np.testing.assert_array_equal(open_scene(out).values, a)
    assert _no_leftovers(tmp_path) == []


def test_to_geotiff_numpy_and_custom_crs(tmp_path, shared_data):
    goes = open_scene(shared_data / "rasterio_landsat7_goes" / "goes.tif")
    out = to_geotiff(goes.compute(), tmp_path / "g.tif")
    with rasterio.open(out) as ds, rasterio.open(goes.attrs["source"]) as ref:
        assert ds.crs == ref.crs and ds.transform == ref.transform
    np.testing.assert_array_equal(read_image(out), goes.values)


def test_to_geotiff_overwrite_and_failure_atomic(tmp_path):
    s, _ = _scene(shape=(1, 300, 300), chunks=(1, 100, 100))
    out = to_geotiff(s, tmp_path / "o.tif")
    with pytest.raises(InvalidParameterError, match=r"o\.tif.*exists"):
        to_geotiff(s, out)
    before = out.read_bytes()

    def boom(block, block_info=None):
        if block_info[0]["chunk-location"] == (0, 2, 2):
            raise RuntimeError("worker died")
        return block

    bad = s.copy(data=s.data.map_blocks(boom, dtype=s.dtype))
    with pytest.raises(RuntimeError, match="worker died"):
        to_geotiff(bad, out, overwrite=True)
    assert out.read_bytes() == before  # old file untouched
    with pytest.raises(RuntimeError):
        to_geotiff(bad, tmp_path / "new.tif")
    assert not (tmp_path / "new.tif").exists()
    assert _no_leftovers(tmp_path) == []


@pytest.mark.parametrize("dtype", ["bool", "complex64"])
def test_unsupported_dtype_write(tmp_path, dtype):
    s = as_scene(np.zeros((1, 8, 8), dtype=dtype))
    with pytest.raises(UnsupportedDtypeError, match=r"x\.tif.*" + dtype):
        to_geotiff(s, tmp_path / "x.tif")
    with pytest.raises(UnsupportedDtypeError, match=r"x\.zarr"):
        to_zarr(s, tmp_path / "x.zarr")
    with pytest.raises(UnsupportedDtypeError, match=r"x\.png"):
        write_image(s, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_to_zarr_roundtrip(tmp_path):
    s, a = _scene()
    out = to_zarr(s, tmp_path / "o.zarr")
    with raise_if_dask_computes():
        back = open_scene(out)
    assert back.attrs["driver"] == "zarr"
    np.testing.assert_array_equal(back.values, a)
    for key in ("crs", "transform", "nodata", "bit_depth", "iqx_history"):
        assert back.attrs[key] == s.attrs[key], key
    np.testing.assert_array_equal(back.x.values, open_scene(to_geotiff(s, tmp_path / "r.tif")).x)
    # chunking of the store and of the reader
    plain = xr.open_zarr(out, consolidated=False)["data"]  # readable by plain xarray too
    assert plain.shape == a.shape and plain.encoding["chunks"] == (2, 300, 250)
    assert back.chunks == ((2,), (700,), (900,))  # small store chunks grouped (~1024²)
    again = open_scene(out, chunks=(128, 128))
    assert again.chunks[1][:2] == (128, 128)
    np.testing.assert_array_equal(again.values, a)
    assert _no_leftovers(tmp_path) == []


@pytest.mark.parametrize("codec", ["zstd", "none"])
def test_to_zarr_codecs_nan_nodata(tmp_path, codec):
    a = np.random.default_rng(3).random((1, 50, 60)).astype("float32")
    a[0, :5] = np.nan
    s = as_scene(a)
    s.attrs["nodata"] = float("nan")
    back = open_scene(to_zarr(s, tmp_path / "f.zarr", codec=codec, chunks=32))
    assert np.isnan(back.attrs["nodata"])
    np.testing.assert_array_equal(back.values, a)
    assert not valid_mask(back).values[0, :5].any()


def test_to_zarr_bad_codec_and_overwrite(tmp_path):
    s, _ = _scene(shape=(1, 20, 20), chunks=(1, 20, 20))
    with pytest.raises(InvalidParameterError, match="codec"):
        to_zarr(s, tmp_path / "a.zarr", codec="lz9")
    to_zarr(s, tmp_path / "a.zarr")
    with pytest.raises(InvalidParameterError, match="exists"):
        to_zarr(s, tmp_path / "a.zarr")
    s2 = s + 1
    s2.attrs.update(s.attrs)
    to_zarr(s2, tmp_path / "a.zarr", overwrite=True)
    np.testing.assert_array_equal(open_scene(tmp_path / "a.zarr").values, s2.values)
    assert _no_leftovers(tmp_path) == []


@pytest.mark.distributed
def test_write_on_process_workers(tmp_path, dask_client):
    s, a = _scene(chunks=(2, 200, 200))
    tif = to_geotiff(s, tmp_path / "d.tif", blocksize=128)
    zarr_path = to_zarr(open_scene(tif, chunks=256), tmp_path / "d.zarr")
    back = open_scene(zarr_path)
    assert int(back.sum().compute()) == int(a.astype(np.int64).sum())
    np.testing.assert_array_equal(open_scene(tif).values, a)


# ------------------------------------------------------------------ write_image
def test_write_image_formats(tmp_path):
    rng = np.random.default_rng(4)
    rgb8 = rng.integers(0, 255, (3, 64, 80)).astype("uint8")
    rgba16 = rng.integers(0, 65535, (4, 64, 80)).astype("uint16")
    gray = rng.integers(0, 255, (64, 80)).astype("uint8")
    for arr, name in [(rgb8, "a.png"), (rgba16, "b.png"), (gray, "c.png"), (rgb8, "d.tif")]:
        n = write_image(arr, tmp_path / name)
        assert n == (tmp_path / name).stat().st_size > 0
        np.testing.assert_array_equal(read_image(tmp_path / name), arr.reshape(-1, 64, 80))
    # JPEG through Pillow; 4:4:4 at q95 is close to the input
    write_image(rgb8, tmp_path / "e.jpg", quality=95, subsampling=0)
    jpg = read_image(tmp_path / "e.jpg")
    assert jpg.shape == rgb8.shape and np.abs(jpg.astype(int) - rgb8).mean() < 8
    small = write_image(rgb8, tmp_path / "f.jpg", quality=10)
    assert small < (tmp_path / "e.jpg").stat().st_size
    with pytest.raises(UnsupportedDtypeError, match=r"g\.jpg"):
        write_image(rgba16, tmp_path / "g.jpg")
    with pytest.raises(InvalidParameterError, match=r"\.xyz"):
        write_image(rgb8, tmp_path / "h.xyz")
    with pytest.raises(InvalidParameterError, match="driver"):
        write_image(rgb8, tmp_path / "h.tif", driver="BMPX")
    assert [p.name for p in tmp_path.iterdir() if "iqx-tmp" in p.name or "aux" in p.name] == []


def test_write_image_like_and_georef(tmp_path, shared_data):
    src = shared_data / "riotiler_fixtures" / "scene_band1.tif"
    scene = open_scene(src)
    out = tmp_path / "no_ext"
    write_image(scene, out, like=src)
    with rasterio.open(out) as ds, rasterio.open(src) as ref:
        assert ds.driver == "GTiff" and ds.crs == ref.crs and ds.transform == ref.transform
        assert ds.nodata == ref.nodata and ds.compression == ref.compression
    np.testing.assert_array_equal(read_image(out), scene.values)
    jp = write_image(scene.astype("uint16"), tmp_path / "s.jp2", reversible=True, quality=100)
    assert jp > 0
    np.testing.assert_array_equal(read_image(tmp_path / "s.jp2"), scene.values)


def test_read_image_errors(tmp_path):
    from iqx.errors import PathNotFoundError, RasterReadError

    with pytest.raises(PathNotFoundError, match=r"gone\.png"):
        read_image(tmp_path / "gone.png")
    (tmp_path / "notes.txt.tif").write_text("hello")
    with pytest.raises(RasterReadError, match=r"notes\.txt\.tif"):
        read_image(tmp_path / "notes.txt.tif")


def test_no_gdal_warning_leak(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_image(np.zeros((1, 8, 8), "uint8"), tmp_path / "q.tif")
        open_scene(tmp_path / "q.tif").values  # noqa: B018


def test_rewritten_file_is_reread(tmp_path):
    """Window reads reuse per-thread handles; a replaced file must not serve stale pixels."""
    s, a = _scene(shape=(1, 64, 64), chunks=(1, 64, 64))
    p = to_geotiff(s, tmp_path / "r.tif")
    np.testing.assert_array_equal(open_scene(p).compute(scheduler="sync").values, a)
    s2 = (s + 7).astype(s.dtype)
    s2.attrs.update(s.attrs)
    to_geotiff(s2, p, overwrite=True)
    np.testing.assert_array_equal(open_scene(p).compute(scheduler="sync").values, a + 7)
