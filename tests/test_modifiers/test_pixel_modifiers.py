"""Blur, noise, quantize and resample against independent references, for several chunkings."""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi
import xarray as xr
from PIL import Image

import iqx.modifiers as M
from iqx.errors import HaloTooLargeError, InvalidParameterError, UnsupportedDtypeError
from iqx.testing.laziness import raise_if_dask_computes

CHUNKINGS = [(1, 17, 23), (2, 40, 64), (1, 64, 9)]


def _img(dtype=np.float32, shape=(2, 64, 77), seed=0, top=1000.0):
    rng = np.random.default_rng(seed)
    a = rng.random(shape) * top
    return a.astype(dtype) if np.dtype(dtype).kind == "f" else np.rint(a).astype(dtype)


# -- blur ------------------------------------------------------------------------------
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("sigma", [0.7, 2.5])
def test_blur_float_equals_scipy(chunks, sigma):
    """Reference: scipy.ndimage.gaussian_filter(mode="reflect", truncate=4.0) on the whole image."""
    img = _img()
    ref = ndi.gaussian_filter(img, (0, sigma, sigma), mode="reflect", truncate=4.0)
    with raise_if_dask_computes():
        lazy = M.gaussian_blur(da.from_array(img, chunks=chunks), sigma=sigma)
    np.testing.assert_array_equal(lazy.values, ref)
    np.testing.assert_array_equal(M.gaussian_blur(img, sigma=sigma).values, ref)


def test_blur_integer_rounding_rule():
    """uint16 (11-bit): float64 scipy result rounded half-even and clipped to the bit depth."""
    img = _img(np.uint16, top=2047)
    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"bit_depth": 11})
    ref = ndi.gaussian_filter(img.astype(np.float64), (0, 1.3, 1.3), mode="reflect")
    ref = np.clip(np.rint(ref), 0, 2047).astype(np.uint16)
    out = M.gaussian_blur(scene.chunk({"y": 20, "x": 30}), sigma=1.3)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out.values, ref)


def test_rer_blur_sigma_relation():
    """RER(σ)=erf(1/(2√2σ)) and σ_k=√(σt²−σi²) (IQUAFLOW §2.3 maths)."""
    from iqx.modifiers.blur import rer_from_sigma, sigma_from_rer

    for s in (0.3, 0.8, 2.0):
        assert math.erf(1 / (2 * math.sqrt(2) * s)) == pytest.approx(rer_from_sigma(s))
        assert sigma_from_rer(rer_from_sigma(s)) == pytest.approx(s, rel=1e-9)
    m = M.rer_blur(rer=0.3, initial_rer=0.56)
    expect = math.sqrt(sigma_from_rer(0.3) ** 2 - sigma_from_rer(0.56) ** 2)
    assert m.sigma == pytest.approx(expect)
    img = _img()
    ref = ndi.gaussian_filter(img, (0, expect, expect), mode="reflect", truncate=4.0)
    np.testing.assert_array_equal(m(img).values, ref)
    assert M.rer_blur(rer=0.7, initial_rer=0.56).sigma == 0.0


def test_blur_bad_params():
    with pytest.raises(InvalidParameterError, match="sigma"):
        M.gaussian_blur(sigma=-1)
    with pytest.raises(InvalidParameterError, match="rer"):
        M.rer_blur(rer=1.5)
    with pytest.raises(UnsupportedDtypeError):
        M.gaussian_blur(np.zeros((1, 4, 4), bool), sigma=1)


def test_blur_large_halo_rechunks_explicitly():
    img = _img(shape=(1, 64, 64))
    out = M.gaussian_blur(da.from_array(img, chunks=(1, 8, 8)), sigma=3.0)
    ref = ndi.gaussian_filter(img, (0, 3.0, 3.0), mode="reflect")
    np.testing.assert_array_equal(out.values, ref)
    assert HaloTooLargeError  # documented: explicit rechunk instead of this error


# -- noise -----------------------------------------------------------------------------
def test_noise_reproducible_and_statistics_across_chunkings():
    """Same (seed, chunks) -> identical; any chunking -> mean 0, std sigma (float data)."""
    img = np.zeros((1, 200, 300), np.float32)
    for chunks in [(1, 200, 300), (1, 50, 70), (1, 33, 300)]:
        x = da.from_array(img, chunks=chunks)
        with raise_if_dask_computes():
            a = M.gaussian_noise(x, sigma=5.0, seed=3)
        a = a.values
        np.testing.assert_array_equal(a, M.gaussian_noise(x, sigma=5.0, seed=3).values)
        assert abs(a.mean()) < 0.1 and a.std() == pytest.approx(5.0, rel=0.02)
    b = M.gaussian_noise(da.from_array(img, chunks=(1, 50, 70)), sigma=5.0, seed=4).values
    assert not np.array_equal(a, b)


def test_noise_numpy_equals_single_chunk_and_clips():
    img = np.full((1, 64, 64), 2, np.uint8)
    a = M.gaussian_noise(img, sigma=20, seed=1).values
    b = M.gaussian_noise(da.from_array(img, chunks=-1), sigma=20, seed=1).values
    np.testing.assert_array_equal(a, b)
    assert a.min() == 0 and a.max() <= 255
    scene = xr.DataArray(np.full((1, 64, 64), 2000, np.uint16), dims=("band", "y", "x"))
    out = M.gaussian_noise(scene.assign_attrs(bit_depth=11), sigma=200, seed=0)
    assert out.values.max() == 2047


