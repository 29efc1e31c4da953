"""The dask layer: halos, boundaries, block ids, reductions, laziness."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from iqx.errors import HaloTooLargeError, InvalidParameterError
from iqx.parallel import (
    as_scene,
    block_rng,
    map_blocks_xr,
    map_overlap_xr,
    reduce_blocks,
)
from iqx.testing import raise_if_dask_computes

CHUNKINGS = [(1, 64, 64), (1, 17, 23), (1, 100, 9), (1, 128, 128)]


def _box3(block):
    # a 3x3 mean over y, x of each band; edges computed on whatever the block holds
    return ndi.uniform_filter(block.astype(np.float64), size=(1, 3, 3), mode="nearest")


@pytest.mark.parametrize(
    "boundary, scipy_mode", [("reflect", "reflect"), ("nearest", "nearest"), ("wrap", "wrap")]
)
@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_map_overlap_matches_scipy_for_any_chunking(boundary, scipy_mode, chunks):
    rng = np.random.default_rng(0)
    img = rng.random((2, 128, 128))
    expected = ndi.uniform_filter(img, size=(1, 5, 5), mode=scipy_mode)

    def box5(block):
        return ndi.uniform_filter(block, size=(1, 5, 5), mode="constant")

    with raise_if_dask_computes():
        lazy = map_overlap_xr(
            box5, as_scene(da.from_array(img, chunks=chunks)), halo=2, boundary=boundary
        )
    np.testing.assert_allclose(lazy.values, expected, rtol=0, atol=1e-12)
    eager = map_overlap_xr(box5, as_scene(img), halo=2, boundary=boundary)
    np.testing.assert_allclose(eager.values, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("boundary", ["reflect", "nearest", "wrap"])
@pytest.mark.parametrize("halo", [(3, 1), (0, 4), (2, 0)])
@pytest.mark.parametrize("chunks", [(1, 10, 40), (2, 50, 7), (3, 41, 41)])
def test_map_overlap_uneven_halo_and_band_chunks(boundary, halo, chunks):
    # y and x halos differ (or one is 0), bands are chunked, edge chunks are ragged and
    # dtype changes: every output chunk equals SciPy on the whole image
    rng = np.random.default_rng(1)
    img = rng.integers(0, 1000, (3, 73, 61)).astype(np.uint16)
    size = (1, 2 * halo[0] + 1, 2 * halo[1] + 1)
    expected = ndi.uniform_filter(img.astype(np.float64), size=size, mode=boundary)

    def box(block):
        return ndi.uniform_filter(block.astype(np.float64), size=size, mode="constant")

    lazy = map_overlap_xr(
        box,
        as_scene(da.from_array(img, chunks=chunks)),
        halo=halo,
        boundary=boundary,
        dtype=np.float64,
    )
    assert lazy.dtype == np.float64 and lazy.data.chunks == da.from_array(img, chunks).chunks
    np.testing.assert_allclose(lazy.values, expected, rtol=0, atol=1e-9)


def test_halo_larger_than_chunk_raises_unless_rechunk():
    img = as_scene(da.zeros((1, 100, 100), chunks=(1, 10, 10)))
    with pytest.raises(HaloTooLargeError, match="halo"):
        map_overlap_xr(_box3, img, halo=12)
    out = map_overlap_xr(_box3, img, halo=12, rechunk=True)
    assert out.shape == (1, 100, 100)


def test_bad_boundary_is_rejected():
    with pytest.raises(InvalidParameterError, match="boundary"):
        map_overlap_xr(_box3, as_scene(np.zeros((4, 4))), halo=1, boundary="mirror-ish")


def test_map_blocks_passes_block_id_and_numpy_is_one_block():
    def tag(block, block_id=None):
        return np.full(block.shape, block_id[1] * 10 + block_id[2], dtype=np.int32)

    img = as_scene(da.zeros((1, 20, 20), chunks=(1, 10, 10)))
    out = map_blocks_xr(tag, img, dtype=np.int32, pass_block_id=True).values
    assert out[0, 0, 0] == 0 and out[0, 0, 19] == 1 and out[0, 19, 0] == 10 and out[0, 19, 19] == 11
    eager = map_blocks_xr(tag, as_scene(np.zeros((20, 20))), dtype=np.int32, pass_block_id=True)
    assert np.all(eager.values == 0)


def test_block_rng_depends_only_on_seed_and_block():
    a = block_rng(3, (0, 1, 2)).standard_normal(5)
    b = block_rng(3, (0, 1, 2)).standard_normal(5)
    c = block_rng(3, (0, 2, 1)).standard_normal(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(InvalidParameterError):
        block_rng(-1, (0,))


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_reduce_blocks_sees_halo_and_global_offsets(chunks):
    img = np.arange(128 * 128, dtype=np.float64).reshape(1, 128, 128)

    def chunk(block, info):
        core = block[
            :,
            info.halo_top : block.shape[1] - info.halo_bottom,
            info.halo_left : block.shape[2] - info.halo_right,
        ]
        # the core's first pixel encodes its global position
        assert core[0, 0, 0] == info.y0 * 128 + info.x0
        return [float(core.sum()), core.size]

    def combine(parts):
        return [sum(p[0] for p in parts), sum(p[1] for p in parts)]

    lazy = as_scene(da.from_array(img, chunks=chunks))
    with raise_if_dask_computes():
        delayed = reduce_blocks(
            chunk, combine, tuple, lazy, halo=3 if chunks != (1, 100, 9) else 2, compute=False
        )
    total, count = delayed.compute()
    assert count == img.size and total == img.sum()
    assert reduce_blocks(chunk, combine, tuple, as_scene(img)) == (img.sum(), img.size)


@pytest.mark.parametrize("leading", [False, True])
def test_reduce_blocks_reused_buffers_hold_each_extended_block(leading):
    """With ``reuse_blocks`` every chunk still sees exactly its halo-extended window of the
    scene (compared with slicing the NumPy array), while one thread assembles the blocks
    of equal shape into one buffer."""
    import dask

    from iqx.parallel import reduce_blocks_leading

    rng = np.random.default_rng(3)
    img = rng.integers(0, 60000, (2, 96, 80), dtype=np.uint16)
    halo = 5
    seen_buffers = set()

    def chunk(block, info):
        y0, x0 = info.y0 - info.halo_top, info.x0 - info.halo_left
        ref = img[:, y0 : y0 + block.shape[1], x0 : x0 + block.shape[2]]
        assert block.shape[1] == ref.shape[1] and block.shape[2] == ref.shape[2]
        np.testing.assert_array_equal(block, ref)
        seen_buffers.add(block.__array_interface__["data"][0])
        return [int(block.sum(dtype=np.int64))]

    def combine(parts):
        return [sum(p[0] for p in parts)]

    reduce = reduce_blocks_leading if leading else reduce_blocks
    lazy = as_scene(da.from_array(img, chunks=(2, 24, 20)))
    with dask.config.set(scheduler="sync"):
        fresh = reduce(chunk, combine, list, lazy, halo=halo)
        seen_buffers.clear()
        total = reduce(chunk, combine, list, lazy, halo=halo, reuse_blocks=True)
    assert total == fresh
    # 16 chunks but 4 (leading halo; the first is its core alone) or 9 extended shapes:
    # each shape's buffer is reused
    assert len(seen_buffers) <= (4 if leading else 9)
