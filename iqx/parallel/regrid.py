"""Grid-changing maps: every output chunk is computed from the input window it reads.

A separable regridding (resampling, any warp that is a product of a ``y`` and an ``x``
table) reads, for output row ``i``, the input rows ``index_y[i, :]``; likewise for columns.
:func:`map_regrid_xr` cuts the output grid into chunks that follow the input chunks
(scaled), slices for each output chunk the input window its tables read, and runs the
kernel on that window alone: one task per output chunk, memory bounded by a few chunks,
and the same arithmetic as on the whole image (so the result does not depend on the
chunking).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.parallel.backend import as_scene, is_dask

__all__ = ["map_regrid_xr", "regrid_bounds"]


def regrid_bounds(in_chunks: Sequence[int], n_in: int, n_out: int) -> list[int]:
    """Output chunk edges that follow the input chunk edges, scaled by ``n_out / n_in``.

    Parameters
    ----------
    in_chunks : sequence of int
        Input chunk sizes along the axis.
    n_in, n_out : int
        Input and output lengths of the axis.

    Returns
    -------
    list of int
        Sorted distinct edges from 0 to ``n_out`` (each input edge ``b`` maps to
        ``round(b * n_out / n_in)``).
    """
    bounds = np.concatenate([[0], np.cumsum(in_chunks)])
    return sorted({round(int(b) * n_out / n_in) for b in bounds} | {0, n_out})


def _check_tables(name: str, tables: Sequence[np.ndarray], n_in: int) -> None:
    if not tables:
        raise InvalidParameterError(f"map_regrid_xr: {name} needs at least an index table")
    index = np.asarray(tables[0])
    if index.ndim != 2 or index.size == 0:
        raise InvalidParameterError(
            f"map_regrid_xr: {name} index table must be (n_out, taps), got shape {index.shape}"
        )
    if index.min() < 0 or index.max() >= n_in:
        raise InvalidParameterError(
            f"map_regrid_xr: {name} index table reads outside the input axis (0..{n_in - 1})"
        )
    for t in tables[1:]:
        if len(t) != len(index):
            raise InvalidParameterError(
                f"map_regrid_xr: {name} tables must all have {len(index)} rows"
            )


def _regrid_dask(
    kernel: Callable[..., np.ndarray],
    data: da.Array,
    y: Sequence[np.ndarray],
    x: Sequence[np.ndarray],
    dtype: np.dtype,
    kwargs: dict[str, Any],
) -> da.Array:
    idx_y, *rest_y = y
    idx_x, *rest_x = x
    # lazy kwargs go through dask (computed once, before the kernels run)
    lazy = {k: v for k, v in kwargs.items() if hasattr(v, "__dask_graph__")}
    kwargs = {k: v for k, v in kwargs.items() if k not in lazy}
    ny_o, nx_o = idx_y.shape[0], idx_x.shape[0]
    yb = regrid_bounds(data.chunks[1], data.shape[1], ny_o)
    xb = regrid_bounds(data.chunks[2], data.shape[2], nx_o)
    band_blocks = []
    b0 = 0
    for cb in data.chunks[0]:
        rows = []
        for y0, y1 in itertools.pairwise(yb):
            iy = idx_y[y0:y1]
            ys0, ys1 = int(iy.min()), int(iy.max()) + 1
            row = []
            for x0, x1 in itertools.pairwise(xb):
                ix = idx_x[x0:x1]
                xs0, xs1 = int(ix.min()), int(ix.max()) + 1
                window = data[b0 : b0 + cb, ys0:ys1, xs0:xs1].rechunk(-1)
                tables_y = (iy - ys0, *(t[y0:y1] for t in rest_y))
                tables_x = (ix - xs0, *(t[x0:x1] for t in rest_x))
                fn = functools.partial(
                    _call_on_window, kernel=kernel, args=(*tables_y, *tables_x), kwargs=kwargs
                )
                row.append(
                    window.map_blocks(
                        fn,
                        chunks=(cb, y1 - y0, x1 - x0),
                        dtype=dtype,
                        meta=np.array((), dtype=dtype),
                        **lazy,
                    )
                )
            rows.append(row)
        band_blocks.append(da.block(rows))
        b0 += cb
    return band_blocks[0] if len(band_blocks) == 1 else da.concatenate(band_blocks, axis=0)


def _call_on_window(
    window: np.ndarray,
    *,
    kernel: Callable[..., np.ndarray],
    args: tuple[np.ndarray, ...],
    kwargs: dict[str, Any],
    **computed: Any,
) -> np.ndarray:
    """``kernel(window, *args, **kwargs)``: the window first, then its sliced tables
    (``computed``: the lazy keyword values, computed by dask)."""
    return kernel(window, *args, **kwargs, **computed)


def map_regrid_xr(
    kernel: Callable[..., np.ndarray],
    image: xr.DataArray,
    *,
    y: Sequence[np.ndarray],
    x: Sequence[np.ndarray],
    dtype: Any = None,
    kwargs: dict[str, Any] | None = None,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Apply a separable grid-changing kernel chunk by chunk of the *output* grid.

    ``y = (index_y, *arrays_y)``: ``index_y`` is an ``(ny_out, taps)`` integer table of the
    input rows output row ``i`` reads; ``arrays_y`` are further per-output-row tables (e.g.
    tap weights) sliced with it. ``x`` likewise for columns. The kernel is called as::

        kernel(window, index_y, *arrays_y, index_x, *arrays_x, **kwargs)

    on a ``(band, y, x)`` NumPy window that holds every input sample the given tables read,
    with the index tables made relative to the window; it returns the
    ``(band, len(index_y), len(index_x))`` output block. Output chunk edges follow the
    input chunk edges scaled by ``n_out / n_in`` (:func:`regrid_bounds`); every output chunk
    is one task reading only its window, so memory stays bounded by a few chunks, and a
    kernel whose output row depends only on the samples its table lists gives the same
    result for NumPy input and for any chunking. NumPy input is one call on the whole image
    with the tables unchanged.

    Parameters
    ----------
    kernel : callable
        NumPy kernel (see above); picklable for distributed workers.
    image : xarray.DataArray
        Scene ``(band, y, x)``.
    y, x : sequence of numpy.ndarray
        Index table first, then per-output-row (column) tables.
    dtype : dtype, optional
        Output dtype (default: the input's).
    kwargs : dict, optional
        Extra keyword arguments for the kernel. Lazy values among them (a ``lazy_call``
        result, e.g. a clipping bound from a measured bit depth) are computed once, before
        the kernel runs, and passed as concrete values.
    attrs : dict, optional
        Attributes of the result (default: the input's).

    Returns
    -------
    xarray.DataArray
        ``(band, ny_out, nx_out)`` with the input's ``band`` coordinate and name and no
        ``y``/``x`` coordinates (the caller knows the new grid's georeferencing). Lazy when
        ``image`` is dask-backed.

    Raises
    ------
    InvalidParameterError
        If a table is malformed or reads outside the input.
    """
    image = as_scene(image)
    kwargs = dict(kwargs or {})
    out_dtype = np.dtype(dtype if dtype is not None else image.dtype)
    y = [np.asarray(t) for t in y]
    x = [np.asarray(t) for t in x]
    _check_tables("y", y, image.sizes["y"])
    _check_tables("x", x, image.sizes["x"])
    if is_dask(image):
        out = _regrid_dask(kernel, image.data, y, x, out_dtype, kwargs)
    else:
        kwargs = {k: v.compute() if hasattr(v, "__dask_graph__") else v for k, v in kwargs.items()}
        out = np.asarray(kernel(np.asarray(image.data), *y, *x, **kwargs), dtype=out_dtype)
    coords = {"band": image.coords["band"]} if "band" in image.coords else {}
    return xr.DataArray(
        out,
        dims=image.dims,
        coords=coords,
        name=image.name,
        attrs=dict(image.attrs if attrs is None else attrs),
    )