def test_snr_noise_reaches_target():
    """Measured SNR = mean/std of the added noise equals the target (IQUAFLOW's definition)."""
    img = np.full((1, 300, 300), 1000.0)
    out = M.snr_noise(da.from_array(img, chunks=(1, 100, 150)), snr=20, seed=0).values
    assert 1000.0 / (out - img).std() == pytest.approx(20, rel=0.03)
    out2 = M.snr_noise(img, snr=20, initial_snr=40, seed=0).values
    expect = math.sqrt((1000 / 20) ** 2 - (1000 / 40) ** 2)
    assert (out2 - img).std() == pytest.approx(expect, rel=0.03)
    with pytest.raises(InvalidParameterError, match="snr"):
        M.snr_noise(snr=0)


# -- quantize --------------------------------------------------------------------------
def test_quantize_mask_equals_iquaflow():
    """mode='mask' on uint8 == IQUAFLOW's img & (0xFF << (8 - bits))."""
    img = _img(np.uint8, top=255)
    for bits in (1, 4, 7):
        out = M.quantize(img, bits=bits, mode="mask").values
        np.testing.assert_array_equal(out, img & ((0xFF << (8 - bits)) & 0xFF))


def test_quantize_round_and_shift_rules():
    """round: nearest of 2**b levels rescaled to the source range; shift: v >> (B-b)."""
    img = _img(np.uint16, top=4095)
    scene = xr.DataArray(img, dims=("band", "y", "x"), attrs={"bit_depth": 12})
    out = M.quantize(scene.chunk({"y": 13}), bits=4).values
    q = np.floor(img.astype(np.float64) * 15 / 4095 + 0.5)
    ref = np.floor(q * 4095 / 15 + 0.5).astype(np.uint16)
    np.testing.assert_array_equal(out, ref)
    assert len(np.unique(out)) <= 16
    sh = M.quantize(scene, bits=8, mode="shift")
    assert sh.dtype == np.uint8 and sh.attrs["bit_depth"] == 8
    np.testing.assert_array_equal(sh.values, img >> 4)


def test_quantize_bad_bits():
    img = np.zeros((1, 4, 4), np.uint8)
    with pytest.raises(InvalidParameterError, match="bits"):
        M.quantize(img, bits=9)
    scene = xr.DataArray(np.zeros((1, 4, 4), np.uint16), dims=("band", "y", "x"))
    with pytest.raises(InvalidParameterError, match=r"1\.\.11"):
        M.quantize(scene.assign_attrs(bit_depth=11), bits=12)
    with pytest.raises(InvalidParameterError):
        M.quantize(bits=0)
    with pytest.raises(UnsupportedDtypeError):
        M.quantize(np.zeros((1, 4, 4), np.float32), bits=4)


# -- resample --------------------------------------------------------------------------
_PIL = {
    "nearest": Image.NEAREST,
    "area": Image.BOX,
    "bilinear": Image.BILINEAR,
    "cubic": Image.BICUBIC,
    "lanczos": Image.LANCZOS,
}


@pytest.mark.parametrize("method", list(_PIL))
@pytest.mark.parametrize("factor", [0.5, 1.7])
def test_resample_equals_pillow_any_chunking(method, factor):
    """Reference: PIL.Image.resize on mode 'F' (float32), band by band."""
    img = _img(shape=(2, 40, 57))
    ny, nx = round(40 * factor), round(57 * factor)
    ref = np.stack(
        [np.asarray(Image.fromarray(b, "F").resize((nx, ny), _PIL[method])) for b in img]
    )
    out_np = M.resample(img, factor=factor, method=method)
    np.testing.assert_array_equal(out_np.values, ref)
    with raise_if_dask_computes():
        out_da = M.resample(da.from_array(img, chunks=(1, 13, 20)), factor=factor, method=method)
    np.testing.assert_array_equal(out_da.values, ref)


def test_resample_updates_georeferencing_and_integers():
    img = _img(np.uint16, shape=(1, 40, 60), top=2047)
    x = 500000.0 + 0.5 * (np.arange(60) + 0.5)
    y = 4000000.0 - 0.5 * (np.arange(40) + 0.5)
    scene = xr.DataArray(
        da.from_array(img, chunks=(1, 16, 16)),
        dims=("band", "y", "x"),
        coords={"band": [1], "y": y, "x": x},
        attrs={
            "transform": (0.5, 0.0, 500000.0, 0.0, -0.5, 4000000.0),
            "bit_depth": 11,
            "crs": "X",
        },
    )
    out = M.resample(scene, gsd=1.0)
    assert out.shape == (1, 20, 30)
    assert out.attrs["transform"] == (1.0, 0.0, 500000.0, 0.0, -1.0, 4000000.0)
    np.testing.assert_allclose(out.x.values, 500000.0 + 1.0 * (np.arange(30) + 0.5))
    np.testing.assert_allclose(out.y.values, 4000000.0 - 1.0 * (np.arange(20) + 0.5))
    ref = img.reshape(1, 20, 2, 30, 2).astype(np.float64).mean(axis=(2, 4))
    np.testing.assert_array_equal(out.values, np.rint(ref).astype(np.uint16))
    assert out.attrs["crs"] == "X" and out.dtype == np.uint16


def test_resample_bad_params():
    with pytest.raises(InvalidParameterError):
        M.resample(factor=0.5, gsd=1.0)
    with pytest.raises(InvalidParameterError, match="factor"):
        M.resample(factor=-2)
    with pytest.raises(InvalidParameterError, match="method"):
        M.resample(factor=2, method="magic")
    with pytest.raises(InvalidParameterError, match="source_gsd"):
        M.resample(np.zeros((1, 4, 4)), gsd=2.0)
