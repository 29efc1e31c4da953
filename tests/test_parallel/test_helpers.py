"""The parallel helpers that keep dask out of modifiers and metrics: explicit rechunking of
block reductions, output-window regridding, graph helpers and array constructors."""

from __future__ import annotations

import functools

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from iqx.errors import HaloTooLargeError, InvalidParameterError
from iqx.parallel import (
    as_scene,
    coarsen_halve,
    lazy_array,
    lazy_call,
    map_overlap_xr,
    map_regrid_xr,
    merge_chunks_for_halo,
    merge_small_chunks,
    rechunk_like,
    recompute_independently,
    reduce_blocks,
    reduce_blocks_leading,
    regrid_bounds,
    regular_chunks_at_least,
    to_dask_blocks,
)
from iqx.testing import raise_if_dask_computes

# -- chunk arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, minimum, expected",
    [
        ((1024, 16), 5, (1024, 16)),  # nothing too small: unchanged
        ((1024, 4), 5, (1028,)),  # short last chunk joins its neighbour
        ((3, 100, 100), 5, (103, 100)),  # short first chunk takes its neighbour
        ((100, 2, 100), 5, (102, 100)),
        ((2, 2), 5, (4,)),  # whole axis shorter than the minimum: one chunk
        ((7,), 9, (7,)),
    ],
)
def test_merge_small_chunks(sizes, minimum, expected):
    out = merge_small_chunks(sizes, minimum)
    assert out == expected
    assert sum(out) == sum(sizes)
    assert len(out) == 1 or min(out) >= minimum


def test_regular_chunks_at_least():
    assert regular_chunks_at_least(1040, 1024) == (1040,)
    assert regular_chunks_at_least(2100, 1000) == (1000, 1100)
    assert regular_chunks_at_least(500, 1000) == (500,)
    assert regular_chunks_at_least(2500, 1000) == (1000, 1500)
    assert regular_chunks_at_least(3000, 1000) == (1000, 1000, 1000)


def test_merge_chunks_for_halo_only_touches_axes_that_need_it():
    a = da.zeros((2, 1040, 300), chunks=(2, 1024, 100))
    assert merge_chunks_for_halo(a, 5, 5) is a  # 16-row last chunk >= 5: same graph
    b = merge_chunks_for_halo(a, 20, 5)
    assert b.chunks == ((2,), (1040,), (100, 100, 100))
    single = da.zeros((1, 10, 10), chunks=(1, 10, 10))
    assert merge_chunks_for_halo(single, 50, 50) is single  # one chunk needs no halo


def test_map_overlap_rechunk_with_a_short_last_chunk():
    """A 1040-px scene in 1024-px chunks and a 20-px halo: the short last chunk is merged
    (the helper used to fail with an IndexError on exactly two regular chunks)."""
    img = np.random.default_rng(4).random((1, 1040, 60))
    lazy = as_scene(da.from_array(img, chunks=(1, 1024, 60)))
    with pytest.raises(HaloTooLargeError):
        map_overlap_xr(_box, lazy, halo=20)
    out = map_overlap_xr(_box, lazy, halo=20, rechunk=True)
    assert out.data.chunks[1] == (1040,)
    np.testing.assert_array_equal(out.values, map_overlap_xr(_box, as_scene(img), halo=20).values)


def _box(block):
    return ndi.uniform_filter(block, size=(1, 41, 3), mode="constant")


# -- reduce_blocks(rechunk=True) -------------------------------------------------------------


def _core_sum_chunk(block, info, *extra):
    core = block[
        :,
        info.halo_top : block.shape[1] - info.halo_bottom,
        info.halo_left : block.shape[2] - info.halo_right,
    ]
    # the halo is really there: the block is the core extended by what info announces
    assert block.shape[1] == core.shape[1] + info.halo_top + info.halo_bottom
    weights = extra[0][:, : core.shape[1], : core.shape[2]] if extra else 1
    return np.array([float((core * weights).sum()), core.size, 1.0])


def _sum(parts):
    return np.sum(parts, axis=0)


