"""SNR counting kernels against NumPy references (np.unique / np.bincount)."""

from __future__ import annotations

import numpy as np
import pytest

from iqx.kernels import homogeneous as hk
from iqx.kernels.key_counts import packed_key_counts


def _unique_counts(keys, weights=None):
    uk, inv = np.unique(keys, return_inverse=True)
    w = np.ones(keys.size, np.int64) if weights is None else weights
    return uk, np.bincount(inv, weights=w).astype(np.int64)


@pytest.mark.parametrize("bits", [0, 4, 20])
@pytest.mark.parametrize("weighted", [False, True])
def test_packed_key_counts_matches_unique(bits, weighted):
    rng = np.random.default_rng(bits)
    high = rng.integers(-50, 300, 5000)
    low = rng.integers(0, min(1 << bits, 100), 5000) if bits else np.zeros(5000, np.int64)
    keys = (high << bits) + low
    w = rng.integers(1, 1000, keys.size) if weighted else None
    out = packed_key_counts(keys, bits, w)
    assert out is not None  # narrow range: the dense table is used
    ref = _unique_counts(keys, w)
    np.testing.assert_array_equal(out[0], ref[0])
    np.testing.assert_array_equal(out[1], ref[1])


def test_packed_key_counts_declines_wide_ranges():
    keys = np.array([0, 1 << 40], np.int64)
    assert packed_key_counts(keys, 0) is None


@pytest.mark.parametrize("span", [100, 1 << 40])  # dense table, then the sort fallback
def test_sparse_merge_matches_unique(span):
    rng = np.random.default_rng(3)
    parts = []
    for _ in range(5):
        k = np.unique(rng.integers(0, span, 300))
        parts.append((k, rng.integers(1, 50, k.size)))
    parts.append((np.empty(0, np.int64), np.empty(0, np.int64)))
    keys, counts = hk.sparse_merge(parts)
    ref = _unique_counts(
        np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    )
    np.testing.assert_array_equal(keys, ref[0])
    np.testing.assert_array_equal(counts, ref[1])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("masked", [False, True])
def test_core_value_histogram_matches_bincount(dtype, masked):
    rng = np.random.default_rng(7)
    info = np.iinfo(dtype)
    band = rng.integers(info.min, info.max, (67, 45), endpoint=True).astype(dtype)
    band[5:9] = band[5, 3]  # runs of one value (the interleaved tables' case)
    valid = rng.random(band.shape) > 0.3 if masked else None
    keys, counts = hk.core_value_histogram(band, valid, 2, 60, 3, 41)
    core = band[2:60, 3:41]
    sel = core[valid[2:60, 3:41]] if masked else core.ravel()
    ref = _unique_counts(sel.astype(np.int64))
    np.testing.assert_array_equal(keys, ref[0])
    np.testing.assert_array_equal(counts, ref[1])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("masked", [False, True])
def test_hb_block_stds_integer_path_equals_float_path(dtype, masked):
    """The integer fast path selects the same blocks and gives the same stds, bit for bit,
    as the general kernel (``float64`` copy of the band, which always takes it)."""
    rng = np.random.default_rng(5)
    band = rng.normal(100, 2, (95, 130)).round().astype(dtype)
    valid = rng.random(band.shape) > 0.05 if masked else hk.NO_MASK
    oys = np.arange(0, 93, 3, dtype=np.int64)
    oxs = np.arange(1, 127, 3, dtype=np.int64)
    target = float(np.median(band))
    fast = hk.hb_block_stds(band, valid, masked, oys, oxs, 3, target)
    slow = hk.hb_block_stds(band.astype(np.float64), valid, masked, oys, oxs, 3, target)
    assert fast.size > 50
    np.testing.assert_array_equal(fast, slow)


def test_sigmaclip_equals_scipy():
    from scipy import stats

    from iqx.metrics._snr_homogeneous import _sigmaclip

    rng = np.random.default_rng(9)
    a = np.concatenate([rng.normal(3, 0.5, 500), rng.normal(9, 1, 20)])
    np.testing.assert_array_equal(_sigmaclip(a, 4.0, 2.0), stats.sigmaclip(a, 4.0, 2.0).clipped)
    # skewed (many passes), tiny, constant and long inputs: scipy's values bit for bit
    for n in (1, 2, 7, 9, 130, 923, 5000, 9000):
        a = rng.gamma(2.0, 1.5, n) * rng.uniform(0.1, 50)
        ref = stats.sigmaclip(a, 4.0, 2.0).clipped
        np.testing.assert_array_equal(_sigmaclip(a, 4.0, 2.0), ref)
    np.testing.assert_array_equal(_sigmaclip(np.full(40, 2.5), 4.0, 2.0), np.full(40, 2.5))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int8, np.int16])
