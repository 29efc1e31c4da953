"""Dataset work in this machine's worker processes (``scheduler="processes"``, and the
automatic choice for many small images): same results as threads, errors that say what
failed, a pool that survives a dead worker, and no automatic start where it is unsafe.

The pool is a real ``ProcessPoolExecutor`` (forkserver inside the test process, which runs
threads; fork in the fresh single-threaded subprocess of the automatic-choice test).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

import iqx
from iqx.datasets import derive_dataset
from iqx.datasets.manifest import MANIFEST_NAME
from iqx.errors import InvalidParameterError, IqxError
from iqx.io import _process_pool


def _pngs(root, n=6, side=28):
    images = root / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for k in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(
            images / f"im{k:03d}.png"
        )
    return root


def _result(ds):
    files = {p.name: p.read_bytes() for p in sorted(ds.data_input.iterdir())}
    return files, json.loads((ds.data_path / MANIFEST_NAME).read_text())["files"]


def test_processes_give_what_threads_give(tmp_path):
    a = iqx.modify(iqx.open_dataset(_pngs(tmp_path / "a" / "ds")), "jpeg:quality=70",
                   scheduler="processes")  # fmt: skip
    b = iqx.modify(iqx.open_dataset(_pngs(tmp_path / "b" / "ds")), "jpeg:quality=70",
                   scheduler="threads")  # fmt: skip
    assert _result(a) == _result(b)
    assert _process_pool._POOL is not None  # the work went to the pool


def test_the_pool_is_kept_between_calls(tmp_path):
    root = _pngs(tmp_path / "ds")
    iqx.modify(iqx.open_dataset(root), "jpeg:quality=60", scheduler="processes")
    pool = _process_pool._POOL
    iqx.modify(iqx.open_dataset(root), "jpeg:quality=50", scheduler="processes")
    assert _process_pool._POOL is pool
    # a running pool costs only its dispatch: worth it from ~100 small images on
    workers = _process_pool._POOL_WORKERS
    assert not _process_pool.processes_pay_off(50, workers)
    assert _process_pool.processes_pay_off(5_000, workers)


def test_a_worker_error_is_the_error_itself_naming_the_file(tmp_path):
    root = _pngs(tmp_path / "ds")
    bad = root / "images" / "im002.png"
    data = bad.read_bytes()
    bad.write_bytes(data[:40] + b"\x00" * 20 + data[60:])  # pixels damaged, chunks intact
    with pytest.raises(IqxError, match=r"im002\.png") as info:
        iqx.modify(iqx.open_dataset(root), "jpeg:quality=70", scheduler="processes")
    assert "Traceback" not in str(info.value)  # one line for the CLI, not a remote dump
    assert not list(tmp_path.glob("ds#*"))


class _DieOn:
    """A process_file that kills its worker process on one file (a segfaulting codec)."""

    process_safe = True

    def __init__(self, name):
        self.name = name

    def __call__(self, src, dst):
        if src.name == self.name:
            os._exit(3)
        dst.write_bytes(src.read_bytes())
        return {}


def test_a_dead_worker_is_reported_and_the_next_call_gets_a_fresh_pool(tmp_path):
    from iqx.io._sched import local_mode

    root = _pngs(tmp_path / "ds")
    source = iqx.open_dataset(root)
    with local_mode("processes"), pytest.raises(IqxError, match="worker process died"):
        derive_dataset(source, "die", {"id": "die"}, _DieOn("im001.png"))
    assert _process_pool._POOL is None
    assert not list(tmp_path.glob("ds#*"))
    out = iqx.modify(source, "jpeg:quality=70", scheduler="processes")
    assert len(out.image_files) == 6


def test_the_automatic_choice_stays_with_threads_where_it_does_not_pay():
    assert not _process_pool.processes_pay_off(100_000, workers=1)
    assert not _process_pool.processes_pay_off(1, workers=2)
    # this test process runs threads and its main module is a script: no automatic start
    # (a forkserver would import the script again)
    if _process_pool._POOL is None:
        assert not _process_pool.processes_pay_off(100_000, workers=2)


def test_experiments_refuse_local_modes():
    from iqx.experiment import ExperimentSetup

    with pytest.raises(InvalidParameterError, match="dataset functions"):
        ExperimentSetup("x", None, "nowhere", scheduler="processes")


def test_many_small_images_go_to_processes_in_a_fresh_script(tmp_path):
    """A script that has run no dask computation forks its pool (~20 ms) for 1000 images."""
    root = _pngs(tmp_path / "ds", n=1000, side=8)
    script = textwrap.dedent(
        f"""
        import iqx
        from iqx.io import _process_pool
        out = iqx.modify(iqx.open_dataset({str(root)!r}), "jpeg:quality=70")
        assert _process_pool._POOL is not None, "no pool"
        assert _process_pool._POOL._mp_context.get_start_method() == "fork"
        print(len(out.image_files))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1000"


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_compare_stays_on_this_machine_in_threads(mode, dask_client):
    """An active client is bypassed by either local value; compare runs the graphs of larger
    images (numba metrics) in threads even for "processes"."""
    from iqx.datasets.compare import _compute_kwargs
    from iqx.io._sched import local_mode

    assert _compute_kwargs() == {}  # the active client
    with local_mode(mode):
        assert _compute_kwargs() == {"scheduler": "threads"}


def test_measure_uses_the_shared_pool_in_batches(tmp_path):
    """Small files are measured on the interpreter's pool, several images per task, with the
    records of the one-process path, in order; progress counts every image once."""
    from iqx.datasets.measure import measure_images

    files = sorted((_pngs(tmp_path / "ds", n=40) / "images").iterdir())
    one = list(measure_images(files, ["snr", "sharpness"], workers=1))
    _process_pool.local_process_pool(2)
    pool = _process_pool._POOL
    seen = []
    two = list(measure_images(files, ["snr", "sharpness"], workers=2, progress=seen.append))
    assert two == one
    assert _process_pool._POOL is pool  # the same pool, still running
    assert sum(seen) == 40 and len(seen) < 40  # batches of several images


