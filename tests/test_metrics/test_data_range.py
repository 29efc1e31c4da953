"""PSNR/SSIM ``data_range`` from the bit-depth rule, on a real 11-bit WorldView-2 chip.

Ground truth: :func:`skimage.metrics.peak_signal_noise_ratio` and
:func:`skimage.metrics.structural_similarity` (scikit-image, Gaussian window sigma 1.5 with
``use_sample_covariance=False``, Wang 2004) with ``data_range=2047``, the 11-bit range of
``solaris_spacenet/pan1.tif`` (values 1..1848, uint16, no NBITS; PROVENANCE.md).
"""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pytest
import rasterio
import xarray as xr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

import iqx
from iqx.bitdepth import DataRangeWarning
from iqx.metrics import psnr, ssim
from iqx.modifiers import gaussian_noise, jpeg

GAUSS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


@pytest.fixture
def pair(pan):
    """The chip and its 12-bit JPEG at quality 70 (both NumPy, from rasterio/imagecodecs)."""
    ic = pytest.importorskip("imagecodecs")
    with rasterio.open(pan) as src:
        ref = src.read()
    test = ic.jpeg8_decode(ic.jpeg8_encode(ref[0], level=70, bitspersample=12))[None]
    return ref, test


def _da(a):
    return xr.DataArray(a, dims=("band", "y", "x"))


def test_psnr_ssim_use_the_measured_11_bit_range(pair):
    ref, test = pair
    expected_psnr = peak_signal_noise_ratio(ref, test, data_range=2047)
    expected_ssim = structural_similarity(
        ref[0].astype(float), test[0].astype(float), data_range=2047, **GAUSS
    )
    for r, t in ((ref, test), (da.from_array(ref, chunks=128), da.from_array(test, chunks=200))):
        p = psnr(r, t).compute()
        s = ssim(r, t).compute()
        assert p.attrs["data_range"] == 2047.0 and p.attrs["data_range_source"] == "measured"
        assert s.attrs["data_range"] == 2047.0 and s.attrs["data_range_source"] == "measured"
        assert float(p["psnr"]) == pytest.approx(expected_psnr, abs=1e-9)
        assert float(s["ssim"]) == pytest.approx(expected_ssim, abs=1e-6)
    # the old dtype rule (65535) overstated PSNR by 20*log10(65535/2047) = 30.1 dB
    old = peak_signal_noise_ratio(ref, test, data_range=65535)
    assert old - expected_psnr == pytest.approx(20 * np.log10(65535 / 2047), abs=1e-9)


def test_iqx_jpeg_pipeline_on_the_file(pan):
    """open_scene -> jpeg(quality=70) -> psnr: the 11-bit answer, lazily and from the file."""
    scene = iqx.open_scene(pan, chunks=256)
    degraded = jpeg(scene, quality=70)
    res = psnr(scene, degraded).compute()
    ref = scene.values
    expected = peak_signal_noise_ratio(ref, degraded.values, data_range=2047)
    assert float(res["psnr"]) == pytest.approx(expected, abs=1e-9)
    assert 35 < expected < 60  # 12-bit JPEG q70 of 11-bit data: ~47 dB


def test_explicit_bit_depth_and_metadata_win(pan):
    scene = iqx.open_scene(pan, bit_depth=12)
    noisy = gaussian_noise(scene, sigma=20, seed=1)
    res = psnr(scene, noisy)
    assert res.attrs["data_range"] == 4095.0 and res.attrs["data_range_source"] == "user"
    res = psnr(scene, noisy, data_range=3000.0)
    assert res.attrs["data_range_source"] == "user"


def test_mixed_dtypes_are_symmetric(pair):
    ref, _ = pair
    a_u8 = (ref // 8).astype(np.uint8)
    b_u16 = ref
    ab = psnr(_da(a_u8), _da(b_u16))
    ba = psnr(_da(b_u16), _da(a_u8))
    assert float(ab["psnr"]) == float(ba["psnr"])
    assert ab.attrs["data_range"] == ba.attrs["data_range"] == 2047.0
    s_ab, s_ba = ssim(_da(a_u8), _da(b_u16)), ssim(_da(b_u16), _da(a_u8))
    assert float(s_ab["ssim"]) == pytest.approx(float(s_ba["ssim"]), abs=1e-12)


def test_too_small_data_range_warns(pair):
    ref, test = pair
    with pytest.warns(DataRangeWarning, match="largest value 18"):
        psnr(ref, test, data_range=255)
    with pytest.warns(DataRangeWarning):
        ssim(ref, test, data_range=255)
    # measured on dask input first (as iqx compare does), then it is known
    r = da.from_array(ref, chunks=128)
    t = da.from_array(test, chunks=128)
    psnr(r, t)  # measures both maxima (cached)
    with pytest.warns(DataRangeWarning):
        psnr(r, t, data_range=255)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataRangeWarning)
        psnr(ref, test)  # the rule's own range never warns
        psnr(ref, test, data_range=2047)


def test_float_images_still_need_a_range():
    from iqx.errors import InvalidParameterError

    a = np.zeros((1, 16, 16), np.float32)
    with pytest.raises(InvalidParameterError, match="data_range"):
        psnr(a, a + 1)
