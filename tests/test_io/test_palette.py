"""Palette (colour-mapped) rasters read as the colours they show, not as table indices.

Codecs, blur and metrics on palette indices would be meaningless, and a written result would
lose the table: iqx looks the colours up on read, as OpenCV's ``imread`` (IQUAFLOW's reader)
and Pillow's ``convert`` do. References here come from Pillow or from the table itself.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.transform import from_origin

import iqx
from iqx.io.images import read_image, read_image_scene

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture
def terrain2(shared_data):
    """The real palette PNG of sahi's COCO fixtures (241 colours, opaque)."""
    return shared_data / "sahi_aerial_coco" / "terrain2.png"


def _pillow_rgb(path):
    with Image.open(path) as img:
        assert img.mode == "P"
        return np.asarray(img.convert("RGB")).transpose(2, 0, 1)


def test_real_palette_png_reads_as_its_colours(terrain2):
    ref = _pillow_rgb(terrain2)
    scene = iqx.open_scene(terrain2)
    assert scene.shape == ref.shape == (3, 682, 1024) and scene.dtype == np.uint8
    np.testing.assert_array_equal(scene.values, ref)
    chunked = iqx.open_scene(terrain2, chunks=(1, 100, 300))
    np.testing.assert_array_equal(chunked.values, ref)  # any chunking, band by band
    np.testing.assert_array_equal(scene[1:3, 10:50:3, 5:99].values, ref[1:3, 10:50:3, 5:99])
    np.testing.assert_array_equal(read_image(terrain2), ref)
    for interleaved in (False, True):
        eager, driver, options = read_image_scene(terrain2, interleaved=interleaved)
        np.testing.assert_array_equal(eager.values, ref)
        assert (driver, options) == ("PNG", {})
    assert scene.attrs["nodata"] is None and scene.attrs["bit_depth"] is None


def _palette_tif(path, table, nbits=None, **options):
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(table), (1, 40, 50), dtype=np.uint8)
    profile = dict(driver="GTiff", width=50, height=40, count=1, dtype="uint8",
                   crs="EPSG:32630", transform=from_origin(4e5, 4.5e6, 10, 10),
                   photometric="palette")  # fmt: skip
    if nbits:
        profile["nbits"] = nbits
    with rasterio.open(path, "w", **profile, **options) as ds:
        ds.write(idx)
        ds.write_colormap(1, table)
    return idx[0]


def test_palette_geotiff_reads_as_rgb_and_keeps_its_georeferencing(tmp_path):
    table = {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (10, 200, 30, 255), 3: (1, 2, 3, 255)}
    idx = _palette_tif(tmp_path / "p.tif", table, nbits=2)
    scene = iqx.open_scene(tmp_path / "p.tif")
    expected = np.array([table[int(v)][:3] for v in idx.ravel()], np.uint8).reshape(40, 50, 3)
    np.testing.assert_array_equal(scene.values, expected.transpose(2, 0, 1))
    assert scene.attrs["crs"] and scene.attrs["transform"][0] == 10
    assert scene.attrs["bit_depth"] is None  # an index depth is not a colour depth


def test_palette_png_with_transparent_entries_reads_as_rgba(tmp_path):
    rng = np.random.default_rng(5)
    img = Image.fromarray(rng.integers(0, 6, (30, 20), dtype=np.uint8), mode="P")
    img.putpalette([0, 0, 0, 250, 10, 10, 20, 240, 20, 30, 30, 230, 40, 40, 40, 50, 50, 50])
    img.info["transparency"] = bytes([0, 128, 255, 255, 255, 255])
    path = tmp_path / "t.png"
    img.save(path, transparency=bytes([0, 128, 255, 255, 255, 255]))
    with Image.open(path) as back:
        ref = np.asarray(back.convert("RGBA")).transpose(2, 0, 1)
    scene = iqx.open_scene(path)
    assert scene.shape == (4, 30, 20)
    np.testing.assert_array_equal(scene.values, ref)
    np.testing.assert_array_equal(read_image_scene(path)[0].values, ref)


def test_a_dataset_with_a_palette_png_is_modified_in_colour(terrain2, tmp_path):
    (tmp_path / "ds" / "images").mkdir(parents=True)
    shutil.copy(terrain2, tmp_path / "ds" / "images" / terrain2.name)
    out = iqx.modify(tmp_path / "ds", iqx.modifiers.gaussian_blur(sigma=1.5))
    written = out.data_path / "images" / terrain2.name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(written) as ds:
            assert ds.count == 3 and ds.colorinterp[0] != rasterio.enums.ColorInterp.palette
            got = ds.read()
    expected = iqx.modifiers.gaussian_blur(sigma=1.5)(_pillow_rgb(terrain2)).values
    np.testing.assert_array_equal(got, expected)


def test_a_palette_geotiff_copy_keeps_its_lossless_compression_and_tiling(tmp_path):
    table = {0: (0, 0, 0, 255), 1: (255, 0, 0, 255), 2: (10, 200, 30, 255)}
    (tmp_path / "ds" / "images").mkdir(parents=True)
    src = tmp_path / "ds" / "images" / "p.tif"
    _palette_tif(src, table, compress="deflate", tiled=True, blockxsize=16, blockysize=16)
    out = iqx.modify(tmp_path / "ds", iqx.modifiers.gaussian_blur(sigma=1.0))
    with rasterio.open(out.data_path / "images" / "p.tif") as ds:
        assert ds.count == 3 and ds.crs == "EPSG:32630"
        assert ds.compression == rasterio.enums.Compression.deflate
        assert ds.profile["tiled"] and ds.block_shapes[0] == (16, 16)
        got = ds.read()
    expected = iqx.modifiers.gaussian_blur(sigma=1.0)(iqx.open_scene(src)).values
    np.testing.assert_array_equal(got, expected)
