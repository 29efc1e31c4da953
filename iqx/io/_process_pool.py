"""This machine's worker processes, for dataset work whose per-image Python holds the GIL.

A dataset of 28×28 PNGs costs ~0.1-0.2 ms of Python per image around ~0.1 ms of C calls
that each release the GIL for a few microseconds. Two threads then fight over the GIL at
every call: measured here, two threads were *slower* than one (4.7 s against 3.1 s for
10 000 images, CPU 5.8 s against 3.1 s). Processes do not share a GIL.

One pool per interpreter, kept for its lifetime (as dask keeps its thread pool), so only the
first dataset pays the start-up:

- ``fork`` when the calling process runs a single Python thread (the CLI, a script before
  its first dask computation): ~20 ms, the workers inherit every import;
- ``forkserver`` otherwise (forking a process with other threads may copy a lock one of them
  holds): ~1 s, a server process imports iqx once and forks each worker from itself. Like
  every ``spawn``/``forkserver`` pool it imports the main *script* again in the server, so
  a script needs the ``if __name__ == "__main__":`` guard (notebooks and ``python -c`` do
  not).

:func:`processes_pay_off` decides for automatic use: a running pool, or a ``fork`` start
that the images repay; a ``forkserver`` start only where the main module is not a script
and the images repay ~1.5 s. :func:`drop_process_pool` forgets a pool whose worker died.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = [
    "FILE_BYTES_SMALL",
    "SAVED_PER_IMAGE_S",
    "drop_process_pool",
    "in_worker",
    "local_process_pool",
    "pool_starts_safely",
    "processes_pay_off",
]

#: files at most this large are "small": their per-image Python outweighs their C work
FILE_BYTES_SMALL = 64 * 1024
#: wall time processes save per small image over threads on 2 cores (measured ~0.3 ms;
#: rounded down, so a pool is started only when it clearly pays)
SAVED_PER_IMAGE_S = 1e-4
#: start-up of a pool: fork (single-threaded caller) and forkserver (measured 0.02 / 1.1 s),
#: and the cost of one computation on a running pool (graph, pickling, ~100 images' worth)
_START_FORK_S, _START_FORKSERVER_S, _DISPATCH_S = 0.05, 1.5, 0.01
#: what a forkserver imports once before forking the workers
_PRELOAD = ["iqx.datasets.modify", "iqx.datasets.derive", "iqx.datasets.measure"]

_POOL: ProcessPoolExecutor | None = None
_POOL_PID: int | None = None
_POOL_WORKERS = 0
_LOCK = threading.Lock()
#: True inside a worker of the pool (its dataset work never starts a pool of its own)
_IN_WORKER = False


def _usable(workers: int) -> bool:
    """True when this process started the pool, of ``workers`` processes."""
    return _POOL is not None and _POOL_PID == os.getpid() and _POOL_WORKERS == workers


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _main_is_script() -> bool:
    """True when a ``forkserver`` would import the main module again (a script's file)."""
    main = sys.modules.get("__main__")
    return bool(getattr(main, "__file__", None)) and not getattr(sys.flags, "interactive", 0)


def processes_pay_off(n_small_files: int, workers: int) -> bool:
    """True when ``n_small_files`` small images save more than starting the pool costs.

    Never inside a worker, never with one worker, and never a ``forkserver`` start from a
    script (it would run the script again if it lacks a main guard): threads then.
    """
    if _IN_WORKER or workers < 2 or n_small_files < 2:
        return False
    with _LOCK:
        if _usable(workers):
            start = _DISPATCH_S
        elif _can_fork():
            start = _START_FORK_S
        elif not _main_is_script():
            start = _START_FORKSERVER_S
        else:
            return False
    return n_small_files * SAVED_PER_IMAGE_S > start


def pool_starts_safely(workers: int) -> bool:
    """True when :func:`local_process_pool` of ``workers`` is running or can start here
    without running the main script again: a running pool, a ``fork`` start, or a
    ``forkserver`` where ``__main__`` is not a script file."""
    if _IN_WORKER:
        return False
    with _LOCK:
        return _usable(workers) or _can_fork() or not _main_is_script()


def in_worker() -> bool:
    """True inside one of the pool's worker processes."""
    return _IN_WORKER


def local_process_pool(workers: int) -> ProcessPoolExecutor:
    """The interpreter's pool of ``workers`` processes, started (and warmed) on first use.

    A pool of another size is replaced. Never used from inside one of its own workers
    (a forked worker sees its parent's pool object, not a pool of its own).
    """
    global _POOL, _POOL_PID, _POOL_WORKERS
    with _LOCK:
        if _usable(workers):
            return _POOL  # type: ignore[return-value]
        _shutdown(_POOL)
        method = "fork" if _can_fork() else "forkserver"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(_PRELOAD)
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_mark_worker)
        # with fork, the first submit forks every worker, before the pool's own manager
        # thread exists (CPython's rule); the result proves the workers are alive
        list(pool.map(_pid, range(workers)))
        _POOL, _POOL_PID, _POOL_WORKERS = pool, os.getpid(), workers
        return pool


def drop_process_pool() -> None:
    """Forget (and shut down) the pool, e.g. after one of its workers died."""
    global _POOL, _POOL_PID, _POOL_WORKERS
    with _LOCK:
        _shutdown(_POOL)
        _POOL, _POOL_PID, _POOL_WORKERS = None, None, 0


def _mark_worker() -> None:
    """Worker set-up: remember it is one; leave what it inherited out of the GC's walks
    (a forked worker holds every object of its parent: ~1 M after iqx's imports)."""
    global _IN_WORKER
    _IN_WORKER = True
    gc.freeze()


def _after_fork_in_child() -> None:
    """A forked child owns no pool and no lock its parent's threads held."""
    global _POOL, _POOL_PID, _POOL_WORKERS, _LOCK
    _POOL, _POOL_PID, _POOL_WORKERS, _LOCK = None, None, 0, threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _pid(_: Any) -> int:
    return os.getpid()


def _shutdown(pool: Any) -> None:
    if pool is not None and _POOL_PID == os.getpid():
        pool.shutdown(wait=False, cancel_futures=True)
