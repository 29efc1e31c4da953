"""Which dask scheduler is in charge: a distributed client, or the local threads."""

from __future__ import annotations

import sys
import uuid
from typing import Any

__all__ = ["active_client", "auto_batch_size", "compute_kwargs", "n_workers", "write_lock"]


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


def n_workers() -> int:
    """Threads that will run tasks: the active client's total, else dask's local pool size."""
    client = active_client()
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # pragma: no cover - a client that cannot answer
            return 1
    import os

    import dask

    return max(1, int(dask.config.get("num_workers", None) or os.cpu_count() or 1))


#: most images in one task when the batch size is automatic
MAX_AUTO_BATCH = 256


def auto_batch_size(n_items: int, batch_size: int | None = None) -> int:
    """Images per task: ``batch_size`` if given, else about 4 tasks per worker (at most 256).

    Four tasks per worker balance the load when images differ in cost; the cap keeps tasks
    short (progress, memory) while 60 000 tiny images still cost a few hundred tasks.
    """
    if batch_size is not None:
        return int(batch_size)
    per = -(-max(n_items, 1) // (4 * n_workers()))
    return max(1, min(MAX_AUTO_BATCH, per))


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
