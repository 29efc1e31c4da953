"""Which dask scheduler is in charge: a distributed client, or this machine's threads or
processes."""

from __future__ import annotations

import contextlib
import contextvars
import sys
import uuid
from collections.abc import Iterator
from typing import Any

__all__ = [
    "LOCAL_MODES",
    "active_client",
    "auto_batch_size",
    "compute_kwargs",
    "local_mode",
    "n_workers",
    "write_lock",
]

#: ``scheduler=`` values that choose how this machine runs dataset work (no client)
LOCAL_MODES = ("threads", "processes")
_LOCAL_MODE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "iqx_local_mode", default=None
)


@contextlib.contextmanager
def local_mode(mode: str | None) -> Iterator[None]:
    """Run this machine's dataset work in ``"threads"`` or ``"processes"`` inside the block
    (None: chosen per call, see :func:`compute_kwargs`)."""
    token = _LOCAL_MODE.set(mode)
    try:
        yield
    finally:
        _LOCAL_MODE.reset(token)


def active_client() -> Any:
    """The default ``distributed.Client`` if one is active, else None (no import otherwise)."""
    if "distributed" not in sys.modules:
        return None
    import distributed

    try:
        return distributed.default_client()
    except ValueError:
        return None


def compute_kwargs(*, small_files: int = 0, allow_processes: bool = True) -> dict[str, Any]:
    """Keyword arguments for ``compute``: the active client, or this machine's threads or
    processes.

    dask.bag defaults to the multiprocessing scheduler; iqx prefers threads locally (its work
    releases the GIL in GDAL, codecs and numba) and whatever client the user started otherwise.
    Processes (:mod:`iqx.io._process_pool`) run the work when :func:`local_mode` asks for
    them, or when the caller has ``small_files`` images whose per-image Python would make
    threads fight over the GIL and they save more than the pool's start-up.

    Parameters
    ----------
    small_files : int
        Number of small images in work that may run in processes (0: threads only).
    allow_processes : bool
        False for work a worker process could not rebuild: threads even for
        :func:`local_mode` ``"processes"`` (and the pool is not started).
    """
    mode = _LOCAL_MODE.get()
    if mode is None and active_client() is not None:
        return {}
    if mode == "threads" or (mode is None and not small_files) or not allow_processes:
        return {"scheduler": "threads"}
    from iqx.io._process_pool import in_worker, local_process_pool, processes_pay_off

    workers = n_workers()
    if in_worker():  # dataset work started inside a worker process stays in it
        return {"scheduler": "threads"}
    if mode == "processes" or processes_pay_off(small_files, workers):
        return {"scheduler": "processes", "pool": local_process_pool(workers)}
    return {"scheduler": "threads"}


def n_workers() -> int:
    """Threads that will run tasks: the active client's total, else dask's local pool size
    (also the number of worker processes of :func:`local_mode` ``"processes"``)."""
    client = None if _LOCAL_MODE.get() else active_client()
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
