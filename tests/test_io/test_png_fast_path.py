"""Plain 8-bit PNGs are read and written by Pillow (iqx.io._png), everything else by GDAL.

The truth is GDAL itself: every case is read both ways (``_read_gdal`` is the path every
other file takes) and must give the same pixels and the same attrs; files the fast path
must not take (palette, 16-bit, transparency, text, georeferencing sidecars) must still be
read by GDAL with everything GDAL reports.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import rasterio
from PIL import Image, PngImagePlugin

import iqx
from iqx.errors import RasterReadError
from iqx.io import _png, images
from iqx.io.images import _read_gdal, read_image_scene, write_image

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")

RNG = np.random.default_rng(7)


def _pixels(shape):
    return RNG.integers(0, 256, shape, dtype=np.uint8)


PLAIN = {
    "grey": lambda: Image.fromarray(_pixels((28, 28))),
    "grey_alpha": lambda: Image.fromarray(_pixels((17, 23, 2))),
    "rgb": lambda: Image.fromarray(_pixels((31, 20, 3))),
    "rgba": lambda: Image.fromarray(_pixels((9, 40, 4))),
}


def _gdal_view(path, interleaved=False):
    arr, driver, options, attrs = _read_gdal(path, None, interleaved)
    return np.array(arr), driver, options, attrs


@pytest.mark.parametrize("kind", sorted(PLAIN))
@pytest.mark.parametrize("interleaved", [False, True])
def test_plain_png_reads_like_gdal(tmp_path, kind, interleaved):
    path = tmp_path / f"{kind}.png"
    PLAIN[kind]().save(path)
    assert _png.read_plain_png(path) is not None  # the fast path is taken
    scene, driver, options = read_image_scene(path, interleaved=interleaved)
    ref, ref_driver, ref_options, ref_attrs = _gdal_view(path)
    np.testing.assert_array_equal(scene.values, ref)
    assert scene.dtype == ref.dtype and scene.shape == ref.shape
    assert (driver, options) == (ref_driver, ref_options)
    assert scene.attrs == ref_attrs
    assert scene.values.flags.writeable
    # the same coords and name as the lazy reader
    lazy = iqx.open_scene(path)
    xr_equal = lazy.coords.to_dataset().identical(scene.coords.to_dataset())
    assert xr_equal and scene.name == lazy.name


def _palette(path):
    Image.fromarray(_pixels((12, 12)) % 4).convert("P").save(path)


def _sixteen(path):
    Image.fromarray(RNG.integers(0, 4096, (12, 12), dtype=np.uint16)).save(path)


def _one_bit(path):
    Image.fromarray(_pixels((16, 16)) > 127).save(path)


def _transparent(path):
    Image.fromarray(_pixels((12, 12))).save(path, transparency=0)


def _text(path):
    info = PngImagePlugin.PngInfo()
    info.add_text("IQX_HISTORY", '["jpeg(quality=70)"]')
    Image.fromarray(_pixels((12, 12))).save(path, pnginfo=info)


def _world_file(path):
    Image.fromarray(_pixels((12, 12))).save(path)
    path.with_suffix(".pgw").write_text("0.5\n0\n0\n-0.5\n1000.25\n2000.25\n")


def _aux_xml(path):
    Image.fromarray(_pixels((12, 12))).save(path)
    (path.parent / (path.name + ".aux.xml")).write_text(
        '<PAMDataset><PAMRasterBand band="1"><NoDataValue>3</NoDataValue>'
        "</PAMRasterBand></PAMDataset>"
    )


STEP_ASIDE = {
    "palette": _palette,
    "uint16": _sixteen,
    "one_bit": _one_bit,
    "transparency": _transparent,
    "text_chunk": _text,
    "world_file": _world_file,
    "aux_xml": _aux_xml,
}


@pytest.mark.parametrize("kind", sorted(STEP_ASIDE))
def test_other_pngs_are_left_to_gdal(tmp_path, kind):
    path = tmp_path / f"{kind}.png"
    STEP_ASIDE[kind](path)
    assert _png.read_plain_png(path) is None
    scene, _, _ = read_image_scene(path)
    ref, _, _, ref_attrs = _gdal_view(path)
    np.testing.assert_array_equal(scene.values, ref)
    assert scene.attrs == ref_attrs
    if kind == "world_file":
        assert scene.attrs["transform"] == (0.5, 0.0, 1000.0, 0.0, -0.5, 2000.5)
    if kind == "text_chunk":
        assert scene.attrs["iqx_history"] == ["jpeg(quality=70)"]
    if kind == "aux_xml":
        assert scene.attrs["nodata"] == 3


def test_a_sidecar_added_later_is_seen(tmp_path, monkeypatch):
    """The folder listing behind the sidecar check is reused only while the folder is
    unchanged: a world file written after a first read sends the next read to GDAL."""
    path = tmp_path / "late.png"
    PLAIN["grey"]().save(path)
    first, _, _ = read_image_scene(path)
    assert first.attrs["transform"] == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    monkeypatch.setattr(_png, "_SETTLED_NS", -(10**18))  # cache even a fresh listing
    read_image_scene(path)
    path.with_suffix(".pgw").write_text("2\n0\n0\n-2\n11\n21\n")
    os.utime(tmp_path, ns=(0, 10**9))  # whatever the clock's grain, the folder changed
    later, _, _ = read_image_scene(path)
    assert later.attrs["transform"] == (2.0, 0.0, 10.0, 0.0, -2.0, 22.0)


def test_truncated_png_names_the_file(tmp_path):
    path = tmp_path / "cut.png"
    Image.fromarray(_pixels((64, 64))).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RasterReadError, match=r"cut\.png.*truncated"):
        read_image_scene(path)
    # the chunks are intact but the pixels are not: the end is there, the middle is broken
    broken = bytearray(data)
    mid = len(broken) // 2
    broken[mid : mid + 16] = b"\0" * 16
    path.write_bytes(bytes(broken))
    with pytest.raises(RasterReadError, match=r"cut\.png"):
        read_image_scene(path)


@pytest.mark.parametrize("bands", [1, 2, 3, 4])
def test_png_written_on_the_fast_path_reads_back_in_gdal(tmp_path, bands):
    arr = _pixels((bands, 19, 26))
    path = tmp_path / "out.png"
    write_image(arr, path)
    with rasterio.open(path) as ds:
        assert ds.driver == "PNG" and ds.count == bands
        np.testing.assert_array_equal(ds.read(), arr)
        assert ds.nodata is None and not ds.tags()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]  # no sidecar, no temp


def test_uint16_png_still_written_by_gdal(tmp_path):
    arr = RNG.integers(0, 2048, (1, 10, 12), dtype=np.uint16)
    write_image(arr, tmp_path / "deep.png")
    with rasterio.open(tmp_path / "deep.png") as ds:
        np.testing.assert_array_equal(ds.read(), arr)


def test_modified_png_dataset_equals_the_gdal_path(tmp_path, monkeypatch):
    """End to end: a dataset of small PNGs modified through Pillow or through GDAL."""
    src = tmp_path / "mnist" / "images"
    src.mkdir(parents=True)
    for k in range(12):
        PLAIN["grey" if k % 3 else "rgb"]().save(src / f"{k:02d}.png")
    fast = iqx.modify(tmp_path / "mnist", "jpeg:quality=60")
    fast_copy = tmp_path / "fast"
    shutil.copytree(fast.data_path, fast_copy)
    monkeypatch.setattr(images, "plain_png_bytes", lambda path: None)
    monkeypatch.setattr(images, "plain_png_writable", lambda arr: False)
    slow = iqx.modify(tmp_path / "mnist", "jpeg:quality=60", overwrite=True)
    for k in range(12):
        with rasterio.open(fast_copy / "images" / f"{k:02d}.png") as a:
            with rasterio.open(slow.data_path / "images" / f"{k:02d}.png") as b:
                np.testing.assert_array_equal(a.read(), b.read())


def test_png_with_trailing_bytes_or_a_cut_chunk_is_refused(tmp_path):
    path = tmp_path / "tail.png"
    PLAIN["grey"]().save(path)
    data = path.read_bytes()
    path.write_bytes(data + b"junk")
    with pytest.raises(RasterReadError, match=r"tail\.png.*truncated or corrupt"):
        _png.read_plain_png(path)
    path.write_bytes(data[:-6])  # IEND's own bytes cut
    with pytest.raises(RasterReadError, match=r"tail\.png"):
        read_image_scene(path)


def test_cube_of_plain_pngs_equals_the_gdal_path(tmp_path, monkeypatch):
    """open_cube reads plain PNG headers and pixels without GDAL: same cube either way."""
    from iqx.datasets import open_cube

    src = tmp_path / "mnist" / "images"
    src.mkdir(parents=True)
    for k in range(9):
        PLAIN["grey"]().save(src / f"{k}.png")
    fast = open_cube(tmp_path / "mnist", images_per_chunk=4)
    fast_values = fast.values
    monkeypatch.setattr(_png, "plain_png_bytes", lambda path: None)
    slow = open_cube(tmp_path / "mnist", images_per_chunk=4)
    np.testing.assert_array_equal(fast_values, slow.values)
    assert fast.attrs == slow.attrs
    for name in ("image", "transform", "crs"):
        assert list(fast[name].values) == list(slow[name].values), name
    np.testing.assert_array_equal(fast["nodata"].values, slow["nodata"].values)  # NaN: unset


def _with_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """``png`` with extra chunks inserted after IHDR (CRCs computed as the PNG spec says)."""
    import struct
    import zlib

    ihdr_end = 8 + 12 + 13
    extra = b"".join(
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        for kind, body in chunks
    )
    return png[:ihdr_end] + extra + png[ihdr_end:]


def test_display_chunks_do_not_change_pixels(tmp_path):
    # gAMA 1/2.2 and 0.5, sRGB, pHYs: display hints only; libpng must not gamma-correct
    import io
    import struct

    buf = io.BytesIO()
    Image.fromarray(_pixels((21, 13, 3))).save(buf, format="PNG")
    for gamma in (45455, 50000):
        path = tmp_path / f"g{gamma}.png"
        path.write_bytes(
            _with_chunks(
                buf.getvalue(),
                [
                    (b"gAMA", struct.pack(">I", gamma)),
                    (b"sRGB", b"\x00"),
                    (b"pHYs", struct.pack(">IIB", 2835, 2835, 1)),
                ],
            )
        )
        assert _png.read_plain_png(path) is not None  # still the fast path
        scene, _, _ = read_image_scene(path)
        ref, _, _, ref_attrs = _gdal_view(path)
        np.testing.assert_array_equal(scene.values, ref)
        assert scene.attrs == ref_attrs