@pytest.mark.parametrize("reduce", [reduce_blocks, reduce_blocks_leading])
def test_reduce_rechunk_merges_a_short_last_chunk(reduce):
    """A 1040-px scene in 1024-px chunks has a 16-px last chunk: a halo of 20 fails by default
    and works with ``rechunk=True`` (only the short chunk is merged), equal to NumPy."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 4096, (1, 1040, 1040)).astype(np.float64)
    lazy = as_scene(da.from_array(img, chunks=(1, 1024, 512)))
    with pytest.raises(HaloTooLargeError, match="rechunk=True"):
        reduce(_core_sum_chunk, _sum, tuple, lazy, halo=20)
    with raise_if_dask_computes():
        delayed = reduce(_core_sum_chunk, _sum, tuple, lazy, halo=20, compute=False, rechunk=True)
    total, count, nblocks = delayed.compute()
    assert (total, count) == (img.sum(), img.size)
    # y: (1024, 16) -> (1040,); x: (512, 512, 16) -> (512, 528): 2 blocks, not regular 1040s
    assert nblocks == 2
    eager = reduce(_core_sum_chunk, _sum, tuple, as_scene(img), halo=20, rechunk=True)
    assert eager[:2] == (total, count)


def test_reduce_rechunk_is_a_no_op_when_chunks_are_large_enough():
    img = np.ones((1, 64, 64))
    lazy = as_scene(da.from_array(img, chunks=(1, 32, 32)))
    res = reduce_blocks(_core_sum_chunk, _sum, tuple, lazy, halo=3, rechunk=True)
    assert res == (img.size, img.size, 4)


def test_reduce_numpy_extra_on_dask_image_is_chunked_like_it():
    img = np.arange(2 * 50 * 60, dtype=np.float64).reshape(2, 50, 60)
    weights = (np.arange(2 * 50 * 60) % 3).reshape(2, 50, 60).astype(np.float64)
    lazy = as_scene(da.from_array(img, chunks=(2, 20, 25)))
    res = reduce_blocks(_core_sum_chunk, _sum, tuple, lazy, extra=[as_scene(weights)])
    assert res[0] == (img * weights).sum()


# -- map_regrid_xr --------------------------------------------------------------------------


def _gather(block, idx_y, w_y, idx_x, w_x, *, offset=0.0):
    """Separable weighted gather: out[b, i, j] = sum_s,t w_y[i, s] w_x[j, t] block[b, ., .]."""
    tmp = (block[:, :, idx_x] * w_x[None, None]).sum(axis=-1)  # (band, y_in, x_out)
    out = (tmp[:, idx_y, :] * w_y[None, :, :, None]).sum(axis=2)  # (band, y_out, x_out)
    return out + offset


def _tables(n_in, n_out, taps, rng):
    centres = np.round(np.linspace(0, n_in - 1, n_out)).astype(np.int64)
    idx = np.clip(centres[:, None] + np.arange(taps)[None, :] - taps // 2, 0, n_in - 1)
    w = rng.random((n_out, taps))
    return idx, w / w.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("chunks", [(2, 30, 30), (1, 7, 50), (2, 97, 11), (2, 97, 83)])
@pytest.mark.parametrize("shape_out", [(40, 25), (150, 170)])
def test_map_regrid_equals_numpy_for_any_chunking(chunks, shape_out):
    rng = np.random.default_rng(2)
    img = rng.random((2, 97, 83))
    y = _tables(97, shape_out[0], 4, rng)
    x = _tables(83, shape_out[1], 3, rng)
    expected = _gather(img, *y, *x, offset=1.0)
    eager = map_regrid_xr(_gather, as_scene(img), y=y, x=x, kwargs={"offset": 1.0})
    np.testing.assert_array_equal(eager.values, expected)
    with raise_if_dask_computes():
        lazy = map_regrid_xr(
            _gather, as_scene(da.from_array(img, chunks=chunks)), y=y, x=x, kwargs={"offset": 1.0}
        )
    assert lazy.shape == (2, *shape_out) and lazy.dims == ("band", "y", "x")
    # output chunks follow the input chunks, scaled
    in_chunks = da.from_array(img, chunks=chunks).chunks[1]
    assert lazy.data.chunks[1] == tuple(np.diff(regrid_bounds(in_chunks, 97, shape_out[0])))
    np.testing.assert_allclose(lazy.values, expected, rtol=0, atol=1e-12)


def test_map_regrid_rejects_bad_tables():
    img = as_scene(np.zeros((1, 10, 10)))
    good = (np.zeros((5, 1), dtype=np.int64), np.ones((5, 1)))
    with pytest.raises(InvalidParameterError, match="outside"):
        map_regrid_xr(_gather, img, y=(np.full((5, 1), 10), np.ones((5, 1))), x=good)
    with pytest.raises(InvalidParameterError, match="rows"):
        map_regrid_xr(_gather, img, y=good, x=(good[0], np.ones((4, 1))))


# -- graph helpers ---------------------------------------------------------------------------


def test_recompute_independently_renames_the_graph_and_keeps_values():
    a = as_scene(da.from_array(np.arange(100.0).reshape(1, 10, 10), chunks=(1, 5, 5)) + 1)
    b = recompute_independently(a)
    assert not set(dict(a.data.__dask_graph__())) & set(dict(b.data.__dask_graph__()))
    np.testing.assert_array_equal(a.values, b.values)
    eager = as_scene(np.ones((3, 3)))
    assert recompute_independently(eager) is eager


def test_lazy_call_defers_and_feeds_a_reduction():
    lazy = as_scene(da.ones((1, 40, 40), chunks=(1, 10, 10)))
    with raise_if_dask_computes():
        factor = lazy_call(float, lazy_call(np.add, 1.0, 2.0))
        chunk = lazy_call(functools.partial, _scaled_sum, factor=factor)
        res = reduce_blocks(chunk, sum, float, lazy, compute=False)
    assert dask.is_dask_collection(res)
    assert res.compute() == 3.0 * 1600


def _scaled_sum(block, info, *, factor):
    return factor * float(block.sum())


def test_lazy_array_wraps_a_deferred_ndarray():
    value = lazy_call(np.full, (2, 3), 7.0)
    arr = lazy_array(value, shape=(2, 3), dtype=np.float64)
    assert arr.shape == (2, 3) and arr.dtype == np.float64
    np.testing.assert_array_equal(np.where(arr > 0, arr, 0).compute(), np.full((2, 3), 7.0))


# -- array constructors ----------------------------------------------------------------------


def test_to_dask_blocks_is_zero_copy():
    img = np.arange(2 * 20 * 30, dtype=np.uint16).reshape(2, 20, 30)
    arr = to_dask_blocks(img, (-1, 8, 8))
    assert arr.chunks == ((2,), (8, 8, 4), (8, 8, 8, 6))
    shares = arr.map_blocks(
        lambda b: np.full((1, 1, 1), np.shares_memory(b, img)), chunks=(1, 1, 1), dtype=bool
    )
    assert shares.compute(scheduler="sync").all()  # every chunk is a view, not a copy
    np.testing.assert_array_equal(arr.compute(), img)


def test_rechunk_like():
    like = da.zeros((1, 20, 20), chunks=(1, 7, 9))
    out = rechunk_like(np.ones((1, 20, 20), dtype=bool), like)
    assert out.chunks == like.chunks and out.dtype == bool


@pytest.mark.parametrize("chunks", [(1, 5, 5), (1, 8, 3), (1, 101, 77)])
def test_coarsen_halve_is_a_2x2_mean_dropping_odd_edges(chunks):
    img = np.random.default_rng(3).integers(0, 1000, (1, 101, 77)).astype(np.uint16)
    expected = img[:, :100, :76].astype(np.float64).reshape(1, 50, 2, 38, 2).mean(axis=(2, 4))
    out = coarsen_halve(da.from_array(img, chunks=chunks))
    assert out.dtype == np.float64 and out.shape == (1, 50, 38)
    np.testing.assert_allclose(out.compute(), expected, rtol=0, atol=1e-12)
