"""Block reductions, flox style: ``chunk`` per block, ``combine`` partials, ``finalize``.

Blind metrics are sparse: a blockwise candidate search (with a small halo) returns a few
small partial results per chunk, which are combined as a chain in row-major order and
finalised eagerly. Memory is bounded by the chunk size, never by the scene size.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dask
import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from iqx.errors import HaloTooLargeError
from iqx.parallel.backend import as_scene, is_dask
from iqx.parallel.chunks import merge_chunks_for_halo
from iqx.parallel.overlap import Halo

__all__ = ["BlockInfo", "reduce_blocks", "reduce_blocks_leading"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class BlockInfo:
    """Where a block sits in the scene.

    Attributes
    ----------
    block_id : tuple of int
        ``(i, j)`` chunk index along ``y`` and ``x``.
    y0, x0 : int
        Global row/column of the block's first *core* pixel (halo excluded).
    halo_top, halo_left, halo_bottom, halo_right : int
        Halo actually present on each side (0 on the scene's border).
    shape : tuple of int
        ``(ny, nx)`` of the whole scene.
    """

    block_id: tuple[int, int]
    y0: int
    x0: int
    halo_top: int
    halo_left: int
    halo_bottom: int
    halo_right: int
    shape: tuple[int, int]


def reduce_blocks(
    chunk: Callable[..., T],
    combine: Callable[[list[T]], T],
    finalize: Callable[[T], R],
    image: xr.DataArray,
    *,
    halo: int | tuple[int, int] | Halo = 0,
    extra: Sequence[xr.DataArray] = (),
    split_every: int = 8,
    compute: bool = True,
    rechunk: bool = False,
    reuse_blocks: bool = False,
) -> R | Any:
    """Reduce a scene block by block.

    ``chunk(block, info, *extra_blocks)`` gets each ``(band, y, x)`` block extended by up to
    ``halo`` pixels of its neighbours (no padding on the scene border; ``info`` says what is
    there) and returns a small partial result. ``combine(list_of_partials)`` merges partials;
    ``finalize(partial)`` turns the last one into the answer.

    ``extra`` arrays (e.g. a validity mask) must have the image's shape and are chunked like
    it (NumPy extras of a dask image included). A NumPy-backed image is one block.

    A halo only reaches into neighbouring chunks, so along an axis with several chunks
    every chunk must be at least ``halo`` pixels: otherwise :class:`HaloTooLargeError` is
    raised, unless ``rechunk=True``, which merges the too-short chunks (typically the last,
    e.g. a 1040-pixel axis in 1024-pixel chunks) into their neighbour and leaves the others
    alone (:func:`iqx.parallel.chunks.merge_small_chunks`).

    For dask input each chunk task receives its own chunk plus copies of the thin halo
    strips of its neighbours (never a view that would keep a whole neighbour alive), and
    partials are combined in row-major order as a chain (``combine([running, p_k, ...])``
    with at most ``split_every`` items), so the scheduler walks the scene row by row: peak
    memory is about two rows of chunks plus the working set of the running tasks, whatever
    the scene size. ``combine`` must be associative (it always receives partials in
    row-major order).

    Parameters
    ----------
    chunk : callable or dask.delayed.Delayed
        ``chunk(block, info, *extra_blocks) -> partial``. May be a delayed value (e.g. a
        ``functools.partial`` built by :func:`iqx.parallel.lazy_call` from a first pass).
    combine : callable
        ``combine(list_of_partials) -> partial``, associative.
    finalize : callable
        ``finalize(partial) -> result``.
    image : xarray.DataArray
        Scene ``(band, y, x)``; the band axis is always one chunk.
    halo : int, (int, int) or Halo
        Neighbour pixels each block is extended by.
    extra : sequence of xarray.DataArray
        Arrays of the image's shape passed block by block after ``info``.
    split_every : int
        Partials merged per ``combine`` call (the running result included).
    compute : bool
        Compute now, or return a delayed value.
    rechunk : bool
        Merge chunks thinner than the halo into their neighbour instead of raising.
    reuse_blocks : bool
        Assemble each halo-extended block into a buffer the worker thread keeps for its
        next chunk (of the same shape and dtype) instead of a fresh array: a fresh
        multi-megabyte array costs its page faults (about 1 ms per 2 MB), as much as a
        kernel pass over it. Only for a ``chunk`` that keeps no reference to (or view of)
        its blocks in its result.

    Returns
    -------
    The finalised result, or a ``dask.delayed.Delayed`` if ``compute=False``.

    Raises
    ------
    HaloTooLargeError
        If a chunk is thinner than the halo along an axis with several chunks and
        ``rechunk`` is False.
    """
    return _reduce(
        chunk,
        combine,
        finalize,
        image,
        halo,
        extra,
        split_every,
        compute,
        True,
        rechunk,
        reuse_blocks,
    )


def reduce_blocks_leading(
    chunk: Callable[..., T],
    combine: Callable[[list[T]], T],
    finalize: Callable[[T], R],
    image: xr.DataArray,
    *,
    halo: int | tuple[int, int] | Halo = 0,
    extra: Sequence[xr.DataArray] = (),
    split_every: int = 8,
    compute: bool = True,
    rechunk: bool = False,
    reuse_blocks: bool = False,
) -> R | Any:
    """:func:`reduce_blocks` with a *leading* halo only: streaming memory for any scene.

    Like :func:`reduce_blocks`, but each block is extended by up to ``halo`` pixels of the
    neighbours that **precede** it (above and to the left) only; ``info.halo_bottom`` and
    ``info.halo_right`` are always 0. A chunk's task then depends only on chunks that come
    before it in row-major order, so every source chunk is released as soon as its own task
    and the copies of its (thin) bottom/right strips are done: peak memory is about
    ``threads x (chunk working set)`` plus one row of halo strips, whatever the scene size
    (a symmetric halo must keep the previous row of whole chunks alive until the next row is
    read).

    An operation that needs ``h`` pixels on both sides of what it measures fits this form
    by *ownership shifting*: a chunk measures the items whose neighbourhood **ends** in its
    core (e.g. a ``size x size`` block owned by the chunk holding its last pixel, with
    ``halo = size - 1``; a 3 x 3 stencil at pixel ``p`` owned by the chunk holding ``p + 1``,
    with ``halo = 2``), and the last chunk along an axis also owns the items that reach
    the scene's end. Every item is then measured exactly once for any chunking.

    Parameters, returns and ``rechunk`` are those of :func:`reduce_blocks`.
    """
    return _reduce(
        chunk,
        combine,
        finalize,
        image,
        halo,
        extra,
        split_every,
        compute,
        False,
        rechunk,
        reuse_blocks,
    )


def reduce_block(
    chunk: Callable[..., T],
    combine: Callable[[list[T]], T],
    finalize: Callable[[T], R],
    block: np.ndarray,
    *extra: np.ndarray,
) -> R:
    """What :func:`reduce_blocks` computes for a NumPy-backed scene (one block, no halo),
    straight from the arrays: ``finalize(combine([chunk(block, info, *extra)]))``.

    For callers that already hold the ``(band, y, x)`` arrays of a small image: the same
    calls on the same arrays as :func:`reduce_blocks`, without wrapping them in DataArrays.
    """
    info = BlockInfo((0, 0), 0, 0, 0, 0, 0, 0, (block.shape[-2], block.shape[-1]))
    return finalize(combine([chunk(block, info, *extra)]))


def _reduce(
    chunk: Callable,
    combine: Callable,
    finalize: Callable,
    image: xr.DataArray,
    halo: Any,
    extra: Sequence[xr.DataArray],
    split_every: int,
    compute: bool,
    after: bool,
    rechunk: bool = False,
    reuse_blocks: bool = False,
) -> Any:
    image = as_scene(image)
    halo = Halo.of(halo)
    ny, nx = image.sizes["y"], image.sizes["x"]
    if not is_dask(image):
        blocks = [np.asarray(e.data) for e in extra]
        result = reduce_block(chunk, combine, finalize, np.asarray(image.data), *blocks)
        return result if compute else dask.delayed(lambda r: r)(result)

    data = image.data.rechunk({0: -1})
    if rechunk:
        data = merge_chunks_for_halo(data, halo.y, halo.x)
    arrays = [data] + [_like(as_scene(e).data, data) for e in extra]
    chunks_y, chunks_x = data.chunks[1], data.chunks[2]
    # a halo only reaches into neighbouring chunks: a single chunk along an axis needs none
    if (len(chunks_y) > 1 and min(chunks_y) < halo.y) or (
        len(chunks_x) > 1 and min(chunks_x) < halo.x
    ):
        raise HaloTooLargeError(
            f"halo {halo} larger than the smallest chunk "
            f"({min(chunks_y)} x {min(chunks_x)}); rechunk the scene or pass rechunk=True"
        )
    result = _reduction_graph(
        chunk, combine, finalize, arrays, halo, (ny, nx), split_every, after, reuse_blocks
    )
    return result.compute() if compute else result


def _like(array: Any, data: da.Array) -> da.Array:
    """``array`` (dask or NumPy) as a dask array chunked like ``data``."""
    if not isinstance(array, da.Array):
        array = da.from_array(np.asarray(array), chunks=data.chunks)
    return array.rechunk(data.chunks)


def _side(offset: int, depth: int) -> slice:
    """Rows/columns of a neighbour at ``offset`` (-1 before, 0 same, +1 after) in the halo."""
    if offset < 0:
        return slice(-depth, None)
    return slice(0, depth) if offset > 0 else slice(None)


def _take(block: np.ndarray, index: tuple[slice, ...]) -> np.ndarray:
    """A *copy* of a halo strip, so that the neighbour chunk can be released early."""
    return np.array(block[index], copy=True)


#: bytes of assembled blocks a worker thread keeps for its next chunks (``reuse_blocks``)
MAX_REUSED_BYTES = 32 * 2**20

_LOCAL = threading.local()


def _reused(index: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """This thread's buffer for assembled block number ``index`` of this shape and dtype.

    Kept between tasks, one per ``(index, shape, dtype)`` (a chunking has a few extended
    shapes: first row, first column, the others), the oldest dropped beyond
    :data:`MAX_REUSED_BYTES` per thread.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes > MAX_REUSED_BYTES:
        return np.empty(shape, dtype)
    pool = getattr(_LOCAL, "blocks", None)
    if pool is None:
        pool = _LOCAL.blocks = {}
    key = (index, tuple(shape), dtype.str)
    buf = pool.pop(key, None)
    if buf is None:
        while pool and sum(b.nbytes for b in pool.values()) + nbytes > MAX_REUSED_BYTES:
            pool.pop(next(iter(pool)))
        buf = np.empty(shape, dtype)
    pool[key] = buf  # (re)inserted last: the most recently used
    return buf


def _assemble(
    grid: list[list[np.ndarray | None]], alloc: Callable[..., np.ndarray] = np.empty
) -> np.ndarray:
    """One block from a 3 x 3 grid of pieces (core in the centre; None where absent),
    written into ``alloc(shape, dtype)``."""
    rows = [[p for p in row if p is not None] for row in grid]
    rows = [r for r in rows if r]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    core = grid[1][1]
    ny = sum(r[0].shape[1] for r in rows)
    nx = sum(p.shape[2] for p in rows[0])
    out = alloc((core.shape[0], ny, nx), core.dtype)
    y = 0
    for r in rows:
        x = 0
        for p in r:
            out[:, y : y + p.shape[1], x : x + p.shape[2]] = p
            x += p.shape[2]
        y += r[0].shape[1]
    return out


def _run_chunk(chunk: Callable, info: BlockInfo, grids: list, reuse: bool = False) -> Any:
    if reuse:
        blocks = [_assemble(g, functools.partial(_reused, k)) for k, g in enumerate(grids)]
    else:
        blocks = [_assemble(g) for g in grids]
    return chunk(blocks[0], info, *blocks[1:])


def _block_info(
    i: int,
    j: int,
    ys: np.ndarray,
    xs: np.ndarray,
    halo: Halo,
    shape: tuple[int, int],
    after: bool = True,
) -> BlockInfo:
    """BlockInfo of chunk ``(i, j)`` given the chunk edges ``ys``/``xs``."""
    return BlockInfo(
        block_id=(i, j),
        y0=int(ys[i]),
        x0=int(xs[j]),
        halo_top=halo.y if i > 0 else 0,
        halo_left=halo.x if j > 0 else 0,
        halo_bottom=halo.y if after and i < len(ys) - 2 else 0,
        halo_right=halo.x if after and j < len(xs) - 2 else 0,
        shape=shape,
    )


def _halo_grids(
    arrays: Sequence[da.Array],
    i: int,
    j: int,
    halo: Halo,
    name: str,
    dsk: dict,
    after: bool = True,
) -> list[list[list[Any]]]:
    """Per array, the 3 x 3 grid of keys that :func:`_assemble` turns into chunk ``(i, j)``
    extended by ``halo`` (core key in the centre, halo-strip copy tasks added to ``dsk``);
    with ``after=False`` only the preceding neighbours (above, left) contribute."""
    niy, nix = len(arrays[0].chunks[1]), len(arrays[0].chunks[2])
    offsets = (-1, 0, 1) if after else (-1, 0)
    grids = []
    for k, a in enumerate(arrays):
        grid: list[list[Any]] = [[None] * 3 for _ in range(3)]
        for di in offsets:
            if not 0 <= i + di < niy or (di and not halo.y):
                continue
            for dj in offsets:
                if not 0 <= j + dj < nix or (dj and not halo.x):
                    continue
                src = (a.name, 0, i + di, j + dj)
                if di == 0 and dj == 0:
                    grid[1][1] = src
                    continue
                if not after:  # one task per source chunk cuts all its strips
                    grid[di + 1][dj + 1] = _leading_strip(src, di, dj, halo, name, k, dsk)
                    continue
                index = (slice(None), _side(di, halo.y), _side(dj, halo.x))
                key = (f"{name}-halo", k, i, j, di + 1, dj + 1)
                dsk[key] = (_take, src, index)
                grid[di + 1][dj + 1] = key
        grids.append(grid)
    return grids


def _strips(block: np.ndarray, hy: int, hx: int) -> tuple[Any, Any, Any]:
    """Copies of the strips of ``block`` its successors need as a leading halo: the last
    ``hy`` rows (for the chunk below), the last ``hx`` columns (right) and their corner
    (below right); None for a zero depth."""
    bottom = _take(block, (slice(None), slice(-hy, None), slice(None))) if hy else None
    right = _take(block, (slice(None), slice(None), slice(-hx, None))) if hx else None
    corner = _take(block, (slice(None), slice(-hy, None), slice(-hx, None))) if hy and hx else None
    return bottom, right, corner


def _leading_strip(src: tuple, di: int, dj: int, halo: Halo, name: str, k: int, dsk: dict) -> tuple:
    """The inline task picking the strip of source chunk ``src`` that its successor at
    offset ``(-di, -dj)`` needs, adding the source's :func:`_strips` task to ``dsk`` once.

    One strips task per source chunk instead of one copy task per (chunk, neighbour)
    pair: a 4 x 4 chunking needs 15 tasks instead of 33, and each task costs the threaded
    scheduler about as much as copying a strip.
    """
    key = (f"{name}-strips", k, *src[2:])
    if key not in dsk:
        dsk[key] = (_strips, src, halo.y, halo.x)
    which = {(-1, 0): 0, (0, -1): 1, (-1, -1): 2}[(di, dj)]
    return (operator.getitem, key, which)


def _reduction_graph(
    chunk: Callable,
    combine: Callable,
    finalize: Callable,
    arrays: list[da.Array],
    halo: Halo,
    shape: tuple[int, int],
    split_every: int,
    after: bool = True,
    reuse: bool = False,
) -> Delayed:
    """The task graph of :func:`reduce_blocks` for dask arrays, built directly.

    Each chunk task receives its core block plus *copies* of the thin halo strips of its
    (up to 8) neighbours and assembles the extended block itself, so the extended block is
    transient and no task holds a view on (hence keeps alive) a whole neighbour chunk.
    """
    chunks_y, chunks_x = arrays[0].chunks[1], arrays[0].chunks[2]
    niy, nix = len(chunks_y), len(chunks_x)
    ys = np.concatenate([[0], np.cumsum(chunks_y)])
    xs = np.concatenate([[0], np.cumsum(chunks_x)])
    chunk_dep: list[Any] = []
    chunk_arg: Any = chunk
    if isinstance(chunk, Delayed):  # e.g. a chunk function that depends on a first pass
        chunk_dep, chunk_arg = [chunk], chunk.key
    token = tokenize(
        [a.name for a in arrays], chunk_arg, combine, finalize, halo, split_every, after, reuse
    )
    name = f"iqx-reduce-{token}"
    dsk: dict[Any, Any] = {}
    partial_keys = []
    for i in range(niy):
        for j in range(nix):
            info = _block_info(i, j, ys, xs, halo, shape, after)
            grids = _halo_grids(arrays, i, j, halo, name, dsk, after)
            key = (f"{name}-chunk", i, j)
            dsk[key] = (_run_chunk, chunk_arg, info, grids, reuse)
            partial_keys.append(key)
    # Combine as a chain in row-major order: each step merges the running result with the
    # next ``split_every - 1`` partials. A balanced tree lets dask.order visit the chunks of
    # far-apart groups in turn, keeping many half-consumed source chunks (whose halo strips
    # are still needed) alive: ~600 MB instead of ~240 MB on a 20000² uint16 scene in 2048²
    # chunks. The chain makes the traversal follow the rows, so about two rows of source
    # chunks are alive at once; the order of partials given to ``combine`` is unchanged.
    step = max(split_every - 1, 1)
    acc = partial_keys[0]
    for g in range(1, len(partial_keys), step):
        key = (f"{name}-combine", g)
        dsk[key] = (combine, [acc, *partial_keys[g : g + step]])
        acc = key
    dsk[name] = (finalize, acc)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[*arrays, *chunk_dep])
    return Delayed(name, graph)
