"""Dask array constructors and reshapers for the metrics: zero-copy wrapping, alignment,
2 x 2 coarsening.

They take and return plain arrays (not DataArrays), so that metrics can build lazy
array expressions without importing dask. Generic arithmetic on the returned arrays
(``np.where``, ``np.maximum``, ``np.stack``, ``np.concatenate``, reductions) works through
NumPy's dispatch protocols and stays lazy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dask.array as da
import numpy as np

__all__ = ["coarsen_halve", "rechunk_like", "to_dask_blocks"]


class _Blocks:
    """Read-only window onto a NumPy array for :func:`dask.array.from_array`.

    ``from_array`` copies an ndarray it is given (and hashes it unless ``name=False``);
    iqx computes NumPy input eagerly, so the chunks can simply be views.
    """

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim

    def __getitem__(self, index: Any) -> np.ndarray:
        return self.array[index]


def to_dask_blocks(array: np.ndarray, chunks: Any) -> da.Array:
    """Wrap a NumPy array as a dask array whose chunks are *views* (no copy, no hashing).

    Meant for NumPy input that is computed at once with a chunked algorithm (e.g. to run
    a block reduction on every core). The array must not be modified while the result is
    in use: the graph gets a unique random name instead of a content hash, and the chunks
    alias the array.

    Parameters
    ----------
    array : numpy.ndarray
        Data to wrap.
    chunks : chunks specification
        As for :func:`dask.array.from_array` (e.g. ``(-1, 1024, 1024)`` or another array's
        ``.chunks``).

    Returns
    -------
    dask.array.Array
    """
    array = np.asarray(array)
    return da.from_array(
        _Blocks(array),
        chunks=chunks,
        name=False,
        asarray=False,
        fancy=False,
        meta=np.empty((0,) * array.ndim, dtype=array.dtype),
    )


def rechunk_like(array: Any, like: da.Array) -> da.Array:
    """``array`` (NumPy or dask) as a dask array chunked exactly like ``like``.

    Parameters
    ----------
    array : array-like
        Data of ``like``'s shape.
    like : dask.array.Array
        Array whose chunks to copy.

    Returns
    -------
    dask.array.Array
    """
    return da.asarray(array).rechunk(like.chunks)


def _even(sizes: Sequence[int], total: int) -> tuple[int, ...]:
    c = max(sizes)
    c += c % 2
    c = max(c, 2)
    out = [c] * (total // c)
    if total % c:
        out.append(total % c)
    return tuple(out)


def coarsen_halve(array: da.Array) -> da.Array:
    """2 x 2 block mean of a ``(band, y, x)`` dask array, in float64 (one dyadic scale down).

    An odd trailing row/column is dropped first, then the array is rechunked to even
    chunks (the largest chunk rounded up to even, regular) so every 2 x 2 block lies in one
    chunk; each output value is ``np.mean`` of its four inputs.

    Parameters
    ----------
    array : dask.array.Array
        ``(band, y, x)`` data of any real dtype.

    Returns
    -------
    dask.array.Array
        ``(band, y // 2, x // 2)`` float64.
    """
    ny, nx = array.shape[1] // 2 * 2, array.shape[2] // 2 * 2
    a = array[:, :ny, :nx].astype(np.float64)
    a = a.rechunk({1: _even(a.chunks[1], ny), 2: _even(a.chunks[2], nx)})
    return da.coarsen(np.mean, a, {1: 2, 2: 2})
