"""Full-reference metrics against independent references.

Provenance of the expected values:
- SSIM: ``skimage.metrics.structural_similarity`` (scikit-image 0.26) with explicit
  arguments: ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False`` (Wang 2004)
  for ``window="gaussian"`` and its defaults (7x7 uniform, sample covariance) for
  ``window="uniform"``; ``full=True`` for the per-pixel map. Float inputs are given to
  skimage as float64 so its float32 arithmetic does not blur the comparison.
- PSNR / MSE: ``skimage.metrics.peak_signal_noise_ratio`` / ``mean_squared_error``.
- MS-SSIM: an independent NumPy/SciPy transcription of Wang et al. (2003) written here
  (``scipy.ndimage.gaussian_filter`` statistics, ``skimage.transform.downscale_local_mean``
  for the 2x2 mean, skimage's crop).
- ERGAS / SAM: analytic cases (constant relative error; known angles).
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity
from skimage.transform import downscale_local_mean

from iqx.errors import (
    InvalidParameterError,
    NotMeasurableError,
    ShapeMismatchError,
)
from iqx.metrics import ergas, ms_ssim, mse, psnr, psnr_map, rmse, sam, ssim, ssim_map
from iqx.metrics.reference import WANG2003_WEIGHTS, resolve_data_range
from iqx.testing.laziness import raise_if_dask_computes

GAUSS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}
CHUNKINGS = [(-1, -1), (40, 57), (33, 100), (64, 23)]


def _pair(shape=(3, 96, 110), seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[1], : shape[2]]
    base = 0.5 + 0.3 * np.sin(y / 7.0)[None] * np.cos(x / 5.0)[None]
    ref = np.clip(base + 0.05 * rng.standard_normal(shape), 0, 1)
    test = np.clip(ref + noise * rng.standard_normal(shape), 0, 1)
    return ref, test


def _skimage_ssim(ref, test, window, data_range):
    kw = GAUSS if window == "gaussian" else {}
    per_band = [
        structural_similarity(
            ref[b].astype(np.float64), test[b].astype(np.float64), data_range=data_range, **kw
        )
        for b in range(ref.shape[0])
    ]
    return np.array(per_band)


@pytest.mark.parametrize("window", ["gaussian", "uniform"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "uint8", "uint16"])
def test_ssim_equals_skimage(window, dtype):
    ref, test = _pair()
    if dtype == "uint8":
        ref, test = (ref * 255).round().astype(np.uint8), (test * 255).round().astype(np.uint8)
        L, expected_l = None, 255.0
    elif dtype == "uint16":
        ref = (ref * 4000).round().astype(np.uint16)
        test = (test * 4000).round().astype(np.uint16)
        L, expected_l = None, 4095.0  # the measured depth: values up to 4000 are 12-bit
    else:
        ref, test = ref.astype(dtype), test.astype(dtype)
        L = expected_l = 1.0
    expected = _skimage_ssim(ref, test, window, expected_l)
    res = ssim(ref, test, data_range=L, window=window)
    np.testing.assert_allclose(res["ssim_band"].values, expected, rtol=0, atol=1e-6)
    assert abs(float(res["ssim"]) - expected.mean()) < 1e-6
    # skimage's channel_axis result is the band mean too
    ch = structural_similarity(
        ref.astype(np.float64),
        test.astype(np.float64),
        data_range=expected_l,
        channel_axis=0,
        **(GAUSS if window == "gaussian" else {}),
    )
    assert abs(float(res["ssim"]) - ch) < 1e-6
    assert res.attrs["data_range"] == expected_l
    expected_window = (
        "gaussian(sigma=1.5, truncate=3.5)" if window == "gaussian" else "uniform(size=7)"
    )
    assert res.attrs["window"] == expected_window


def test_ssim_default_is_wang2004_gaussian():
    ref, test = _pair()
    res = ssim(ref, test, data_range=1.0)
    assert res.attrs["window"] == "gaussian(sigma=1.5, truncate=3.5)"
    assert res.attrs["covariance"] == "population"
    assert res.attrs["crop"] == 5
    np.testing.assert_allclose(
        res["ssim_band"], _skimage_ssim(ref, test, "gaussian", 1.0), atol=1e-6
    )


@pytest.mark.parametrize("window", ["gaussian", "uniform"])
def test_ssim_chunk_invariant(window):
    ref, test = _pair(shape=(2, 130, 121))
    whole = ssim(ref, test, data_range=1.0, window=window)
    for cy, cx in CHUNKINGS:
        lazy_ref = da.from_array(ref, chunks=(1, cy, cx))
        res = ssim(lazy_ref, test, data_range=1.0, window=window).compute()
        np.testing.assert_allclose(res["ssim_band"], whole["ssim_band"], rtol=1e-12)
        np.testing.assert_array_equal(res["count"], whole["count"])


def test_ssim_tiny_trailing_chunk_is_merged():
    ref, test = _pair(shape=(1, 66, 66))
    res = ssim(da.from_array(ref, chunks=(1, 32, 32)), test, data_range=1.0).compute()
    assert abs(float(res["ssim"]) - _skimage_ssim(ref, test, "gaussian", 1.0)[0]) < 1e-6


def test_ssim_uses_bit_depth_attr():
    ref, test = _pair(shape=(1, 64, 64))
    r = xr.DataArray(
        (ref * 2047).astype(np.uint16), dims=("band", "y", "x"), attrs={"bit_depth": 11}
    )
    t = xr.DataArray(
        (test * 2047).astype(np.uint16), dims=("band", "y", "x"), attrs={"bit_depth": 11}
    )
    res = ssim(r, t)
    assert res.attrs["data_range"] == 2047.0
    expected = _skimage_ssim(r.values, t.values, "gaussian", 2047.0)
    assert abs(float(res["ssim"]) - expected[0]) < 1e-6


def test_ssim_is_lazy_and_runs_under_distributed(dask_client):
    ref, test = _pair(shape=(2, 100, 90))
    a = da.from_array(ref, chunks=(1, 50, 45))
    b = da.from_array(test, chunks=(2, 30, 90))
    with raise_if_dask_computes():
        res = ssim(a, b, data_range=1.0)
        ms = mse(a, b)
        p = psnr(a, b, data_range=1.0)
        m = ssim_map(a, b, data_range=1.0, tile=32)
    assert isinstance(res["ssim"].data, da.Array)
    computed = res.compute()
    np.testing.assert_allclose(
        computed["ssim_band"], _skimage_ssim(ref, test, "gaussian", 1.0), atol=1e-6
    )
    assert float(ms["mse"].compute()) == pytest.approx(mean_squared_error(ref, test), rel=1e-12)
    assert float(p["psnr"].compute()) == pytest.approx(
        peak_signal_noise_ratio(ref, test, data_range=1.0), rel=1e-12
    )
    assert m.compute().shape == (2, 4, 3)


def test_psnr_mse_rmse_equal_skimage():
    ref, test = _pair()
    u8r, u8t = (ref * 255).astype(np.uint8), (test * 255).astype(np.uint8)
    res = psnr(u8r, u8t)
    assert float(res["psnr"]) == pytest.approx(peak_signal_noise_ratio(u8r, u8t), rel=1e-12)
    for b in range(3):
        assert float(res["psnr_band"][b]) == pytest.approx(
            peak_signal_noise_ratio(u8r[b], u8t[b], data_range=255), rel=1e-12
        )
    assert float(mse(ref, test)["mse"]) == pytest.approx(mean_squared_error(ref, test), rel=1e-12)
    assert float(rmse(ref, test)["rmse"]) == pytest.approx(
        np.sqrt(mean_squared_error(ref, test)), rel=1e-12
    )
    for cy, cx in CHUNKINGS[1:]:
        lazy = psnr(da.from_array(u8r, chunks=(1, cy, cx)), u8t).compute()
        np.testing.assert_allclose(lazy["psnr_band"], res["psnr_band"], rtol=1e-12)
    assert np.isinf(float(psnr(u8r, u8r)["psnr"]))


def _ms_ssim_reference(ref, test, data_range, weights=WANG2003_WEIGHTS):
    """Independent MS-SSIM: scipy gaussian_filter statistics, skimage crop and 2x2 mean."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    x, y = ref.astype(np.float64), test.astype(np.float64)
    values = []
    for j in range(len(weights)):
        if j:
            x = downscale_local_mean(x[: x.shape[0] // 2 * 2, : x.shape[1] // 2 * 2], (2, 2))
            y = downscale_local_mean(y[: y.shape[0] // 2 * 2, : y.shape[1] // 2 * 2], (2, 2))

        def g(im):
            return ndimage.gaussian_filter(im, 1.5, truncate=3.5, mode="reflect")

        ux, uy = g(x), g(y)
        vx, vy, vxy = g(x * x) - ux * ux, g(y * y) - uy * uy, g(x * y) - ux * uy
        cs = (2 * vxy + c2) / (vx + vy + c2)
        full = (2 * ux * uy + c1) / (ux**2 + uy**2 + c1) * cs
        term = full if j == len(weights) - 1 else cs
        values.append(max(term[5:-5, 5:-5].mean(), 0.0))
    return float(np.prod(np.array(values) ** np.array(weights)))


def test_ms_ssim_matches_independent_reference_and_chunking():
    ref, test = _pair(shape=(2, 190, 200), noise=0.15)
    res = ms_ssim(ref, test, data_range=1.0)
    for b in range(2):
        assert float(res["ms_ssim_band"][b]) == pytest.approx(
            _ms_ssim_reference(ref[b], test[b], 1.0), abs=1e-9
        )
    assert "2x2 block mean" in res.attrs["downsampling"]
    lazy = ms_ssim(da.from_array(ref, chunks=(1, 61, 97)), test, data_range=1.0).compute()
    np.testing.assert_allclose(lazy["ms_ssim_band"], res["ms_ssim_band"], rtol=1e-12)
    with pytest.raises(NotMeasurableError, match="176"):
        ms_ssim(ref[:, :150, :150], test[:, :150, :150], data_range=1.0)


def test_ssim_map_equals_skimage_full_and_tiles():
    ref, test = _pair(shape=(1, 80, 70))
    _, full = structural_similarity(ref[0], test[0], data_range=1.0, full=True, **GAUSS)
    m = ssim_map(ref, test, data_range=1.0)
    np.testing.assert_allclose(m[0].values, full, atol=1e-12)
    lazy = ssim_map(da.from_array(ref, chunks=(1, 27, 31)), test, data_range=1.0).compute()
    np.testing.assert_allclose(lazy.values, m.values, atol=1e-12)
    # tiles: mean of the cropped map per 20 x 20 tile, tile-centre coordinates
    tiles = ssim_map(da.from_array(ref, chunks=(1, 27, 31)), test, data_range=1.0, tile=20)
    tiles = tiles.compute()
    cropped = np.full_like(full, np.nan)
    cropped[5:-5, 5:-5] = full[5:-5, 5:-5]
    assert tiles.shape == (1, 4, 4)
    assert float(tiles[0, 1, 2]) == pytest.approx(np.nanmean(cropped[20:40, 40:60]), abs=1e-12)
    assert float(tiles[0, 3, 3]) == pytest.approx(np.nanmean(cropped[60:80, 60:70]), abs=1e-12)
    assert tiles["y"].values[0] == pytest.approx(9.5)


def test_maps_keep_geo_coords_and_scale_transform():
    ref, test = _pair(shape=(1, 64, 64))
    transform = (10.0, 0.0, 500000.0, 0.0, -10.0, 4200000.0)
    coords = {
        "band": [1],
        "y": 4200000.0 - 10.0 * (np.arange(64) + 0.5),
        "x": 500000.0 + 10.0 * (np.arange(64) + 0.5),
    }
    attrs = {"crs": "EPSG:32633", "transform": transform}
    r = xr.DataArray(ref, dims=("band", "y", "x"), coords=coords, attrs=attrs)
    t = xr.DataArray(test, dims=("band", "y", "x"), coords=coords, attrs=attrs)
    pm = psnr_map(r, t, tile=16, data_range=1.0)
    assert pm.shape == (1, 4, 4)
    assert pm.attrs["transform"] == (160.0, 0.0, 500000.0, 0.0, -160.0, 4200000.0)
    assert pm.attrs["crs"] == "EPSG:32633"
    assert float(pm["x"][0]) == pytest.approx(500080.0)
    sq = (ref[0, :16, :16] - test[0, :16, :16]) ** 2
    assert float(pm[0, 0, 0]) == pytest.approx(10 * np.log10(1.0 / sq.mean()), rel=1e-12)


def test_ergas_and_sam_analytic():
    rng = np.random.default_rng(1)
    ref = rng.uniform(10, 20, size=(4, 40, 50))
    # test = ref * 1.1: RMSE_b / mu_b = 0.1 * sqrt(mean(ref_b^2)) / mean(ref_b)
    test = ref * 1.1
    rel = np.array([0.1 * np.sqrt((ref[b] ** 2).mean()) / ref[b].mean() for b in range(4)])
    res = ergas(ref, test, ratio=0.25)
    assert float(res["ergas"]) == pytest.approx(100 * 0.25 * np.sqrt((rel**2).mean()), rel=1e-12)
    # proportional spectra have zero angle
    assert float(sam(ref, test)["sam"]) == pytest.approx(0.0, abs=1e-6)
    # two-band spectra (1, 0) vs (1, 1): 45 degrees everywhere
    a = np.stack([np.ones((8, 8)), np.zeros((8, 8))])
    b = np.ones((2, 8, 8))
    assert float(sam(a, b)["sam"]) == pytest.approx(45.0, rel=1e-12)
    assert float(sam(a, b, unit="radians")["sam"]) == pytest.approx(np.pi / 4, rel=1e-12)
    lazy = sam(da.from_array(a, chunks=(1, 3, 5)), b).compute()
    assert float(lazy["sam"]) == pytest.approx(45.0, rel=1e-12)
    # zero spectra are excluded from the mean
    a2 = a.copy()
    a2[:, 0, 0] = 0
    assert int(sam(a2, b)["count"]) == 63


# -- bad input ------------------------------------------------------------------------------


def test_shape_and_crs_mismatch():
    ref, test = _pair(shape=(1, 40, 40))
    with pytest.raises(ShapeMismatchError, match=r"\(1, 40, 40\).*\(1, 40, 39\)"):
        ssim(ref, test[:, :, :39], data_range=1.0)
    r = xr.DataArray(ref, dims=("band", "y", "x"), attrs={"crs": "EPSG:4326", "source": "a.tif"})
    t = xr.DataArray(test, dims=("band", "y", "x"), attrs={"crs": "EPSG:3857", "source": "b.tif"})
    with pytest.raises(ShapeMismatchError, match=r"a\.tif.*EPSG:4326.*b\.tif.*EPSG:3857"):
        psnr(r, t, data_range=1.0)


def test_float_needs_data_range():
    ref, test = _pair(shape=(1, 40, 40))
    for func in (ssim, psnr, ms_ssim, ssim_map):
        with pytest.raises(InvalidParameterError, match="data_range is required"):
            func(ref, test)
    with pytest.raises(InvalidParameterError, match="data_range"):
        resolve_data_range(ref, test, -1.0)
    # a float raster's bit_depth attr (its dtype size) is not a data range
    r = xr.DataArray(ref.astype(np.float32), dims=("band", "y", "x"), attrs={"bit_depth": 32})
    with pytest.raises(InvalidParameterError):
        resolve_data_range(r, r)


def test_bad_parameters():
    ref, test = _pair(shape=(2, 40, 40))
    with pytest.raises(InvalidParameterError, match="window"):
        ssim(ref, test, data_range=1.0, window="box")
    with pytest.raises(InvalidParameterError, match="win_size"):
        ssim(ref, test, data_range=1.0, window="uniform", win_size=6)
    with pytest.raises(NotMeasurableError, match="smaller than"):
        ssim(ref[:, :8, :8], test[:, :8, :8], data_range=1.0)
    with pytest.raises(InvalidParameterError, match="ratio"):
        ergas(ref, test, ratio=0)
    with pytest.raises(InvalidParameterError, match="2 bands"):
        sam(ref[:1], test[:1])
    with pytest.raises(InvalidParameterError, match="unit"):
        sam(ref, test, unit="grad")
    with pytest.raises(InvalidParameterError, match="tile"):
        psnr_map(ref, test, tile=0, data_range=1.0)


def test_registered():
    from iqx.registry import metrics

    for name in ("psnr", "ssim", "ms_ssim", "mse", "rmse", "ergas", "sam"):
        reg = metrics.get(name)
        assert reg.target.__name__ == name
        assert name in reg.outputs
    assert metrics.get("ssim").halo() == 5
    assert metrics.get("ssim").halo(window="uniform") == 3


# -- nodata and masks ---------------------------------------------------------------------
# Expected values are computed independently here: skimage's per-pixel map
# (``structural_similarity(..., full=True)``) averaged, with NumPy, over the cropped windows
# whose every pixel is valid (``sliding_window_view(valid, (s, s)).all()``), and
# ``skimage.metrics.mean_squared_error`` / ``peak_signal_noise_ratio`` on the valid
# elements only.


def _window_ok(valid, size):
    return np.lib.stride_tricks.sliding_window_view(valid, (size, size)).all(axis=(-2, -1))


def _skimage_masked_ssim(ref, test, valid, window, data_range):
    kw = GAUSS if window == "gaussian" else {}
    size = 11 if window == "gaussian" else 7
    r = size // 2
    out = []
    for b in range(ref.shape[0]):
        x = np.where(valid[b], ref[b], 0).astype(np.float64)
        y = np.where(valid[b], test[b], 0).astype(np.float64)
        _, full = structural_similarity(x, y, data_range=data_range, full=True, **kw)
        ok = _window_ok(valid[b], size)
        out.append(full[r:-r, r:-r][ok].mean())
    return np.array(out)


def _nodata_pair():
    ref, test = _pair(shape=(2, 90, 100))
    ref = (ref * 4000).round().astype(np.uint16) + 1
    test = (test * 4000).round().astype(np.uint16) + 1
    ref[0, 20:30, 40:47] = 0  # nodata of the reference
    ref[1, 60, 10] = 0
    test[:, 70:73, 80:90] = 9999  # nodata of the test
    r = xr.DataArray(ref, dims=("band", "y", "x"), attrs={"nodata": 0})
    t = xr.DataArray(test, dims=("band", "y", "x"), attrs={"nodata": 9999})
    valid = (ref != 0) & (test != 9999)
    return r, t, valid


@pytest.mark.parametrize("window", ["gaussian", "uniform"])
def test_ssim_nodata_excludes_windows_touching_invalid_pixels(window):
    r, t, valid = _nodata_pair()
    expected = _skimage_masked_ssim(r.values, t.values, valid, window, 4095.0)
    res = ssim(r, t, window=window)
    np.testing.assert_allclose(res["ssim_band"].values, expected, rtol=0, atol=1e-6)
    size = 11 if window == "gaussian" else 7
    counts = [_window_ok(valid[b], size).sum() for b in range(2)]
    np.testing.assert_array_equal(res["count"].values, counts)
    # the unmasked value differs: the sentinels would enter the windows
    assert abs(float(ssim(r.values, t.values, window=window)["ssim"]) - expected.mean()) > 1e-3
    # chunked == whole image, including chunks whose halo alone holds invalid pixels
    for cy, cx in CHUNKINGS[1:]:
        lazy = ssim(r.chunk({"band": 1, "y": cy, "x": cx}), t, window=window).compute()
        np.testing.assert_allclose(lazy["ssim_band"], res["ssim_band"], rtol=1e-12)
        np.testing.assert_array_equal(lazy["count"], res["count"])


def test_ssim_nan_and_explicit_mask():
    ref, test = _pair(shape=(1, 80, 90))
    test = test.astype(np.float32)
    test[0, 10:14, 30:33] = np.nan
    mask = np.ones((80, 90), dtype=bool)
    mask[50:55, 5:60] = False  # (y, x) mask, applied to every band
    valid = np.isfinite(test) & mask[None]
    for window in ("gaussian", "uniform"):
        expected = _skimage_masked_ssim(ref, test, valid, window, 1.0)
        res = ssim(ref, test, data_range=1.0, window=window, mask=mask)
        np.testing.assert_allclose(res["ssim_band"].values, expected, atol=1e-6)
        lazy = ssim(
            da.from_array(ref, chunks=(1, 33, 40)),
            test,
            data_range=1.0,
            window=window,
            mask=xr.DataArray(da.from_array(mask, chunks=20), dims=("y", "x")),
        ).compute()
        np.testing.assert_allclose(lazy["ssim_band"], res["ssim_band"], rtol=1e-12)


def test_all_valid_mask_gives_exactly_the_unmasked_results():
    ref, test = _pair()
    ones = np.ones(ref.shape, dtype=bool)
    for window in ("gaussian", "uniform"):
        a = ssim(ref, test, data_range=1.0, window=window)
        b = ssim(ref, test, data_range=1.0, window=window, mask=ones)
        np.testing.assert_array_equal(a["ssim_band"], b["ssim_band"])
        np.testing.assert_array_equal(a["count"], b["count"])
    u8r, u8t = (ref * 255).astype(np.uint8), (test * 255).astype(np.uint8)
    for func in (mse, rmse, psnr):
        a, b = func(u8r, u8t), func(u8r, u8t, mask=ones[0])
        for name in a.data_vars:
            np.testing.assert_array_equal(a[name], b[name])
    assert float(psnr(u8r, u8t, mask=ones)["psnr"]) == peak_signal_noise_ratio(u8r, u8t)
    e0, e1 = ergas(ref, test, ratio=0.5), ergas(ref, test, ratio=0.5, mask=ones)
    np.testing.assert_array_equal(e0["ergas"], e1["ergas"])
    np.testing.assert_array_equal(sam(ref, test)["sam"], sam(ref, test, mask=ones)["sam"])


def test_psnr_mse_rmse_with_nodata_equal_skimage_on_valid_pixels():
    r, t, valid = _nodata_pair()
    ref, test = r.values, t.values
    res_p, res_m, res_r = psnr(r, t), mse(r, t), rmse(r, t)
    for b in range(2):
        x, y = ref[b][valid[b]], test[b][valid[b]]
        assert float(res_m["mse_band"][b]) == pytest.approx(mean_squared_error(x, y), rel=1e-12)
        assert float(res_p["psnr_band"][b]) == pytest.approx(
            peak_signal_noise_ratio(x, y, data_range=4095), rel=1e-12
        )
    pooled = mean_squared_error(ref[valid], test[valid])
    assert float(res_m["mse"]) == pytest.approx(pooled, rel=1e-12)
    assert float(res_r["rmse"]) == pytest.approx(np.sqrt(pooled), rel=1e-12)
    assert float(res_p["psnr"]) == pytest.approx(
        peak_signal_noise_ratio(ref[valid], test[valid], data_range=4095), rel=1e-12
    )
    np.testing.assert_array_equal(res_m["count"], valid.sum(axis=(1, 2)))
    lazy = psnr(r.chunk({"y": 31, "x": 47}), t).compute()
    np.testing.assert_allclose(lazy["psnr_band"], res_p["psnr_band"], rtol=1e-12)
    assert float(lazy["psnr"]) == pytest.approx(float(res_p["psnr"]), rel=1e-12)


def test_ergas_and_sam_with_mask():
    rng = np.random.default_rng(4)
    ref = rng.uniform(10, 20, size=(3, 30, 40))
    test = ref * 1.1
    test[1, 5:9, 5:9] = np.nan
    mask = np.ones((30, 40), dtype=bool)
    mask[20:, :] = False
    valid = np.isfinite(test) & mask
    res = ergas(ref, test, ratio=0.25, mask=mask)
    rel = [
        0.1 * np.sqrt((ref[b][valid[b]] ** 2).mean()) / ref[b][valid[b]].mean() for b in range(3)
    ]
    expected = 100 * 0.25 * np.sqrt(np.mean(np.square(rel)))
    assert float(res["ergas"]) == pytest.approx(expected, rel=1e-12)
    # a pixel counts for SAM only if every band is valid
    a = np.stack([np.ones((8, 8)), np.zeros((8, 8))])
    b = np.ones((2, 8, 8))
    b[1, 0, :3] = np.nan
    b[0, 7, 7] = -1.0  # 135 degrees, masked out below
    m = np.ones((8, 8), dtype=bool)
    m[7, 7] = False
    res = sam(a, b, mask=m)
    assert int(res["count"]) == 64 - 3 - 1
    assert float(res["sam"]) == pytest.approx(45.0, rel=1e-12)
    lazy = sam(da.from_array(a, chunks=(1, 3, 5)), b, mask=m).compute()
    assert float(lazy["sam"]) == pytest.approx(45.0, rel=1e-12)


def test_nothing_valid_gives_nan_and_bad_masks_raise():
    ref, test = _pair(shape=(2, 40, 40))
    mask = np.ones((2, 40, 40), dtype=bool)
    mask[1] = False
    res = ssim(ref, test, data_range=1.0, mask=mask)
    assert np.isnan(float(res["ssim_band"][1])) and int(res["count"][1]) == 0
    assert np.isnan(float(mse(ref, test, mask=mask)["mse_band"][1]))
    with pytest.raises(InvalidParameterError, match="boolean"):
        ssim(ref, test, data_range=1.0, mask=mask.astype(np.uint8))
    with pytest.raises(ShapeMismatchError, match="mask"):
        psnr(ref, test, data_range=1.0, mask=mask[:, :30])


@pytest.mark.parametrize("window", ["gaussian", "uniform"])
def test_ssim_offset_data_stays_accurate(window):
    """Large offset, small range: moments must not lose the variance to cancellation."""
    ref, test = _pair(shape=(1, 150, 140))
    ref, test = ref + 1000.0, test + 1000.0
    expected = _skimage_ssim(ref, test, window, 1.0)
    res = ssim(ref, test, data_range=1.0, window=window)
    np.testing.assert_allclose(res["ssim_band"].values, expected, rtol=0, atol=1e-6)


# -- single-pass error sums (MSE / RMSE / PSNR / ERGAS / SAM) -----------------------------


def _holey_pair(dtype="float32"):
    """Float pair with NaN/inf in both images, a test nodata value and a (y, x) mask."""
    rng = np.random.default_rng(7)
    ref = rng.uniform(10, 20, size=(3, 70, 83)).astype(dtype)
    test = (ref * (1 + 0.05 * rng.standard_normal(ref.shape))).astype(dtype)
    ref[0, 3:6, 10:20] = np.nan
    ref[2, 40, 7] = np.inf
    test[1, 50:52, :] = -np.inf
    test[:, 60:63, 70:75] = -9999.0  # nodata of the test
    mask = np.ones((70, 83), dtype=bool)
    mask[20:24, 30:60] = False
    r = xr.DataArray(ref, dims=("band", "y", "x"))
    t = xr.DataArray(test, dims=("band", "y", "x"), attrs={"nodata": -9999.0})
    valid = np.isfinite(ref) & np.isfinite(test) & (test != -9999.0) & mask[None]
    return r, t, mask, valid


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_error_metrics_with_nan_inf_nodata_and_mask_equal_skimage(dtype):
    r, t, mask, valid = _holey_pair(dtype)
    # skimage subtracts float32 in float32: give it float64, as iqx computes
    ref, test = r.values.astype(np.float64), t.values.astype(np.float64)
    res_m, res_p = mse(r, t, mask=mask), psnr(r, t, data_range=20.0, mask=mask)
    for b in range(3):
        x, y = ref[b][valid[b]], test[b][valid[b]]
        assert float(res_m["mse_band"][b]) == pytest.approx(mean_squared_error(x, y), rel=1e-12)
        assert float(res_p["psnr_band"][b]) == pytest.approx(
            peak_signal_noise_ratio(x, y, data_range=20.0), rel=1e-12
        )
    np.testing.assert_array_equal(res_m["count"], valid.sum(axis=(1, 2)))
    assert res_m["count"].dtype == np.int64
    pooled = mean_squared_error(ref[valid], test[valid])
    assert float(res_m["mse"]) == pytest.approx(pooled, rel=1e-12)
    assert float(rmse(r, t, mask=mask)["rmse"]) == pytest.approx(np.sqrt(pooled), rel=1e-12)
    # ERGAS from its definition on the valid elements
    res_e = ergas(r, t, ratio=0.25, mask=mask)
    rm = [np.sqrt(mean_squared_error(ref[b][valid[b]], test[b][valid[b]])) for b in range(3)]
    mu = [ref[b][valid[b]].mean() for b in range(3)]
    np.testing.assert_allclose(res_e["rmse_band"], rm, rtol=1e-12)
    np.testing.assert_allclose(res_e["mean_band"], mu, rtol=1e-12)
    expected = 100 * 0.25 * np.sqrt(np.mean((np.array(rm) / np.array(mu)) ** 2))
    assert float(res_e["ergas"]) == pytest.approx(expected, rel=1e-12)
    # SAM over pixels valid in every band
    px = valid.all(axis=0)
    a, b = ref[:, px], test[:, px]
    cos = (a * b).sum(0) / (np.sqrt((a * a).sum(0)) * np.sqrt((b * b).sum(0)))
    res_s = sam(r, t, mask=mask)
    assert int(res_s["count"]) == px.sum()
    assert float(res_s["sam"]) == pytest.approx(
        np.degrees(np.arccos(np.clip(cos, -1, 1)).mean()), rel=1e-9
    )


def test_error_metrics_are_chunk_invariant():
    r, t, mask, _ = _holey_pair()
    calls = [
        (mse, {"mask": mask}),
        (rmse, {"mask": mask}),
        (psnr, {"data_range": 20.0, "mask": mask}),
        (ergas, {"ratio": 0.25, "mask": mask}),
        (sam, {"mask": mask}),
        (psnr, {"data_range": 20.0}),
        (ergas, {"ratio": 0.5}),
        (sam, {}),
    ]
    for func, kw in calls:
        whole = func(r, t, **kw)
        for cy, cx in CHUNKINGS:
            lazy = func(r.chunk({"band": -1, "y": cy, "x": cx}), t, **kw).compute()
            for name in whole.data_vars:
                if name == "count":
                    np.testing.assert_array_equal(lazy[name], whole[name])
                else:
                    np.testing.assert_allclose(lazy[name], whole[name], rtol=1e-12)


def test_error_metrics_mixed_dtypes_and_uint_nodata():
    r, t, valid = _nodata_pair()
    t32 = t.astype(np.float32)  # uint16 reference, float32 test (nodata attr kept)
    res = mse(r, t32)
    for b in range(2):
        x, y = r.values[b][valid[b]], t32.values[b][valid[b]].astype(np.float64)
        assert float(res["mse_band"][b]) == pytest.approx(mean_squared_error(x, y), rel=1e-12)
    e = ergas(r, t, ratio=0.5)
    mu = [r.values[b][valid[b]].mean() for b in range(2)]
    np.testing.assert_allclose(e["mean_band"], mu, rtol=1e-12)


def test_float64_difference_overflow_is_inf_not_invalid():
    """Finite float64 values whose difference overflows count (as in skimage: inf)."""
    ref = np.array([[[1e308, 1.0], [2.0, 3.0]]])
    test = np.array([[[-1e308, 1.0], [2.0, 3.0]]])
    res = mse(ref, test)
    assert int(res["count"][0]) == 4
    with np.errstate(over="ignore"):
        assert np.isinf(float(res["mse"])) and np.isinf(mean_squared_error(ref, test))
    # float32 input cannot overflow in float64: NaN/inf in either image is what is excluded
    a = np.array([[[np.nan, 1.0, np.inf, 2.0]]], dtype=np.float32)
    b = np.array([[[1.0, np.inf, np.inf, 4.0]]], dtype=np.float32)
    res = mse(a, b)
    assert int(res["count"][0]) == 1 and float(res["mse"]) == 4.0


def test_error_sums_kernel_on_views_and_broadcast_masks():
    from iqx.kernels.error_sums import spectral_angle_sums, squared_error_sums

    rng = np.random.default_rng(3)
    big_a = rng.uniform(0, 100, (3, 50, 60)).astype(np.float32)
    big_b = big_a + rng.standard_normal(big_a.shape).astype(np.float32)
    a, b = big_a[:, 5:40, 7:51], big_b[:, 5:40, 7:51]  # non-contiguous views
    mask2d = rng.random((35, 44)) > 0.2
    cases = [
        (a, b),
        (a[:, ::-1, ::2], b[:, ::-1, ::2]),  # negative and non-unit strides: copied
        (a.astype(">f4"), b),  # non-native byte order: converted
    ]
    for x, y in cases:
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        out = squared_error_sums(x, y, reference_sum=True)
        np.testing.assert_allclose(out[:, 0], ((x64 - y64) ** 2).sum(axis=(1, 2)), rtol=1e-12)
        np.testing.assert_allclose(out[:, 2], x64.sum(axis=(1, 2)), rtol=1e-12)
        assert (out[:, 1] == x.shape[1] * x.shape[2]).all()
    m = np.broadcast_to(mask2d, a.shape)  # zero band stride
    out = squared_error_sums(a, b, m, nodata_a=float(a[0, 0, 0]))
    ok = m & (a != a[0, 0, 0])
    d = a.astype(np.float64) - b
    np.testing.assert_allclose(out[:, 0], np.where(ok, d * d, 0).sum(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_array_equal(out[:, 1], ok.sum(axis=(1, 2)))
    s = spectral_angle_sums(a, b, mask2d)
    a64, b64 = a.astype(np.float64)[:, mask2d], b.astype(np.float64)[:, mask2d]
    cos = (a64 * b64).sum(0) / np.sqrt((a64 * a64).sum(0) * (b64 * b64).sum(0))
    assert s[1] == mask2d.sum()
    assert s[0] == pytest.approx(np.arccos(np.clip(cos, -1, 1)).sum(), rel=1e-9)
    empty = squared_error_sums(a[:, :0], b[:, :0])
    assert empty.shape == (3, 3) and not empty.any()


def _error_metrics(r, t, mask, other_mask):
    """The five error metrics of ``r`` against ``t``: ``mask`` for mse, psnr and ergas,
    ``other_mask`` for rmse and sam (a lazy mask and a NumPy one can be mixed)."""
    return {
        "mse": mse(r, t, mask=mask),
        "rmse": rmse(r, t, mask=other_mask),
        "psnr": psnr(r, t, data_range=20.0, mask=mask),
        "ergas": ergas(r, t, ratio=0.25, mask=mask),
        "sam": sam(r, t, mask=other_mask),
    }


def test_error_metrics_are_lazy_and_run_under_distributed(dask_client):
    r, t, mask, _ = _holey_pair()
    a = r.chunk({"band": -1, "y": 30, "x": 40})
    lazy_mask = xr.DataArray(da.from_array(mask, chunks=25), dims=("y", "x"))
    with raise_if_dask_computes():
        results = _error_metrics(a, t, lazy_mask, mask)
    for name, ds in results.items():
        assert isinstance(ds[name].data, da.Array), name
    eager = _error_metrics(r, t, mask, mask)
    for name, ds in results.items():
        computed = ds.compute()
        for var in eager[name].data_vars:
            np.testing.assert_allclose(computed[var], eager[name][var], rtol=1e-12)
        assert computed.attrs == eager[name].attrs