def test_int_value_histogram_tables_start_clean_every_call(dtype):
    """The per-thread count tables are zeroed after each call: consecutive histograms of
    different windows and masks each equal ``np.unique`` of their own pixels."""
    from iqx.kernels.int_histogram import int_value_histogram

    rng = np.random.default_rng(21)
    info = np.iinfo(dtype)
    for k in range(4):
        lo = info.min if k % 2 else info.max - 300
        band = rng.integers(lo, lo + 300, (41, 57), endpoint=True).astype(dtype)
        valid = rng.random(band.shape) > 0.4 if k >= 2 else None
        keys, counts = int_value_histogram(band, valid, 3, 40, 1, 50)
        core = band[3:40, 1:50]
        sel = core[valid[3:40, 1:50]] if valid is not None else core.ravel()
        ref_k, ref_c = np.unique(sel.astype(np.int64), return_counts=True)
        np.testing.assert_array_equal(keys, ref_k)
        np.testing.assert_array_equal(counts, ref_c)
    empty = int_value_histogram(band, np.zeros(band.shape, bool), 0, 41, 0, 57)
    assert empty[0].size == 0 and empty[1].size == 0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("shape", [(95, 130), (96, 129)])
def test_hb_histogram_sums_then_select_equal_the_chunk_kernels(dtype, masked, shape):
    """The in-memory ``hb`` path (one pass for the histogram and the block sums, then the
    blocks at the median) gives the histogram of :func:`np.unique`, the block sums of
    slicing, and the stds of the chunk kernel bit for bit, in the same order."""
    from iqx.kernels import hb_blocks as hb

    rng = np.random.default_rng(6)
    band = rng.normal(100, 2, shape).round().astype(dtype)
    band[7:9, :] = 0  # rows of one value (the interleaved tables' case)
    valid = rng.random(band.shape) > 0.05 if masked else hk.NO_MASK
    oys = np.arange(0, shape[0] - 2, 3, dtype=np.int64)
    oxs = np.arange(1, shape[1] - 2, 3, dtype=np.int64)
    keys, counts, sums = hb.hb_histogram_sums(band, valid, masked, oys, oxs, 3)
    pix = band[valid] if masked else band.ravel()
    ref_k, ref_c = np.unique(pix.astype(np.int64), return_counts=True)
    np.testing.assert_array_equal(keys, ref_k)
    np.testing.assert_array_equal(counts, ref_c)
    ref = [[band[y : y + 3, x : x + 3].astype(np.int64).sum() for x in oxs] for y in oys]
    if masked:
        bad = [[not valid[y : y + 3, x : x + 3].all() for x in oxs] for y in oys]
        ref = np.where(bad, hb.INVALID_SUM, ref)
    np.testing.assert_array_equal(sums, np.array(ref))
    target = float(np.median(band))
    fast = hb.hb_select_stds(band, sums, oys, oxs, 3, target)
    slow = hk.hb_block_stds(band.astype(np.float64), valid, masked, oys, oxs, 3, target)
    assert fast.size > 50
    np.testing.assert_array_equal(fast, slow)
    assert hb.hb_histogram_sums(band, valid, masked, oys[::2], oxs, 3) is None  # gaps


def test_mean_std_equals_numpy():
    from iqx.metrics._snr_homogeneous import _mean_std

    rng = np.random.default_rng(10)
    lengths = [*range(1, 300), 923, 1023, 1024, 1025, 4097, 8191, 8192, 8193, 20001]
    for n in lengths:
        a = rng.normal(3, 0.5, n) * rng.uniform(0.1, 100)
        assert _mean_std(a) == (np.mean(a), np.std(a)), n


def test_pairwise_sum_equals_numpy_add_reduce():
    """The numba port of NumPy's pairwise summation gives ``np.add.reduce`` bit for bit
    (a plain running sum differs in the last bits from 9 values on)."""
    from iqx.kernels.hb_blocks import pairwise_sum

    rng = np.random.default_rng(11)
    for n in [*range(0, 1100, 7), 8191, 8192, 8193, 100003]:
        a = rng.standard_normal(n) * rng.uniform(0.1, 100) + rng.uniform(-50, 50)
        assert 0.0 + pairwise_sum(a, 0, n) == np.add.reduce(a), n
    a = rng.standard_normal(1000)
    assert sum(float(v) for v in a) != np.add.reduce(a)  # the order matters here
