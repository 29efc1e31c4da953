"""Shared helpers for the asv suites.

Scenes are generated once into a cache folder (``$IQX_BENCH_CACHE`` or ``~/.cache/iqx-bench``)
so benchmarks time iqx, not data generation. ``IQX_BENCH_SMALL=1`` shrinks every size so the
test suite can smoke-run each benchmark in seconds (``tests/test_benchmarks.py``).

Also the parts the folder suites share (``bench_datasets``, ``bench_small_images``): the
cached image folder, iqx's and IQUAFLOW's JPEG q70 timings and the plain process-pool loop,
their asv base classes (``_DatasetBench``, ``_JpegFolderBench``: underscored, so asv does not
collect them from here) and the command-line drivers' parser and samples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SMALL = os.environ.get("IQX_BENCH_SMALL") == "1"


def size(n: int) -> int:
    """``n`` pixels, or a small stand-in under ``IQX_BENCH_SMALL=1``."""
    return min(n, 512) if SMALL else n


def chunk(n: int) -> int:
    """Chunk edge for benchmarks (smaller under ``IQX_BENCH_SMALL=1``)."""
    return min(n, 128) if SMALL else n


def cache_dir() -> Path:
    """Folder where generated benchmark inputs are kept between runs."""
    root = Path(os.environ.get("IQX_BENCH_CACHE", Path.home() / ".cache" / "iqx-bench"))
    root = root / ("small" if SMALL else "full")
    root.mkdir(parents=True, exist_ok=True)
    return root


def trash_dir() -> Path:
    """Where timed outputs go instead of being deleted (see :func:`discard`)."""
    return cache_dir() / ".trash"


def discard(path: Path) -> None:
    """Move ``path`` (a timed run's output) out of the way without freeing its inodes.

    Deleting thousands of files right before a timed run makes that run's file creations
    slow: ext4 without a journal (this machine's root) skips inodes freed within the last
    60-360 s, scanning past every one of them for each new file (``recently_deleted`` in
    ``ext4_create``; 166 µs per 28×28 image for IQUAFLOW after renames against ~700 µs after
    an ``rmtree`` of the previous side's 10 000 files). A user's first run follows no such
    deletion, so outputs are renamed into :func:`trash_dir` (same file system, no inode
    freed) and deleted by :func:`empty_trash` once the measurements are done.
    """
    if os.path.lexists(path):
        trash = trash_dir()
        trash.mkdir(parents=True, exist_ok=True)
        os.rename(path, tempfile.mkdtemp(prefix="out-", dir=trash))


def empty_trash() -> None:
    """Delete what :func:`discard` kept (after the timings: it slows file creation for minutes)."""
    shutil.rmtree(trash_dir(), ignore_errors=True)


def textured_uint16(ny: int, nx: int, seed: int = 0, bits: int = 11) -> np.ndarray:
    """A smooth random field plus noise, scaled to ``bits`` bits (like WorldView-2 pan)."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0, 8 * np.pi, ny, dtype=np.float32)[:, None]
    xx = np.linspace(0, 6 * np.pi, nx, dtype=np.float32)[None, :]
    top = 2**bits - 1
    base = (0.5 + 0.25 * np.sin(yy) * np.cos(xx)) * top
    noise = rng.standard_normal((ny, nx), dtype=np.float32) * (0.01 * top)
    return np.clip(base + noise, 0, top).astype(np.uint16)


# --- folder datasets: JPEG q70 by iqx, by IQUAFLOW (the anchor) and by a plain loop -------
# Shared by ``bench_datasets`` (GeoTIFF tiles) and ``bench_small_images`` (28×28 PNGs): each
# keeps only its images, its plain-loop worker and what it measures beyond these.

JPEG_QUALITY = 70

IQUAFLOW_JPEG_DRIVER = """\
import json, os, shutil, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
from iquaflow.datasets import DSModifier_jpg
imp = time.perf_counter() - t0
src, trash = sys.argv[1], sys.argv[3]
out = src + "#jpg%d_modifier" % int(sys.argv[2])
def discard():  # renamed, not deleted: see benchmarks.common.discard
    if os.path.lexists(out):
        os.makedirs(trash, exist_ok=True)
        os.rename(out, os.path.join(trash, "iquaflow-%d" % time.time_ns()))
discard()
t0 = time.perf_counter()
DSModifier_jpg(params={"quality": int(sys.argv[2])}).modify(data_path=src)
print(json.dumps({"import_s": imp, "modify_s": time.perf_counter() - t0}))
discard()
"""


def cached_folder(name: str, write_images: Callable[[Path], None]) -> Path:
    """``<cache>/<name>`` whose ``images/`` folder ``write_images`` fills once.

    The images are written into ``<name>.partial`` and renamed when complete, so an
    interrupted run never leaves a half dataset that a later run would time.
    """
    root = cache_dir() / name
    if (root / "images").is_dir():
        return root
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "images").mkdir(parents=True)
    write_images(tmp / "images")
    tmp.rename(root)
    return root


def started_pool(warm: Callable[[int], int], workers: int = 2) -> ProcessPoolExecutor:
    """A process pool whose ``workers`` have each run ``warm`` (imports done before timing)."""
    pool = ProcessPoolExecutor(workers)
    list(pool.map(warm, range(workers)))
    return pool


def pool_loop_seconds(
    ds: Path,
    pool: ProcessPoolExecutor,
    one: Callable[[tuple[str, str]], int],
    *,
    prefix: str,
    chunksize: int = 1,
) -> float:
    """Seconds of ``one((src, dst))`` over every file of ``ds/images`` on ``pool``.

    The outputs go to a fresh folder (``prefix``) next to the dataset, discarded afterwards.
    """
    out = Path(tempfile.mkdtemp(prefix=prefix, dir=ds.parent))
    try:
        pairs = [(str(p), str(out / p.name)) for p in sorted((ds / "images").iterdir())]
        t0 = time.perf_counter()
        list(pool.map(one, pairs, chunksize=chunksize))
        return time.perf_counter() - t0
    finally:
        discard(out)


def iqx_jpeg_seconds(ds: Path, scheduler: Any = None) -> float:
    """``iqx.modify(ds, "jpeg:quality=70")`` seconds in this process (imports done).

    ``scheduler`` is passed to ``iqx.modify`` (None: its default). The output folder is
    discarded before and after, so every call writes the whole dataset.
    """
    import iqx

    out = ds.with_name(f"{ds.name}#jpeg_q{JPEG_QUALITY}")
    discard(out)
    t0 = time.perf_counter()
    iqx.modify(ds, f"jpeg:quality={JPEG_QUALITY}", scheduler=scheduler)
    seconds = time.perf_counter() - t0
    discard(out)
    return seconds


def iquaflow_python() -> str | None:
    """The IQUAFLOW 1.0.1 side venv's interpreter, or None (with a message) when absent."""
    path = os.environ.get("IQX_IQUAFLOW_PYTHON", "/work/iquaflow-venv/bin/python")
    if Path(path).is_file():
        return path
    print(f"IQUAFLOW side venv not found at {path}: IQUAFLOW anchors skipped", file=sys.stderr)
    return None


def iquaflow_jpeg_seconds(ds: Path) -> dict[str, float]:
    """IQUAFLOW 1.0.1's ``DSModifier_jpg(quality=70).modify`` on ``ds`` in its side venv.

    Returns ``import_s`` and ``modify_s`` (timed inside the side process, so ``modify_s`` is
    the modify call alone) and ``process_s`` (the whole subprocess); all NaN when the venv is
    absent and under ``IQX_BENCH_SMALL=1`` (the smoke run stays fast).
    """
    python = None if SMALL else iquaflow_python()
    if python is None:
        return {"import_s": math.nan, "modify_s": math.nan, "process_s": math.nan}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", IQUAFLOW_JPEG_DRIVER, str(ds), str(JPEG_QUALITY), str(trash_dir())],
        check=True,
        capture_output=True,
        text=True,
    )
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - t0
    return res


def process_cluster(n_workers: int):
    """A ``distributed.LocalCluster`` of ``n_workers`` single-threaded process workers."""
    import distributed

    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )


