"""Task-graph helpers: deferred calls, independent recomputation, lazy values as arrays.

Modifiers and metrics never import dask; when they need a deferred computation (a second
pass that depends on a first one, a result built from lazy parts) they use these helpers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import xarray as xr

from iqx.parallel.backend import is_dask

__all__ = ["lazy_array", "lazy_call", "recompute_independently"]


def lazy_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``func(*args, **kwargs)`` as a deferred task (a :class:`dask.delayed.Delayed`).

    Lazy arguments (delayed values, dask collections) are computed before ``func`` runs
    and passed to it as concrete values; eager arguments are passed as they are. The
    result can be given to further ``lazy_call`` calls, to :func:`lazy_array`, or as the
    ``chunk`` function of :func:`iqx.parallel.reduce_blocks` (e.g.
    ``lazy_call(functools.partial, kernel, medians=first_pass)``).

    Parameters
    ----------
    func : callable
        Picklable function (a module-level function or a ``functools.partial``) so that
        the task runs on process-based ``dask.distributed`` workers too.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    dask.delayed.Delayed
        Call ``.compute()`` (or ``dask.compute`` it with others) for the value.
    """
    return dask.delayed(func)(*args, **kwargs)


def lazy_array(value: Any, shape: tuple[int, ...], dtype: Any) -> da.Array:
    """A deferred NumPy array (e.g. a lazy reduction's result) as a one-chunk dask array.

    Lets array arithmetic (slicing, ``np.where``, ``np.maximum``, ...) continue lazily on a
    value returned by :func:`lazy_call` or ``reduce_blocks(..., compute=False)``.

    Parameters
    ----------
    value : dask.delayed.Delayed
        Deferred value that computes to an ndarray of ``shape`` and ``dtype``.
    shape : tuple of int
        Its shape.
    dtype : dtype
        Its dtype.

    Returns
    -------
    dask.array.Array
        A single-chunk array.
    """
    return da.from_delayed(value, shape=shape, dtype=dtype)


def recompute_independently(image: xr.DataArray) -> xr.DataArray:
    """The same lazy scene under new task keys, so a second pass reads it again.

    When two passes over a scene are combined (e.g. a global mean, then a per-pixel step
    that needs it), dask keeps every chunk of the shared graph in memory until the second
    pass consumes it: the whole scene. Cloning the graph of the first pass makes the scene
    be read (or computed) twice instead, and memory stays bounded by a few chunks.
    NumPy-backed scenes are returned unchanged.

    Parameters
    ----------
    image : xarray.DataArray
        Scene, dask- or NumPy-backed.

    Returns
    -------
    xarray.DataArray
        ``image`` with its dask graph cloned
        (:func:`dask.graph_manipulation.clone`), or ``image`` itself.
    """
    if not is_dask(image):
        return image
    from dask.graph_manipulation import clone

    return image.copy(data=clone(image.data, assume_layers=False))