def test_measure_falls_back_to_a_pool_of_its_own(tmp_path, monkeypatch):
    """Where the shared pool cannot start safely (a script's main module, threads running),
    the images go to a pool of this call, as before."""
    from iqx.datasets import measure as measure_module

    files = sorted((_pngs(tmp_path / "ds", n=4, side=64) / "images").iterdir())
    one = list(measure_module.measure_images(files, ["snr"], workers=1))
    monkeypatch.setattr(_process_pool, "pool_starts_safely", lambda workers: False)
    pools = []
    real = measure_module.ProcessPoolExecutor

    def spy(*args, **kwargs):
        pools.append(real(*args, **kwargs))
        return pools[-1]

    monkeypatch.setattr(measure_module, "ProcessPoolExecutor", spy)
    assert list(measure_module.measure_images(files, ["snr"], workers=2)) == one
    assert len(pools) == 1


def test_tiny_files_in_threads_run_in_the_calling_thread():
    """On tiny files two threads are slower than one: map_batches runs them here."""
    import threading

    from iqx.datasets._scheduler import map_batches
    from iqx.io._sched import local_mode

    def where(batch):
        return [threading.get_ident() for _ in batch]

    with local_mode("threads"):
        here = map_batches(where, list(range(40)), batch_size=5, tiny=True)
        pool = map_batches(where, list(range(40)), batch_size=5, tiny=False)
    assert set(here) == {threading.get_ident()}
    assert threading.get_ident() not in set(pool)


def test_work_defined_in_main_never_goes_to_the_pool(tmp_path):
    """A modifier class defined in ``__main__`` after the pool started cannot be rebuilt in
    a worker: the copy is made in threads instead, whatever ``scheduler`` asks."""
    _pngs(tmp_path / "ds", n=300)
    script = textwrap.dedent(
        f"""
        import iqx
        from iqx.datasets import derive_dataset, open_dataset
        from iqx.io import read_image, write_image
        from iqx.io._sched import local_mode
        iqx.modify({str(tmp_path / "ds")!r}, "jpeg:quality=70", scheduler="processes")

        class Invert:
            process_safe = True
            def __call__(self, src, dst):
                write_image(255 - read_image(src), dst)
                return {{}}

        with local_mode("processes"):
            out = derive_dataset(
                open_dataset({str(tmp_path / "ds")!r}), "inv", {{"id": "inv"}}, Invert()
            )
        print(len(out.image_files))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "300"
    img = np.asarray(Image.open(tmp_path / "ds#inv" / "images" / "im000.png"))
    src = np.asarray(Image.open(tmp_path / "ds" / "images" / "im000.png"))
    assert (img == 255 - src).all()


def test_a_users_reference_metric_is_compared_through_graphs(tmp_path):
    """Workers find metrics by id, and only iqx's own are registered in every worker: a
    user's metric keeps the graph path (its tasks carry the function), also on processes."""
    from iqx.datasets import compare as compare_module
    from iqx.registry import register_metric

    @register_metric("test_pool_mean_abs_diff", summary="Mean absolute difference (test).")
    def mean_abs_diff(reference, test):
        import xarray as xr

        r = np.asarray(reference, dtype=float)
        t = np.asarray(test, dtype=float)
        return xr.Dataset({"test_pool_mean_abs_diff": ((), float(np.abs(r - t).mean()))})

    assert compare_module._all_builtin(["psnr", "ssim"])
    assert not compare_module._all_builtin(["psnr", "test_pool_mean_abs_diff"])
    ref = iqx.open_dataset(_pngs(tmp_path / "ds", n=8))
    test = iqx.modify(ref, "jpeg:quality=40", scheduler="threads")
    frame = compare_module.compare_datasets(
        ref, test, metrics=["test_pool_mean_abs_diff"], scheduler="processes"
    )
    a = np.asarray(Image.open(ref.data_input / "im003.png"), dtype=float)
    b = np.asarray(Image.open(test.data_input / "im003.png"), dtype=float)
    assert frame.loc["im003.png", "test_pool_mean_abs_diff"] == np.abs(a - b).mean()


def test_measure_progress_counts_every_image_even_when_callbacks_come_late(tmp_path, monkeypatch):
    """A future's done-callback may run after its result is read (``concurrent.futures``
    wakes waiters first; ``distributed`` runs callbacks on its event loop): the images are
    then counted by the caller, once. Here the callbacks never run at all."""
    from iqx.datasets import measure as measure_module

    files = sorted((_pngs(tmp_path / "ds", n=12) / "images").iterdir())
    monkeypatch.setattr(measure_module._Counter, "watch", lambda self, future, n=1: None)
    seen = []
    list(measure_module.measure_images(files, ["snr"], workers=2, progress=seen.append))
    assert sum(seen) == 12


def test_measure_progress_counter_counts_a_future_once_in_either_order():
    from concurrent.futures import Future

    from iqx.datasets.measure import _Counter

    seen = []
    counter = _Counter(seen.append)
    early, late = Future(), Future()
    counter.watch(early, 3)
    counter.watch(late, 5)
    early.set_result([])  # callback first, then the caller
    counter.settle(early, 3)
    counter.settle(late, 5)  # the caller first, then the callback
    late.set_result([])
    failed = Future()
    counter.watch(failed, 7)
    failed.set_exception(ValueError("bad image"))  # a failed batch is not progress
    assert seen == [3, 5]
