"""JPEG and JPEG 2000 modifiers against Pillow / imagecodecs whole-image encodes."""

from __future__ import annotations

import io

import dask.array as da
import numpy as np
import pytest
from PIL import Image

import iqx.modifiers as M
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.testing.laziness import raise_if_dask_computes

ic = pytest.importorskip("imagecodecs")


def _texture(shape, seed=0, top=255, dtype=np.uint8):
    rng = np.random.default_rng(seed)
    *_, ny, nx = shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    base = 0.5 + 0.3 * np.sin(yy / 7.0) * np.cos(xx / 5.0)
    img = base * top + rng.normal(0, 0.05 * top, size=shape)
    return np.clip(np.rint(img), 0, top).astype(dtype)


def _pillow_roundtrip(img: np.ndarray, quality: int, subsampling: int) -> tuple[np.ndarray, bytes]:
    arr = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    buf = io.BytesIO()
    # grayscale: Pillow's default (libjpeg's 1x1 sampling); colour: the given subsampling
    kw = {} if arr.ndim == 2 else {"subsampling": subsampling}
    Image.fromarray(arr).save(buf, "JPEG", quality=quality, **kw)
    dec = np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    dec = dec[None] if dec.ndim == 2 else np.moveaxis(dec, -1, 0)
    return dec, buf.getvalue()


@pytest.mark.parametrize(
    ("bands", "ss", "pil_ss"), [(1, "4:2:0", 2), (3, "4:4:4", 0), (3, "4:2:0", 2)]
)
def test_jpeg_numpy_equals_pillow(bands, ss, pil_ss):
    """Whole-image JPEG: pixels and bytes equal Pillow's encoder (libjpeg-turbo) at q70."""
    img = _texture((bands, 61, 83))
    ref, ref_bytes = _pillow_roundtrip(img, 70, pil_ss)
    out = M.jpeg(img, quality=70, subsampling=ss)
    np.testing.assert_array_equal(out.values, ref)
    streams = M.jpeg(quality=70, subsampling=ss).encode(img)
    assert len(streams) == 1 and streams[0] == ref_bytes


@pytest.mark.parametrize(
    ("bands", "ss", "chunks"),
    [(1, "4:2:0", (1, 24, 40)), (3, "4:4:4", (1, 16, 32)), (3, "4:4:4", (3, 21, 37))],
)
def test_jpeg_chunked_equals_whole_image(bands, ss, chunks):
    """Grayscale / 4:4:4: chunked (8-px aligned, rechunked if needed) == Pillow whole image."""
    img = _texture((bands, 70, 99), seed=1)
    ref, _ = _pillow_roundtrip(img, 70, 0)
    x = da.from_array(img, chunks=chunks)
    with raise_if_dask_computes():
        out = M.jpeg(quality=70, subsampling=ss)(x)
    for c in out.data.chunks[1][:-1] + out.data.chunks[2][:-1]:
        assert c % 8 == 0
    np.testing.assert_array_equal(out.values, ref)


def test_jpeg_420_chunks_aligned_to_16():
    """4:2:0: chunks aligned to the 16-px MCU; each chunk equals Pillow's encode of that tile."""
    img = _texture((3, 64, 80))
    out = M.jpeg(da.from_array(img, chunks=(1, 24, 40)), quality=50)
    assert out.data.chunks[0] == (3,)
    ys, xs = out.data.chunks[1], out.data.chunks[2]
    assert all(c % 16 == 0 for c in ys[:-1] + xs[:-1])
    res = out.values
    y0 = 0
    for cy in ys:
        x0 = 0
        for cx in xs:
            tile = np.ascontiguousarray(img[:, y0 : y0 + cy, x0 : x0 + cx])
            ref, _ = _pillow_roundtrip(tile, 50, 2)
            np.testing.assert_array_equal(res[:, y0 : y0 + cy, x0 : x0 + cx], ref)
            x0 += cx
        y0 += cy


def test_jpeg_12bit_matches_imagecodecs_and_keeps_attrs():
    """11-bit data in uint16 -> 12-bit JPEG; reference: imagecodecs.jpeg8_encode(bitspersample=12)."""
    img = _texture((1, 48, 64), top=2047, dtype=np.uint16)
    ref = ic.jpeg8_decode(ic.jpeg8_encode(img[0], level=80, bitspersample=12))
    import xarray as xr

    scene = M.jpeg(quality=80)(xr.DataArray(img, dims=("band", "y", "x"), attrs={"bit_depth": 11}))
    np.testing.assert_array_equal(scene.values[0], ref)
    assert scene.attrs["bit_depth"] == 11 and len(scene.attrs["iqx_history"]) == 1


