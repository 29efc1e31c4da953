"""JPEG, quantize and noise on uint16 satellite data without an NBITS tag.

Ground truth: imagecodecs' ``jpeg8_encode(..., bitspersample=12)`` / ``jpeg8_decode`` on the
whole chip (libjpeg-turbo; grayscale JPEG codes 8x8 blocks independently, so MCU-aligned
chunks give the whole-image result), and the integer rescale formulas of docs/modifiers.md.
Data: ``solaris_spacenet/pan1.tif`` (11-bit values, max 1848) and
``solaris_spacenet/sample_geotiff.tif`` (max 6615: 13 bits), both uint16 (PROVENANCE.md).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr

import iqx
from iqx.errors import UnsupportedDtypeError
from iqx.modifiers import data_volume, jpeg, jpeg2000, quantize, snr_noise
from iqx.testing import raise_if_dask_computes

ic = pytest.importorskip("imagecodecs")


def _read(path):
    with rasterio.open(path) as src:
        return src.read()


def _rt12(plane, q):
    return ic.jpeg8_decode(ic.jpeg8_encode(np.ascontiguousarray(plane), level=q, bitspersample=12))


@pytest.mark.parametrize("chunks", [None, 128, 200])
def test_jpeg_on_uint16_makes_a_12_bit_jpeg(pan, chunks):
    arr = _read(pan)
    expected = _rt12(arr[0], 70)
    with raise_if_dask_computes():
        scene = iqx.open_scene(pan, chunks=chunks)
        out = jpeg(scene, quality=70)  # the README's headline call
    np.testing.assert_array_equal(out.values[0], expected)
    np.testing.assert_array_equal(jpeg(arr, quality=70).values[0], expected)  # NumPy too
    assert out.dtype == np.uint16


def test_jpeg_stream_sizes_are_12_bit_streams(pan):
    arr = _read(pan)
    vol = data_volume(arr, jpeg(quality=70))
    assert vol["compressed_bytes"] == len(ic.jpeg8_encode(arr[0], level=70, bitspersample=12))
    assert vol["bit_depth"] == 11  # raw size at the measured depth, not 16
    assert vol["raw_bits"] == 600 * 600 * 11


def test_too_deep_data_fails_when_computed_naming_file_and_max(atlanta):
    scene = iqx.open_scene(atlanta, chunks=300)
    with raise_if_dask_computes():
        out = jpeg(scene, quality=70)  # building the graph reads nothing
    with pytest.raises(UnsupportedDtypeError) as err:
        out.compute()
    msg = str(err.value)
    assert "sample_geotiff.tif" in msg and "rescale=True" in msg and "jpeg2000" in msg
    import re

    top = int(re.search(r"values up to (\d+)", msg).group(1))
    assert 4095 < top <= 6615  # the largest value of the failing chunk


def test_declared_depth_above_12_is_refused_at_once(pan):
    with pytest.raises(UnsupportedDtypeError, match="14-bit data"):
        jpeg(iqx.open_scene(pan, bit_depth=14), quality=70)


def test_rescale_uses_the_real_depth(atlanta):
    """13-bit data -> 12-bit JPEG and back: scaled by 4095/8191, not by 4095/65535."""
    arr = _read(atlanta)
    src_max, dst_max = 8191, 4095
    coded = ((arr.astype(np.int64) * dst_max + src_max // 2) // src_max).astype(np.uint16)
    back = _rt12(coded[0], 80).astype(np.int64)
    expected = ((back * src_max + dst_max // 2) // dst_max).astype(np.uint16)
    for scene in (arr, iqx.open_scene(atlanta, chunks=(304, 304))):
        out = jpeg(scene, quality=80, rescale=True)
        np.testing.assert_array_equal(np.asarray(out.values)[0], expected)
    err = np.abs(expected.astype(float) - arr[0]).mean()
    assert err < 10  # a fixed 16-bit scaling would lose 4 bits: mean error ~ 30 DN


def test_rescale_does_not_scale_data_that_fits(pan):
    arr = _read(pan)
    np.testing.assert_array_equal(jpeg(arr, quality=70, rescale=True).values[0], _rt12(arr[0], 70))


def test_quantize_uses_the_measured_depth(pan):
    arr = _read(pan)
    M, m = 2047, 255
    q = (arr.astype(np.int64) * m + M // 2) // M
    expected = ((q * M + m // 2) // m).astype(np.uint16)
    with raise_if_dask_computes():
        lazy = quantize(iqx.open_scene(pan, chunks=128), bits=8)
    np.testing.assert_array_equal(lazy.values, expected)
    np.testing.assert_array_equal(quantize(arr, bits=8).values, expected)


def test_snr_noise_clips_at_the_measured_depth(pan):
    with raise_if_dask_computes():
        out = snr_noise(iqx.open_scene(pan, chunks=200), snr=2.0, seed=3)
    values = out.values
    assert values.max() == 2047  # saturates like the 11-bit sensor, not at 65535
    arr = xr.DataArray(_read(pan), dims=("band", "y", "x"))
    assert snr_noise(arr, snr=2.0, seed=3).values.max() == 2047


def test_jpeg2000_codes_at_the_measured_depth(pan):
    """bitspersample = 11: the psnr target means the same as with an NBITS=11 tag."""
    arr = _read(pan)
    plain = jpeg2000(da.from_array(arr, chunks=-1), psnr=40).values
    declared = jpeg2000(iqx.open_scene(pan, chunks=-1, bit_depth=11), psnr=40).values
    np.testing.assert_array_equal(plain, declared)
    psnr = 10 * np.log10(2047.0**2 / np.mean((plain.astype(float) - arr) ** 2))
    assert abs(psnr - 40) < 2


def test_folder_names_start_with_the_op_id():
    from iqx.modifiers import gaussian_blur, gaussian_noise

    assert jpeg2000(ratio=20).folder_name == "jpeg2000_r20"
    assert gaussian_noise(sigma=5).folder_name == "gaussian_noise_s5_seed0"
    assert snr_noise(snr=20).folder_name == "snr_noise_20_seed0"
    assert gaussian_blur(sigma=1.5).folder_name == "gaussian_blur_s1.5"
