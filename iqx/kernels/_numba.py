"""The one place where numba compilation flags are set.

Every kernel uses :data:`ngjit` so that the GIL is released (dask's threaded scheduler can
then run kernels in parallel) and compiled code is cached on disk.
"""

from __future__ import annotations

import numba

__all__ = ["ngjit", "prange"]

#: ``numba.njit`` with the project's flags: nopython, GIL released, on-disk cache.
ngjit = numba.njit(nogil=True, cache=True)
prange = numba.prange


def ngjit_parallel(func):
    """Like :data:`ngjit` but with ``parallel=True`` for kernels that use ``prange``."""
    return numba.njit(nogil=True, cache=True, parallel=True)(func)
