"""Blind metrics over every image of a dataset, on every core (``iqx measure <dataset>``).

Each image is one unit of work (small files go in batches of images: one task per image
would cost its round trip), measured whole inside a worker with dask's synchronous
scheduler (NumPy in, NumPy out: no graph per chunk crosses processes); an image of at most
:data:`~iqx.io.scene.SMALL_SCENE_SAMPLES` samples is read whole and measured as a NumPy scene
(:func:`~iqx.io.scene.open_or_read_scene`: no graph at all). The per-image work
(edge search, per-edge fits, SNR statistics) holds the GIL for part of its time, so the local
pool uses *processes*: the interpreter's pool of :mod:`iqx.io._process_pool` (kept between
calls, forked from a single-threaded caller, else started by a forkserver), or, where that
pool cannot start without running a script's main module again, a pool of this call forked
from the caller (spawned where the platform cannot fork). On a ``dask.distributed`` cluster
(``scheduler=`` an address or client, or an active client) the images go to its workers
instead. Results come back in ``image_files`` order, each as soon as it and every earlier
one is done; ``progress`` counts them in completion order.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from iqx.datasets._scheduler import use_scheduler
from iqx.errors import InvalidParameterError, IqxError

__all__ = ["BLIND_METRICS", "blind_record", "measure_image", "measure_images"]

#: metric name -> module whose ``flat_summary(scene)`` gives the record's keys
BLIND_METRICS = {
    "snr": "iqx.metrics.snr",
    "sharpness": "iqx.metrics.sharpness",
    "niirs": "iqx.metrics.niirs",
}


def measure_image(
    path: str | os.PathLike[str],
    names: Sequence[str],
    *,
    chunks: Any = None,
    bit_depth: int | None = None,
) -> dict[str, Any]:
    """The flat summary of every metric in ``names`` for one image file (computed here).

    Equals what ``iqx measure`` prints for the file alone: the chunks of the scene are
    computed with the synchronous scheduler in the calling thread or worker.
    """
    import dask

    from iqx.io.scene import open_or_read_scene

    scene = open_or_read_scene(path, chunks=chunks, bit_depth=bit_depth)
    with dask.config.set(scheduler="sync"):
        return blind_record(scene, names)


def blind_record(scene: Any, names: Sequence[str]) -> dict[str, Any]:
    """The flat summaries of ``names`` for one scene, each measurement made once.

    ``niirs`` takes its RER from the edge measurement: when ``sharpness`` is asked for too,
    that one result serves both (the same call with the same defaults, so the values equal
    the two metrics measured apart) instead of measuring every edge twice.
    """
    row: dict[str, Any] = {}
    shared = None
    if "sharpness" in names and "niirs" in names:
        from iqx.metrics.sharpness import sharpness

        shared = sharpness(scene)
    for name in names:
        if shared is not None and name == "sharpness":
            row.update(shared.flat_summary())
        elif shared is not None and name == "niirs":
            from iqx.metrics.niirs import niirs

            row.update(niirs(scene, sharpness_result=shared).flat_summary())
        else:
            row.update(importlib.import_module(BLIND_METRICS[name]).flat_summary(scene))
    return row


def _one(args: tuple[str, tuple[str, ...], Any, int | None]) -> dict[str, Any]:
    path, names, chunks, bit_depth = args
    return measure_image(path, names, chunks=chunks, bit_depth=bit_depth)


def _batch(jobs: list[tuple[str, tuple[str, ...], Any, int | None]]) -> list[dict[str, Any]]:
    return [_one(job) for job in jobs]


def _size(path: str) -> int:
    """Bytes of a file (0 if it cannot be read: the worker reports the error)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _context() -> Any:
    """``fork`` where available (the workers inherit imported modules and loaded numba code:
    no start-up per worker; Python 3.11's default on Linux), else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _local_pool(workers: int) -> Iterator[Any]:
    """The interpreter's shared pool when it can start safely, else a pool of this call."""
    from iqx.io._process_pool import local_process_pool, pool_starts_safely

    if pool_starts_safely(workers):
        yield local_process_pool(workers)
        return
    with ProcessPoolExecutor(workers, mp_context=_context()) as pool:
        yield pool


def _plan(jobs: list[Any]) -> tuple[list[list[Any]], list[int]]:
    """Tasks for the local pool and the order to submit them.

    Small files go in batches (one task per tiny image would cost its round trip), in
    order; other images one per task, largest files first (longest-processing-time order:
    the last to start are the smallest, so the workers finish together).
    """
    from iqx.datasets._scheduler import small_file_count
    from iqx.io._sched import auto_batch_size

    if small_file_count([job[0] for job in jobs]):
        size = auto_batch_size(len(jobs))
        batches = [jobs[k : k + size] for k in range(0, len(jobs), size)]
        return batches, list(range(len(batches)))
    order = sorted(range(len(jobs)), key=lambda i: -_size(jobs[i][0]))
    return [[job] for job in jobs], order


