"""Map a NumPy kernel over the chunks of a scene, without neighbours."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from iqx.parallel.backend import as_scene, is_dask, with_data

__all__ = ["map_blocks_xr"]


def map_blocks_xr(
    kernel: Callable[..., np.ndarray],
    image: xr.DataArray,
    *,
    dtype: Any = None,
    kwargs: dict[str, Any] | None = None,
    pass_block_id: bool = False,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Apply ``kernel(block, **kwargs) -> block`` to every chunk of ``image``.

    The kernel sees plain ``(band, y, x)`` NumPy blocks and must return an array of the same
    shape. With ``pass_block_id=True`` it also receives ``block_id=(b, i, j)``, the chunk's
    index; a NumPy-backed image is treated as the single block ``(0, 0, 0)``, so NumPy input
    gives the same result as a dask array with one chunk.

    Parameters
    ----------
    kernel : callable
        NumPy in, NumPy out (typically a numba kernel wrapper).
    image : xarray.DataArray
        Scene with dims ``(band, y, x)``.
    dtype : dtype, optional
        Output dtype (default: the input's).
    kwargs : dict, optional
        Extra keyword arguments for the kernel. Lazy values among them (a ``lazy_call``
        result, e.g. a bit depth measured from the data) are computed before the kernel runs
        and passed as concrete values.
    pass_block_id : bool
        Pass the chunk index as ``block_id``.
    attrs : dict, optional
        Attributes of the result (default: the input's).

    Returns
    -------
    xarray.DataArray
        Lazy when ``image`` is dask-backed, eager otherwise.
    """
    image = as_scene(image)
    kwargs = dict(kwargs or {})
    out_dtype = np.dtype(dtype if dtype is not None else image.dtype)
    data = image.data
    if is_dask(image):
        if pass_block_id:
            lazy = {k: v for k, v in kwargs.items() if hasattr(v, "__dask_graph__")}
            eager = {k: v for k, v in kwargs.items() if k not in lazy}

            def call(
                block: np.ndarray, block_id: tuple[int, ...] | None = None, **kw: Any
            ) -> np.ndarray:
                return kernel(block, block_id=block_id, **eager, **kw)

            # lazy kwargs go through dask, which computes them before the kernel runs
            out = data.map_blocks(call, dtype=out_dtype, meta=np.array((), dtype=out_dtype), **lazy)
        else:
            out = data.map_blocks(
                kernel, dtype=out_dtype, meta=np.array((), dtype=out_dtype), **kwargs
            )
    else:
        block = np.asarray(data)
        out = (
            kernel(block, block_id=(0, 0, 0), **kwargs)
            if pass_block_id
            else kernel(block, **kwargs)
        )
        out = np.asarray(out, dtype=out_dtype)
    return with_data(image, out, attrs=attrs)