def test_jpeg_rescale_16bit_to_8bit():
    img = _texture((1, 32, 32), top=65535, dtype=np.uint16)
    with pytest.raises(UnsupportedDtypeError, match="rescale=True"):
        M.jpeg(img, quality=90, bits=8)
    out = M.jpeg(img, quality=95, bits=8, rescale=True)
    assert out.dtype == np.uint16
    assert np.abs(out.values.astype(float) - img).mean() < 0.02 * 65535


@pytest.mark.parametrize("bad", [0, 101, 70.5, "70", True])
def test_jpeg_bad_quality(bad):
    with pytest.raises(InvalidParameterError, match="quality"):
        M.jpeg(quality=bad)


def test_jpeg_rejects_float_and_16bit():
    with pytest.raises(UnsupportedDtypeError, match="float"):
        M.jpeg(np.zeros((1, 8, 8), np.float32), quality=70)
    import xarray as xr

    deep = xr.DataArray(np.zeros((1, 8, 8), np.uint16), dims=("band", "y", "x"))
    with pytest.raises(UnsupportedDtypeError, match="16-bit"):  # declared 16-bit: at once
        M.jpeg(deep.assign_attrs(bit_depth=16, bit_depth_source="user"), quality=70)
    # undeclared uint16 gets a 12-bit JPEG (values checked per chunk, tests/test_modifiers/
    # test_jpeg_uint16.py)
    assert M.jpeg(deep, quality=70).dtype == np.uint16


def test_jpeg2000_reversible_and_psnr():
    """Reversible J2K is lossless (ground truth); PSNR target is met within 1.5 dB."""
    img = _texture((1, 64, 64), top=4095, dtype=np.uint16)
    import xarray as xr

    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"bit_depth": 12})
    np.testing.assert_array_equal(M.jpeg2000(scene, reversible=True).values, img)
    out = M.jpeg2000(scene, psnr=45).values.astype(float)
    psnr = 10 * np.log10(4095.0**2 / np.mean((out - img) ** 2))
    assert abs(psnr - 45) < 1.5
    with pytest.raises(InvalidParameterError):
        M.jpeg2000(psnr=40, ratio=10)
    with pytest.raises(InvalidParameterError):
        M.jpeg2000()


def test_data_volume_jpeg_equals_stream_sizes():
    """Per-chunk stream sizes summed == sizes of imagecodecs encodes of the aligned tiles."""
    img = _texture((1, 64, 96))
    x = da.from_array(img, chunks=(1, 32, 48))
    with raise_if_dask_computes():
        lazy = M.data_volume(x, M.jpeg(quality=70), compute=False)
    vol = lazy.compute()
    expect = sum(
        len(ic.jpeg8_encode(np.ascontiguousarray(img[0, i : i + 32, j : j + 48]), level=70))
        for i in (0, 32)
        for j in (0, 48)
    )
    assert vol["compressed_bytes"] == expect and vol["streams"] == 4
    assert vol["raw_bits"] == 64 * 96 * 8
    assert vol["compression_ratio"] == pytest.approx(64 * 96 / expect)
    assert vol["bits_per_pixel"] == pytest.approx(8 * expect / (64 * 96))


def test_data_volume_chain_counts_quantize_before_codec():
    import xarray as xr

    img = _texture((1, 64, 64), top=4095, dtype=np.uint16)
    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"bit_depth": 12})
    vol = M.data_volume(scene, [M.quantize(bits=8, mode="shift"), M.jpeg(quality=90)])
    assert vol["bit_depth"] == 12 and vol["raw_bits"] == 64 * 64 * 12
    with pytest.raises(InvalidParameterError, match="codec"):
        M.data_volume(scene, M.quantize(bits=8))


def test_jpeg2000_volume_of_split_band_chunks_counts_one_colour_stream():
    """A 3-band scene is one 3-component codestream per chunk, however its bands are chunked:
    the data volume must count the same streams the modifier encodes."""
    import dask.array as da

    from iqx.modifiers import data_volume, jpeg2000
    from iqx.parallel import as_scene

    rng = np.random.default_rng(3)
    img = rng.integers(0, 255, (3, 64, 64), dtype=np.uint8)
    whole = data_volume(as_scene(da.from_array(img, chunks=(3, 64, 64))), jpeg2000(psnr=35))
    split = data_volume(as_scene(da.from_array(img, chunks=(1, 64, 64))), jpeg2000(psnr=35))
    assert split["streams"] == whole["streams"] == 1
    assert split["compressed_bytes"] == whole["compressed_bytes"]