class _DatasetBench:
    """asv attributes shared by the dataset suites: one call per sample, a long timeout.

    A subclass sets ``dataset`` (``staticmethod`` of the function returning its folder);
    ``setup`` keeps the folder in ``self.ds``. The leading underscore keeps asv from
    collecting the base classes themselves (it scans every module of the folder).
    """

    timeout = 1800
    number = 1
    repeat = 1
    dataset: Callable[[], Path]

    def setup(self):
        self.ds = self.dataset()


class _JpegFolderBench(_DatasetBench):
    """JPEG q70 over a folder: iqx, IQUAFLOW's ``DSModifier_jpg`` (the anchor, timed in the
    same run) and a plain loop over 2 processes of a pool started beforehand.

    A subclass also sets ``warm`` (imports in a pool worker) and ``plain_loop`` (``(ds, pool)
    -> seconds``), both module-level functions so that they pickle.
    """

    repeat = 3
    warm: Callable[[int], int]
    plain_loop: Callable[[Path, ProcessPoolExecutor], float]

    def setup(self):
        super().setup()
        self.pool = started_pool(self.warm)
        iqx_jpeg_seconds(self.ds)  # imports and numba code loaded

    def teardown(self):
        self.pool.shutdown()
        empty_trash()

    def time_iqx_modify(self):
        iqx_jpeg_seconds(self.ds)

    def time_plain_loop_2_processes(self):
        self.plain_loop(self.ds, self.pool)

    def track_speedup_vs_iquaflow(self):
        """IQUAFLOW DSModifier_jpg modify seconds / iqx.modify seconds (same run)."""
        iqf = iquaflow_jpeg_seconds(self.ds)["modify_s"]
        return iqf / iqx_jpeg_seconds(self.ds)

    track_speedup_vs_iquaflow.unit = "ratio"

    def track_iqx_over_plain_loop(self):
        """iqx.modify seconds / plain 2-process loop seconds (target <= 2)."""
        plain = self.plain_loop(self.ds, self.pool)
        return iqx_jpeg_seconds(self.ds) / plain

    track_iqx_over_plain_loop.unit = "ratio"


# --- command-line drivers (``python -m benchmarks.<suite>``) --------------------------------


def driver_parser(doc: str, repeat: int) -> argparse.ArgumentParser:
    """The drivers' parser: the module docstring's first line, ``--repeat`` (default ``repeat``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=repeat)
    return parser


class Samples:
    """Named measurements of an interleaved run, each echoed to stderr (``key: value``)."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)
        print(f"{key}: {value:.3f}", file=sys.stderr, flush=True)

    def ratio(self, key: str, num: str, den: str) -> None:
        """Add ``key``: the latest ``num`` sample / the latest ``den`` sample (same repeat)."""
        self.add(key, self.values[num][-1] / self.values[den][-1])

    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.values.items()}
