"""Block reductions, flox style: ``chunk`` per block, ``combine`` partials, ``finalize``.

Blind metrics are sparse: a blockwise candidate search (with a small halo) returns a few
small partial results per chunk, which are combined in a tree and finalised eagerly. Memory
is bounded by the chunk size, never by the scene size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import dask
import dask.array as da
import numpy as np
import xarray as xr

from iqx.errors import HaloTooLargeError
from iqx.parallel.backend import as_scene, is_dask
from iqx.parallel.overlap import Halo

__all__ = ["BlockInfo", "reduce_blocks"]

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


def _tree_combine(partials: Sequence[Any], combine: Callable, split_every: int) -> Any:
    level = list(partials)
    while len(level) > 1:
        level = [
            dask.delayed(combine)(level[i : i + split_every])
            for i in range(0, len(level), split_every)
        ]
    return level[0]


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
) -> R | Any:
    """Reduce a scene block by block.

    ``chunk(block, info, *extra_blocks)`` gets each ``(band, y, x)`` block extended by up to
    ``halo`` pixels of its neighbours (no padding on the scene border; ``info`` says what is
    there) and returns a small partial result. ``combine(list_of_partials)`` merges partials;
    ``finalize(partial)`` turns the last one into the answer.

    ``extra`` arrays (e.g. a validity mask) must have the image's shape and are chunked like
    it. A NumPy-backed image is one block.

    Returns
    -------
    The finalised result, or a ``dask.delayed.Delayed`` if ``compute=False``.
    """
    image = as_scene(image)
    halo = Halo.of(halo)
    ny, nx = image.sizes["y"], image.sizes["x"]
    if not is_dask(image):
        info = BlockInfo((0, 0), 0, 0, 0, 0, 0, 0, (ny, nx))
        blocks = [np.asarray(e.data) for e in extra]
        part = chunk(np.asarray(image.data), info, *blocks)
        result = finalize(combine([part]))
        return result if compute else dask.delayed(lambda r: r)(result)

    data = image.data.rechunk({0: -1})
    arrays = [data] + [as_scene(e).data.rechunk(data.chunks) for e in extra]
    chunks_y, chunks_x = data.chunks[1], data.chunks[2]
    if (halo.y and min(chunks_y) < halo.y) or (halo.x and min(chunks_x) < halo.x):
        raise HaloTooLargeError(
            f"halo {halo} larger than the smallest chunk "
            f"({min(chunks_y)} x {min(chunks_x)}); rechunk the scene"
        )
    if halo.y or halo.x:
        arrays = [
            da.overlap.overlap(a, depth={0: 0, 1: halo.y, 2: halo.x}, boundary="none")
            for a in arrays
        ]
    delayed_blocks = [a.to_delayed() for a in arrays]
    ys = np.concatenate([[0], np.cumsum(chunks_y)])
    xs = np.concatenate([[0], np.cumsum(chunks_x)])
    partials = []
    for i in range(len(chunks_y)):
        for j in range(len(chunks_x)):
            info = BlockInfo(
                block_id=(i, j),
                y0=int(ys[i]),
                x0=int(xs[j]),
                halo_top=halo.y if i > 0 else 0,
                halo_left=halo.x if j > 0 else 0,
                halo_bottom=halo.y if i < len(chunks_y) - 1 else 0,
                halo_right=halo.x if j < len(chunks_x) - 1 else 0,
                shape=(ny, nx),
            )
            blocks = [d[0, i, j] for d in delayed_blocks]
            partials.append(dask.delayed(chunk)(blocks[0], info, *blocks[1:]))
    result = dask.delayed(finalize)(_tree_combine(partials, combine, split_every))
    return result.compute() if compute else result
