"""Per-thread scratch arrays reused across the images of one batch.

Reading, then writing, many same-size images allocates the same large buffers again and
again; each fresh multi-megabyte NumPy array is a new memory mapping whose pages the kernel
zeroes on first touch (a few milliseconds per 1024² RGB tile, a fifth of the work of a JPEG
round trip). Inside :func:`scratch_buffers` the calling thread keeps one array per name and
hands it out again when the same shape and dtype are asked for; outside it,
:func:`scratch` is plain ``numpy.empty``.

Only buffers whose lifetime ends before the next request of the same name may come from
here: a dataset modifier's read buffer (one image at a time) and the contiguous copy made
just before a write. The arrays are released when the outermost block ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["MAX_SCRATCH_BYTES", "scratch", "scratch_buffers"]

#: arrays larger than this are never kept (allocated fresh every time)
MAX_SCRATCH_BYTES = 64 * 2**20

_LOCAL = threading.local()


@contextlib.contextmanager
def scratch_buffers() -> Iterator[None]:
    """Let :func:`scratch` reuse arrays in the calling thread until the block ends."""
    outer = getattr(_LOCAL, "pool", None) is None
    if outer:
        _LOCAL.pool = {}
    try:
        yield
    finally:
        if outer:
            _LOCAL.pool = None


def scratch(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-contiguous array, reused per thread inside :func:`scratch_buffers`.

    Parameters
    ----------
    name : str
        What the buffer is for; a later request with the same name (same thread, same block)
        may return the same memory, so the previous array must no longer be in use.
    shape : tuple of int
        Array shape.
    dtype : dtype
        Array dtype.
    """
    dtype = np.dtype(dtype)
    pool = getattr(_LOCAL, "pool", None)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if pool is None or nbytes > MAX_SCRATCH_BYTES:
        return np.empty(shape, dtype)
    buf = pool.get(name)
    if buf is None or buf.shape != tuple(shape) or buf.dtype != dtype:
        buf = pool[name] = np.empty(shape, dtype)
    return buf