class _Counter:
    """Reports each future's images to ``progress`` exactly once.

    Live, from the future's done-callback (completion order); or, when the caller already
    has the result and the callback has not run yet, from the caller. A done-callback may
    run after ``result()`` returns (``concurrent.futures`` wakes the waiters first, and
    ``distributed`` runs callbacks on its event loop, which may not get to it before the
    client closes): counting only in callbacks lost the last images now and then.
    """

    def __init__(self, progress: Callable[[int], Any]) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._counted: set[int] = set()

    def watch(self, future: Any, n: int = 1) -> None:
        """Count ``n`` images when ``future`` succeeds."""

        def done(fut: Any) -> None:
            status = getattr(fut, "status", None)  # distributed futures: no blocking call
            if status == "finished" or (
                status is None and not fut.cancelled() and fut.exception() is None
            ):
                self.settle(fut, n)

        future.add_done_callback(done)

    def settle(self, future: Any, n: int = 1) -> None:
        """Count ``future``'s ``n`` images unless they were counted already."""
        with self._lock:
            if id(future) in self._counted:
                return
            self._counted.add(id(future))
        self._progress(n)


def measure_images(
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str],
    *,
    chunks: Any = None,
    bit_depth: int | None = None,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int], Any] | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield :func:`measure_image` of every path, in order, measuring images in parallel.

    Parameters
    ----------
    paths : sequence of path-like
        Image files (e.g. ``Dataset.image_files``).
    names : sequence of str
        Metrics among :data:`BLIND_METRICS`.
    chunks, bit_depth
        As for :func:`iqx.io.open_scene`.
    workers : int, optional
        Local processes (default: the CPU count, at most the number of images); ``1``
        measures in the calling process. Ignored on a distributed cluster: its workers
        measure the images.
    scheduler : None, address or distributed.Client, optional
        Where to measure (:func:`iqx.datasets._scheduler.use_scheduler`): default the
        active client if any, else local processes.
    progress : callable, optional
        ``progress(n)`` as ``n`` images are measured (one, or a batch of small files; in
        completion order, from a helper thread), e.g. an :class:`iqx._progress.Progress`
        bar's ``advance``.

    Yields
    ------
    dict
        One record per image, in the order of ``paths``.
    """
    unknown = [n for n in names if n not in BLIND_METRICS]
    if unknown:
        raise InvalidParameterError(
            f"unknown metric(s) {unknown}; choose from {list(BLIND_METRICS)}"
        )
    if workers is not None and workers < 1:
        raise InvalidParameterError(f"workers must be >= 1, got {workers}")
    jobs = [(str(Path(p)), tuple(names), chunks, bit_depth) for p in paths]
    if not jobs:
        return
    counter = _Counter(progress) if progress is not None else None
    with use_scheduler(scheduler) as client:
        if client is not None:
            futures = client.map(_one, jobs, pure=False)
            if counter is not None:
                for fut in futures:
                    counter.watch(fut)
            try:
                for fut in futures:
                    row = fut.result()
                    if counter is not None:
                        counter.settle(fut)
                    yield row
            finally:
                client.cancel(futures)
            return
        from iqx.io._process_pool import in_worker

        n = min(len(jobs), workers or os.cpu_count() or 1)
        if n == 1 or in_worker():  # work started inside a worker process stays in it
            for job in jobs:
                row = _one(job)
                if progress is not None:
                    progress(1)
                yield row
            return
        batches, order = _plan(jobs)
        with _local_pool(n) as pool:
            submitted = {i: pool.submit(_batch, batches[i]) for i in order}
            local = [submitted[i] for i in range(len(batches))]
            if counter is not None:
                for batch, fut in zip(batches, local, strict=True):
                    counter.watch(fut, len(batch))
            try:
                for batch, fut in zip(batches, local, strict=True):
                    rows = _result(fut)
                    if counter is not None:
                        counter.settle(fut, len(batch))
                    yield from rows
            finally:
                for fut in local:
                    fut.cancel()


def _result(future: Any) -> list[dict[str, Any]]:
    """A local batch's records; a dead worker becomes one :class:`~iqx.errors.IqxError`."""
    from concurrent.futures import BrokenExecutor

    try:
        return future.result()
    except BrokenExecutor as exc:
        from iqx.io._process_pool import drop_process_pool

        drop_process_pool()  # the next call starts a fresh pool
        raise IqxError(f"a worker process died while measuring the images ({exc})") from exc
