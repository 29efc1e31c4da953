"""Blind metrics over every image of a dataset, on every core (``iqx measure <dataset>``).

Each image is one unit of work, measured whole inside a worker with dask's synchronous
scheduler (NumPy in, NumPy out: no graph per chunk crosses processes). The per-image work
(edge search, per-edge fits, SNR statistics) holds the GIL for part of its time, so the local
pool uses *processes*, forked from the caller where the platform allows it (modules already
imported, numba code already loaded), spawned otherwise. With an active
``dask.distributed`` client the images go to its workers instead. Results come back in
``image_files`` order, each as soon as it and every earlier one is done.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from iqx.errors import InvalidParameterError
from iqx.io._sched import active_client

__all__ = ["BLIND_METRICS", "measure_image", "measure_images"]

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

    from iqx.io import open_scene

    scene = open_scene(path, chunks=chunks, bit_depth=bit_depth)
    row: dict[str, Any] = {}
    with dask.config.set(scheduler="sync"):
        for name in names:
            module = importlib.import_module(BLIND_METRICS[name])
            row.update(module.flat_summary(scene))
    return row


def _one(args: tuple[str, tuple[str, ...], Any, int | None]) -> dict[str, Any]:
    path, names, chunks, bit_depth = args
    return measure_image(path, names, chunks=chunks, bit_depth=bit_depth)


def _context() -> Any:
    """``fork`` where available (the workers inherit imported modules and loaded numba code:
    no start-up per worker; Python 3.11's default on Linux), else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def measure_images(
    paths: Sequence[str | os.PathLike[str]],
    names: Sequence[str],
    *,
    chunks: Any = None,
    bit_depth: int | None = None,
    workers: int | None = None,
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
        measures in the calling process. Ignored when a distributed client is active: its
        workers measure the images.

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
    client = active_client()
    if client is not None:
        futures = client.map(_one, jobs, pure=False)
        try:
            for fut in futures:
                yield fut.result()
        finally:
            client.cancel(futures)
        return
    n = min(len(jobs), workers or os.cpu_count() or 1)
    if n == 1:
        for job in jobs:
            yield _one(job)
        return
    with ProcessPoolExecutor(n, mp_context=_context()) as pool:
        yield from pool.map(_one, jobs)
