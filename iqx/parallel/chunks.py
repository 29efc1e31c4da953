"""Chunk-size arithmetic shared by the halo-aware wrappers (explicit rechunking only).

A halo reaches into neighbouring chunks, so no chunk may be thinner than the halo along an
axis with several chunks. The wrappers never rechunk silently: they raise
:class:`~iqx.errors.HaloTooLargeError` unless the caller passes ``rechunk=True``, and then
use one of the layouts below.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["merge_small_chunks", "merge_chunks_for_halo", "regular_chunks_at_least"]


def regular_chunks_at_least(size: int, chunk: int) -> tuple[int, ...]:
    """Regular chunks of ``chunk`` pixels whose last one is merged into its neighbour if short.

    Parameters
    ----------
    size : int
        Length of the axis.
    chunk : int
        Target chunk length (> 0).

    Returns
    -------
    tuple of int
        Chunk sizes summing to ``size``; every chunk is ``>= chunk`` unless there is only one.

    Examples
    --------
    >>> regular_chunks_at_least(1040, 1024)
    (1040,)
    >>> regular_chunks_at_least(2500, 1000)
    (1000, 1500)
    """
    sizes = [chunk] * (size // chunk) + ([size % chunk] if size % chunk else [])
    if len(sizes) > 1 and sizes[-1] < chunk:
        last = sizes.pop()  # (``sizes[-2] += sizes.pop()`` would index after the pop)
        sizes[-1] += last
    return tuple(sizes)


def merge_small_chunks(sizes: Sequence[int], minimum: int) -> tuple[int, ...]:
    """Merge every chunk shorter than ``minimum`` into a neighbour; leave the others alone.

    Walking the axis from its start, a chunk is appended to the previous one when either of
    them is shorter than ``minimum``. Chunks that are already long enough (and not next to a
    short one) keep their size, so the data movement is limited to the short chunks.

    Parameters
    ----------
    sizes : sequence of int
        Chunk sizes along one axis.
    minimum : int
        Smallest allowed chunk (typically the halo depth).

    Returns
    -------
    tuple of int
        New chunk sizes with the same total; every chunk is ``>= minimum`` unless the whole
        axis is shorter than ``minimum`` (then it is one chunk). Unchanged when no chunk is
        too short.

    Examples
    --------
    >>> merge_small_chunks((1024, 16), 5)
    (1024, 16)
    >>> merge_small_chunks((1024, 4), 5)
    (1028,)
    >>> merge_small_chunks((3, 100, 100), 5)
    (103, 100)
    """
    out: list[int] = []
    for s in sizes:
        if out and (s < minimum or out[-1] < minimum):
            out[-1] += s
        else:
            out.append(s)
    return tuple(out)


def merge_chunks_for_halo(data: Any, halo_y: int, halo_x: int) -> Any:
    """Rechunk a ``(band, y, x)`` dask array so that a halo fits, merging short chunks only.

    Along ``y`` (``x``), when the axis has several chunks and one is shorter than ``halo_y``
    (``halo_x``), the chunks are replaced by :func:`merge_small_chunks`; an axis that needs
    no change is left as it is, and an array that needs none is returned unchanged (same
    graph).

    Parameters
    ----------
    data : dask.array.Array
        ``(band, y, x)`` array.
    halo_y, halo_x : int
        Halo depth along ``y`` and ``x``.

    Returns
    -------
    dask.array.Array
        ``data`` itself, or ``data.rechunk(...)`` along the axes that needed it.
    """
    new = {}
    for axis, depth in ((1, halo_y), (2, halo_x)):
        sizes = data.chunks[axis]
        if len(sizes) > 1 and min(sizes) < depth:
            new[axis] = merge_small_chunks(sizes, depth)
    return data.rechunk(new) if new else data
