"""Run a chunk-invariant block reduction on every core for NumPy input.

A NumPy-backed scene is one block for :func:`iqx.parallel.reduce_blocks`, so it would run
on one thread. Metrics whose answer does not depend on the chunking (sharpness, tested
for NumPy input and several chunkings) can instead split a large NumPy scene into
horizontal strips that alias the array (:func:`iqx.parallel.to_dask_blocks`: no copy, no
hashing) and let dask's threaded scheduler run the GIL-free kernels of the strips side by
side. The result is bit-identical to the one-block run.
"""

from __future__ import annotations

import os

import numpy as np
import xarray as xr

from iqx.parallel import is_dask, to_dask_blocks

__all__ = ["numpy_as_strips"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def numpy_as_strips(scene: xr.DataArray, halo: int, *, min_rows: int | None = None) -> xr.DataArray:
    """``scene`` with its NumPy data wrapped as row strips, one or two per core.

    Parameters
    ----------
    scene : xarray.DataArray
        ``(band, y, x)`` scene. Dask-backed scenes are returned unchanged (their chunking
        is the user's choice), and so are scenes too small to split.
    halo : int
        Halo of the reduction: every strip gets at least ``max(4 halo, min_rows)`` rows,
        so that the halo work (recomputed on both sides of a strip border) stays small.
    min_rows : int, optional
        Smallest strip height (default 4 halo).

    Returns
    -------
    xarray.DataArray
        The same scene, NumPy data replaced by a dask array of views (coordinates and
        attributes kept).
    """
    if is_dask(scene.data) or _cores() < 2:
        return scene
    ny = scene.sizes["y"]
    rows = max(4 * halo, min_rows or 0, 1)
    cores = _cores()
    # a multiple of the core count (3 strips on 2 cores take two rounds: as long as 4), at
    # most two per core; fewer strips recompute fewer halo rows
    n = min(ny // rows, 2 * cores)
    n = n - n % cores if n >= cores else n
    if n < 2:
        return scene
    step = -(-ny // n)
    chunks = (scene.sizes["band"], tuple(min(step, ny - i) for i in range(0, ny, step)), -1)
    return scene.copy(data=to_dask_blocks(np.asarray(scene.data), chunks))
