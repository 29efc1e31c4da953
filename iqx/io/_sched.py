"""Which dask scheduler is in charge: a distributed client, or the local threads."""

from __future__ import annotations

import sys
import uuid
from typing import Any

__all__ = ["active_client", "compute_kwargs", "write_lock"]


def active_client() -> Any:
    """The default ``distributed.Client`` if one is active, else None (no import otherwise)."""
    if "distributed" not in sys.modules:
        return None
    import distributed

    try:
        return distributed.default_client()
    except ValueError:
        return None


def compute_kwargs() -> dict[str, Any]:
    """Keyword arguments for ``compute``: the active client, or the threaded scheduler.

    dask.bag defaults to the multiprocessing scheduler; iqx prefers threads locally (its work
    releases the GIL in GDAL, codecs and numba) and whatever client the user started otherwise.
    """
    return {} if active_client() is not None else {"scheduler": "threads"}


def write_lock(name: str = "iqx-write") -> Any:
    """A lock serialising writers of one file across every task that may run them.

    ``distributed.Lock`` (held by the scheduler, valid across process workers) when a client is
    active; otherwise a ``dask.utils.SerializableLock`` (threads of one process).
    """
    client = active_client()
    if client is not None:
        import distributed

        return distributed.Lock(f"{name}-{uuid.uuid4().hex}")
    from dask.utils import SerializableLock

    return SerializableLock()
