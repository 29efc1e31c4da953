"""Experiments (issue 8): per-run overhead, serial vs a 2-worker cluster, IQUAFLOW side by side.

- :class:`ExperimentOverhead`: an experiment of ``N`` runs of a script that only writes
  ``results.json`` (local SQLite store, serial) against the same ``N`` plain
  ``subprocess.run([sys.executable, script, ...])`` calls; the difference per run is what iqx's
  bookkeeping and MLflow logging cost (target: under 0.3 s).
- :class:`ExperimentParallel`: wall time of a 16-run experiment of a sleeping script, serial
  (``max_parallel=1``) against ``max_parallel=2`` on iqx's default ``LocalCluster`` (threads)
  and on a ``LocalCluster`` of 2 process workers given as ``scheduler`` (target: >= 1.8x).
  The script sleeps ``$IQX_BENCH_SCRIPT_SECONDS`` (default 0.5 s, so ``asv run --quick`` stays
  short); the issue's 5-second figure is ``IQX_BENCH_SCRIPT_SECONDS=5``.
- :class:`IquaflowSideBySide`: ``benchmarks/compare_iquaflow_experiment.py`` run against the
  IQUAFLOW 1.0.1 side venv (``$IQX_IQUAFLOW_PYTHON``, default ``/work/iquaflow-venv``); NaN when
  it is absent.

Dataset, script and MLflow database are made in ``setup_cache``/``setup``; only experiments
and subprocesses are timed. ``IQX_BENCH_SMALL=1`` shrinks everything to a few seconds.
Figures and commands: ``docs/performance-experiments.md``.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import SMALL, cache_dir, iquaflow_python

#: runs of the overhead experiment
OVERHEAD_RUNS = 2 if SMALL else 16
#: runs of the parallel experiment (the issue's 16)
PARALLEL_RUNS = 2 if SMALL else 16
#: seconds the script sleeps in the parallel experiment
SCRIPT_SECONDS = 0.05 if SMALL else float(os.environ.get("IQX_BENCH_SCRIPT_SECONDS", "0.5"))

#: a training script following IQUAFLOW's contract that only writes ``results.json``
#: (after sleeping ``--seconds``); imports nothing beyond the standard library
TRIVIAL_SCRIPT = '''\
"""Trivial training script: writes results.json (IQUAFLOW's contract), optionally sleeps."""
import argparse
import json
import time
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--outputpath", required=True)
parser.add_argument("--seconds", type=float, default=0.0)
args, _ = parser.parse_known_args()
if args.seconds:
    time.sleep(args.seconds)
results = {"accuracy": 0.9, "loss": [1.0, 0.5, 0.25]}
Path(args.outputpath, "results.json").write_text(json.dumps(results))
'''


def write_inputs(root: Path, *, n_images: int = 2, size: int = 128) -> dict[str, str]:
    """Write the trivial script and a small IQUAFLOW-layout dataset under ``root``.

    Parameters
    ----------
    root : Path
        Folder to write into (created).
    n_images, size : int
        Images of the generated 8-bit GeoTIFF dataset and their edge in pixels.

    Returns
    -------
    dict
        ``{"script": path, "dataset": path, "store": path}`` as strings (picklable for asv);
        ``store`` is a SQLite file with MLflow's tables (see :func:`make_template_store`).
    """
    from iqx.experiment.sample_dataset import write_sample_dataset

    root.mkdir(parents=True, exist_ok=True)
    script = root / "trivial_train.py"
    if not script.is_file() or script.read_text() != TRIVIAL_SCRIPT:
        script.write_text(TRIVIAL_SCRIPT)
    dataset = root / "data" / "bench_ds"
    write_sample_dataset(dataset, n_images=n_images, size=size, seed=3)
    store = make_template_store(root)
    return {"script": str(script), "dataset": str(dataset), "store": store}


def plain_runs(
    script: str,
    dataset: str,
    arguments: list[list[str]],
    python: str | None = None,
) -> float:
    """Seconds to run ``script`` once per argument list with plain ``subprocess.run``.

    Each call gets IQUAFLOW's ``--trainds``/``--outputpath`` and a fresh output folder, like a
    run of an experiment, but nothing is tracked: this is the anchor the experiment's wall
    time is compared with.

    Parameters
    ----------
    script, dataset : str
        The training script and the dataset folder passed as ``--trainds``.
    arguments : list of list of str
        Extra arguments of each call (one list per run).
    python : str, optional
        Interpreter (default: ``sys.executable``, the one iqx uses).
    """
    python = python or sys.executable
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="iqx-bench-plain-") as tmp:
        for i, extra in enumerate(arguments):
            out = Path(tmp, str(i))
            out.mkdir()
            cmd = [python, script, "--trainds", dataset, "--outputpath", str(out), *extra]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def make_template_store(root: Path) -> str:
    """A SQLite store with MLflow's tables, made once under ``root`` (migrations take seconds).

    Returns
    -------
    str
        Path of the database file, copied by :func:`fresh_workdir`.
    """
    from iqx.experiment.tracking import Tracker

    folder = root / "store-template"
    db = folder / "mlflow.db"
    if not db.is_file():
        tmp = Path(tempfile.mkdtemp(prefix="store-", dir=root))
        Tracker(workdir=tmp).experiment_id("template")
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    return str(db)


def fresh_workdir(inputs: dict[str, str], *, warm_up: bool = not SMALL) -> Path:
    """A new work folder holding a copy of the template store, ready to time.

    With ``warm_up`` (default, but not under ``IQX_BENCH_SMALL=1``), a 1-run experiment is
    executed first, so the timed experiments pay neither imports nor the first connection to
    the store.
    """
    workdir = Path(tempfile.mkdtemp(prefix="iqx-bench-exp-"))
    shutil.copyfile(inputs["store"], workdir / "mlflow.db")
    if warm_up:
        run_experiment(inputs, workdir, _unique("warm-up"), 1)
    return workdir


def run_experiment(
    inputs: dict[str, str],
    workdir: Path,
    name: str,
    n_runs: int,
    *,
    seconds: float = 0.0,
    max_parallel: int = 1,
    scheduler: object = None,
) -> float:
    """Seconds to execute an iqx experiment of ``n_runs`` runs on the unmodified dataset.

    The runs differ by a ``seed`` hyperparameter (a grid of ``n_runs`` values); the store is
    the default SQLite one in ``workdir``.
    """
    from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution

    params: dict[str, object] = {"seed": list(range(n_runs))}
    if seconds:
        params["seconds"] = seconds
    setup = ExperimentSetup(
        name,
        PythonScriptTaskExecution(inputs["script"]),
        inputs["dataset"],
        include_reference=True,
        extra_train_params=params,
        max_parallel=max_parallel,
        scheduler=scheduler,
        workdir=workdir,
    )
    t0 = time.perf_counter()
    summary = setup.execute()
    elapsed = time.perf_counter() - t0
    if len(summary.finished) != n_runs:
        raise RuntimeError(f"expected {n_runs} finished runs, got {summary!r}")
    return elapsed


_names = itertools.count()


def _unique(prefix: str) -> str:
    """A fresh experiment name (a repeated name would resume, i.e. skip every run)."""
    return f"{prefix}-{os.getpid()}-{next(_names)}-{time.time_ns()}"


class ExperimentOverhead:
    """Per-run overhead of iqx (bookkeeping + MLflow on local SQLite) with a trivial script."""

    timeout = 600
    number = 1
    repeat = (1, 5, 120.0)
    warmup_time = 0.0
    unit = "seconds"

    def setup_cache(self) -> dict[str, str]:
        return write_inputs(cache_dir() / "experiment")

    def setup(self, inputs: dict[str, str]) -> None:
        self.workdir = fresh_workdir(inputs)
        self.args = [["--seed", str(i)] for i in range(OVERHEAD_RUNS)]

    def teardown(self, inputs: dict[str, str]) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def time_iqx_experiment(self, inputs: dict[str, str]) -> None:
        """``OVERHEAD_RUNS`` runs through ``ExperimentSetup.execute`` (serial)."""
        run_experiment(inputs, self.workdir, _unique("overhead"), OVERHEAD_RUNS)

    def time_plain_subprocess(self, inputs: dict[str, str]) -> None:
        """The anchor: the same script started ``OVERHEAD_RUNS`` times, nothing tracked."""
        plain_runs(inputs["script"], inputs["dataset"], self.args)

    def track_overhead_per_run(self, inputs: dict[str, str]) -> float:
        """(experiment - plain subprocesses) / runs, in seconds, measured back to back."""
        plain = plain_runs(inputs["script"], inputs["dataset"], self.args)
        iqx = run_experiment(inputs, self.workdir, _unique("overhead"), OVERHEAD_RUNS)
        return (iqx - plain) / OVERHEAD_RUNS


def _warm_worker(workdir: str) -> None:
    """Import what a run needs on a dask worker and open the store (outside the timed region).

    A worker's first run otherwise pays MLflow's import and store initialisation when it
    uploads artifacts (seen here: 20-30 s on the loaded machine).
    """
    import iqx.experiment.executor  # noqa: F401
    from iqx.experiment.tracking import Tracker

    Tracker(workdir=workdir).experiment_id("warm-up")


class _ParallelBase:
    """Inputs, store and (for ``mode="processes"``) the cluster of the parallel benchmarks.

    ``mode``: ``serial`` (``max_parallel=1``), ``threads`` (``max_parallel=2``, iqx's default
    ``LocalCluster``: one worker, 2 threads), ``processes`` (a ``LocalCluster`` of 2
    single-thread process workers passed as ``scheduler``, started in ``setup``).
    """

    timeout = 1800

    def setup_cache(self) -> dict[str, str]:
        return write_inputs(cache_dir() / "experiment")

    def setup(self, inputs: dict[str, str], seconds: float, mode: str) -> None:
        self.workdir = fresh_workdir(inputs)
        self.cluster = self.client = None
        if mode == "processes":
            from distributed import Client, LocalCluster

            self.cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
            )
            self.client = Client(self.cluster, set_as_default=False)
            self.client.run(_warm_worker, str(self.workdir))

    def teardown(self, inputs: dict[str, str], seconds: float, mode: str) -> None:
        if self.client is not None:
            self.client.close()
            self.cluster.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _run(self, inputs: dict[str, str], seconds: float, mode: str) -> float:
        return run_experiment(
            inputs,
            self.workdir,
            _unique(f"parallel-{mode}"),
            PARALLEL_RUNS,
            seconds=seconds,
            max_parallel=1 if mode == "serial" else 2,
            scheduler=self.client,
        )


class ExperimentParallel(_ParallelBase):
    """Wall time of ``PARALLEL_RUNS`` runs of a sleeping script: serial vs 2 workers."""

    params = [[SCRIPT_SECONDS], ["serial", "threads", "processes"]]  # noqa: RUF012
    param_names = ["script_seconds", "mode"]  # noqa: RUF012
    number = 1
    repeat = (1, 3, 300.0)
    warmup_time = 0.0

    def time_experiment(self, inputs: dict[str, str], seconds: float, mode: str) -> None:
        """The whole ``execute()`` (a default cluster is started and stopped inside it)."""
        self._run(inputs, seconds, mode)


class ExperimentSpeedup(_ParallelBase):
    """Serial wall time / 2-worker wall time of the same experiment, measured back to back."""

    params = [[SCRIPT_SECONDS], ["threads", "processes"]]  # noqa: RUF012
    param_names = ["script_seconds", "mode"]  # noqa: RUF012
    unit = "ratio"

    def track_speedup(self, inputs: dict[str, str], seconds: float, mode: str) -> float:
        """Serial seconds / parallel seconds (target >= 1.8 for 16 runs of 5 s)."""
        serial = self._run(inputs, seconds, "serial")
        return serial / self._run(inputs, seconds, mode)


class IquaflowSideBySide:
    """Overhead per run of IQUAFLOW 1.0.1 and of iqx on the same 8-run experiment.

    Runs ``benchmarks/compare_iquaflow_experiment.py`` once (it repeats and takes medians
    itself); NaN when the side venv is absent or under ``IQX_BENCH_SMALL=1``.
    """

    timeout = 1800
    unit = "seconds"

    def setup_cache(self) -> dict[str, float]:
        python = iquaflow_python()
        if python is None or SMALL:
            return {}
        script = Path(__file__).with_name("compare_iquaflow_experiment.py")
        proc = subprocess.run(
            [sys.executable, str(script), "--iquaflow-python", python, "--repeat", "3", "--json"],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(proc.stdout.strip().splitlines()[-1])["overhead_per_run"]

    def track_iquaflow_overhead_per_run(self, results: dict[str, float]) -> float:
        """IQUAFLOW 1.0.1 (its default file store), seconds per run."""
        return results.get("iquaflow", math.nan)

    def track_iquaflow_sqlite_overhead_per_run(self, results: dict[str, float]) -> float:
        """IQUAFLOW 1.0.1 on a SQLite store, seconds per run."""
        return results.get("iquaflow_sqlite", math.nan)

    def track_iqx_overhead_per_run(self, results: dict[str, float]) -> float:
        """iqx (SQLite store, serial) on the same experiment, seconds per run."""
        return results.get("iqx", math.nan)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual measurement
    """Measure by hand, repeated, medians printed (the figures of the docs page).

    ``python -m benchmarks.bench_experiment overhead --runs 16 --repeat 3`` or
    ``python -m benchmarks.bench_experiment parallel --seconds 5 --runs 16 --repeat 3``.
    """
    import argparse
    import statistics

    parser = argparse.ArgumentParser(description="iqx experiment measurements")
    parser.add_argument("what", choices=["overhead", "parallel"])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0, help="script sleep (parallel)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--modes", default="serial,threads,processes", help="parallel modes, in turn"
    )
    args = parser.parse_args(argv)
    inputs = write_inputs(cache_dir() / "experiment")
    samples: dict[str, list[float]] = {}
    if args.what == "overhead":
        workdir = fresh_workdir(inputs, warm_up=True)
        plain_args = [["--seed", str(i)] for i in range(args.runs)]
        for r in range(args.repeat):
            plain = plain_runs(inputs["script"], inputs["dataset"], plain_args)
            exp = run_experiment(inputs, workdir, _unique("overhead"), args.runs)
            for key, value in (
                ("plain s", plain),
                ("iqx s", exp),
                ("overhead s/run", (exp - plain) / args.runs),
            ):
                samples.setdefault(key, []).append(value)
            print(f"{r + 1}/{args.repeat}: plain {plain:.2f} s, iqx {exp:.2f} s", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        modes = args.modes.split(",")
        bench = _ParallelBase()
        for r in range(args.repeat):
            for mode in modes:
                bench.setup(inputs, args.seconds, mode)
                try:
                    wall = run_experiment(
                        inputs,
                        bench.workdir,
                        _unique(f"parallel-{mode}"),
                        args.runs,
                        seconds=args.seconds,
                        max_parallel=1 if mode == "serial" else 2,
                        scheduler=bench.client,
                    )
                finally:
                    bench.teardown(inputs, args.seconds, mode)
                samples.setdefault(f"{mode} s", []).append(wall)
                print(f"{r + 1}/{args.repeat} {mode}: {wall:.2f} s", flush=True)
            if "serial" in modes:
                for mode in modes[1:]:
                    ratio = samples["serial s"][-1] / samples[f"{mode} s"][-1]
                    samples.setdefault(f"speedup {mode}", []).append(ratio)
    for key, values in samples.items():
        shown = ", ".join(f"{v:.3f}" for v in values)
        print(f"{key}: median {statistics.median(values):.3f} ({shown})")


if __name__ == "__main__":  # pragma: no cover
    main()
