"""The same 8-run experiment with IQUAFLOW 1.0.1 and with iqx: overhead per run side by side.

The experiment: a trivial training script (it only writes ``results.json``) on a 2-image
dataset, 2 JPEG modifiers x 2 values of ``--lr`` x 2 repetitions = 8 runs, serial. Each
framework's overhead per run is ``(experiment wall - dataset modification - 8 plain starts of
the script) / 8``, measured in one process after a 1-run warm-up experiment (so imports and
the first connection to the store are not counted):

- iqx: ``iqx.experiment.ExperimentSetup`` with ``max_parallel=1`` on its default SQLite store;
  the modified datasets are built before the timed ``execute()`` (iqx reuses a complete copy),
  their build time reported apart; anchor: ``subprocess.run([sys.executable, script, ...])``.
- IQUAFLOW: ``iquaflow.experiments.ExperimentSetup`` with ``DSModifier_jpg``, run by the
  side venv's interpreter, on its default store (``./mlruns``, MLflow 1.x file store) and on
  a SQLite store; its ``execute()`` always rebuilds the datasets, so their build time (timed
  alone just before) is subtracted; anchor: the script started as IQUAFLOW starts it
  (``shell=True``, ``python`` from ``PATH`` = the side venv's).

Usage (from the repository root)::

    .venv/bin/python benchmarks/compare_iquaflow_experiment.py \\
        --iquaflow-python /work/iquaflow-venv/bin/python --repeat 3

Without a usable ``--iquaflow-python`` it measures iqx only and says why. ``--json`` prints one
JSON line at the end (used by ``benchmarks/bench_experiment.py``). Figures:
``docs/performance-experiments.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_experiment import plain_runs, run_experiment, write_inputs

#: JPEG qualities of the two modifiers
QUALITIES = (30, 70)
#: values of the ``--lr`` hyperparameter
LRS = (0.1, 0.01)
#: repetitions of each (modifier, lr)
REPETITIONS = 2
N_RUNS = len(QUALITIES) * len(LRS) * REPETITIONS

#: runs inside the side venv: times IQUAFLOW's experiment, its modification and its anchor
IQUAFLOW_DRIVER = """\
import json, os, shutil, subprocess, sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
dataset, script, workdir, out = sys.argv[1:5]
stores = sys.argv[5].split(",")
qualities = json.loads(sys.argv[6]); lrs = json.loads(sys.argv[7]); reps = int(sys.argv[8])
os.chdir(workdir)
t0 = time.perf_counter()
import mlflow
from iquaflow.datasets import DSModifier_jpg, DSWrapper
from iquaflow.experiments import ExperimentSetup
from iquaflow.experiments.task_execution import PythonScriptTaskExecution
result = {"import_s": time.perf_counter() - t0, "mlflow": mlflow.__version__}
n_runs = len(qualities) * len(lrs) * reps


def experiment(name, uri, mods, params, repetitions):
    # IQUAFLOW keeps the tracking URI process-wide; "" means mlflow's default (./mlruns)
    mlflow.set_tracking_uri(uri or "file://" + os.path.join(workdir, "mlruns"))
    task = PythonScriptTaskExecution(model_script_path=script)
    return ExperimentSetup(
        experiment_name=name,
        task_instance=task,
        ref_dsw_train=DSWrapper(data_path=dataset),
        ds_modifiers_list=mods,
        extra_train_params=params,
        repetitions=repetitions,
        cloud_options={"tracking_uri": uri},
    )


def jpg_mods():
    return [DSModifier_jpg(params={"quality": q}) for q in qualities]


def plain():
    # the script started as IQUAFLOW starts it (a shell, ``python`` from PATH), no tracking
    t = time.perf_counter()
    for q in qualities:
        for lr in lrs:
            for _ in range(reps):
                with tempfile.TemporaryDirectory() as tmp:
                    cmd = f"python {script} --trainds {dataset}#jpg{q}_modifier"
                    cmd += f" --outputpath {tmp} --lr {lr}"
                    subprocess.run(cmd, shell=True, check=True, capture_output=True)
    return time.perf_counter() - t


for store in stores:
    uri = "" if store == "file" else "sqlite:///" + os.path.join(workdir, "mlflow.db")
    # warm-up: store creation (SQLite migrations), first run of the process
    warm = experiment("warm-up-" + store, uri, [DSModifier_jpg(params={"quality": 90})],
                      {"lr": [0.5]}, 1)
    warm.execute()
    t = time.perf_counter()
    for m in jpg_mods():
        m.modify_ds_wrapper(ds_wrapper=DSWrapper(data_path=dataset))
    modify_s = time.perf_counter() - t
    setup = experiment("bench-" + store, uri, jpg_mods(), {"lr": list(lrs)}, reps)
    t = time.perf_counter()
    setup.execute()
    execute_s = time.perf_counter() - t
    plain_s = plain()
    client = mlflow.tracking.MlflowClient(tracking_uri=uri or None)
    exp = client.get_experiment_by_name("bench-" + store)
    runs = client.search_runs([exp.experiment_id])
    result[store] = {
        "modify_s": modify_s,
        "execute_s": execute_s,
        "plain_s": plain_s,
        "runs": len(runs),
        "finished": sum(r.info.status == "FINISHED" for r in runs),
        "overhead_per_run": (execute_s - modify_s - plain_s) / n_runs,
    }
with open(out, "w") as f:
    json.dump(result, f)
"""


def measure_iqx(inputs: dict[str, str], root: Path) -> dict[str, float]:
    """One measurement of iqx on the 8-run experiment (fresh dataset copy and store)."""
    import iqx
    from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution

    dataset = root / "data" / "ds"
    shutil.copytree(inputs["dataset"], dataset)
    workdir = root / "work"
    workdir.mkdir()
    shutil.copyfile(inputs["store"], workdir / "mlflow.db")
    warm_inputs = {**inputs, "dataset": str(dataset)}
    run_experiment(warm_inputs, workdir, "warm-up", 1)  # imports, first connection
    mods = [f"jpeg:quality={q}" for q in QUALITIES]
    t = time.perf_counter()
    for spec in mods:
        iqx.modify(dataset, spec)
    modify_s = time.perf_counter() - t
    setup = ExperimentSetup(
        "bench",
        PythonScriptTaskExecution(inputs["script"]),
        dataset,
        mods,
        extra_train_params={"lr": list(LRS)},
        repetitions=REPETITIONS,
        max_parallel=1,
        workdir=workdir,
    )
    t = time.perf_counter()
    summary = setup.execute()
    execute_s = time.perf_counter() - t
    if len(summary.finished) != N_RUNS:
        raise RuntimeError(f"iqx: expected {N_RUNS} finished runs, got {summary!r}")
    args = [["--lr", str(lr)] for _ in QUALITIES for lr in LRS for _ in range(REPETITIONS)]
    plain_s = plain_runs(inputs["script"], str(dataset), args)
    return {
        "modify_s": modify_s,
        "execute_s": execute_s,
        "plain_s": plain_s,
        "runs": N_RUNS,
        "finished": len(summary.finished),
        "overhead_per_run": (execute_s - plain_s) / N_RUNS,
    }


def measure_iquaflow(
    python: str, inputs: dict[str, str], root: Path, stores: list[str]
) -> dict[str, object]:
    """One measurement of IQUAFLOW 1.0.1 (in the side venv) on the same experiment."""
    dataset = root / "data" / "ds"
    shutil.copytree(inputs["dataset"], dataset)
    workdir = root / "work"
    workdir.mkdir()
    driver = root / "iquaflow_driver.py"
    driver.write_text(IQUAFLOW_DRIVER)
    out = root / "result.json"
    env = dict(os.environ)
    # ``python`` on PATH is the side venv's: IQUAFLOW starts scripts with a shell
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [
        python,
        str(driver),
        str(dataset),
        inputs["script"],
        str(workdir),
        str(out),
        ",".join(stores),
        json.dumps(list(QUALITIES)),
        json.dumps(list(LRS)),
        str(REPETITIONS),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"IQUAFLOW driver failed:\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def check_iquaflow(python: str | None) -> str | None:
    """Why ``python`` cannot run the IQUAFLOW side (None when it can)."""
    if not python:
        return "no --iquaflow-python given"
    if not Path(python).is_file():
        return f"{python} does not exist"
    probe = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('iquaflow'))"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"{python} has no iquaflow: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Measure, print a table (and one JSON line with ``--json``); return the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iquaflow-python", help="the IQUAFLOW 1.0.1 side venv's python")
    parser.add_argument("--repeat", type=int, default=3, help="measurements (medians quoted)")
    parser.add_argument(
        "--stores", default="file,sqlite", help="IQUAFLOW stores: file (its default), sqlite"
    )
    parser.add_argument("--workdir", help="keep everything here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary line last")
    args = parser.parse_args(argv)
    stores = [s for s in args.stores.split(",") if s]
    why_not = check_iquaflow(args.iquaflow_python)
    if why_not:
        print(f"IQUAFLOW side skipped: {why_not}", file=sys.stderr)
    root = Path(args.workdir or tempfile.mkdtemp(prefix="iqx-vs-iquaflow-"))
    inputs = write_inputs(root / "inputs", n_images=2, size=256)
    samples: dict[str, list[dict[str, float]]] = {}
    versions = {}
    for r in range(args.repeat):
        order = ["iqx", "iquaflow"] if r % 2 == 0 else ["iquaflow", "iqx"]
        for who in order:
            where = root / f"rep{r}" / who
            where.mkdir(parents=True)
            if who == "iqx":
                samples.setdefault("iqx", []).append(measure_iqx(inputs, where))
            elif not why_not:
                res = measure_iquaflow(args.iquaflow_python, inputs, where, stores)
                versions["mlflow (IQUAFLOW venv)"] = res["mlflow"]
                samples.setdefault("iquaflow_import_s", []).append({"import_s": res["import_s"]})
                for store in stores:
                    key = "iquaflow" if store == "file" else f"iquaflow_{store}"
                    samples.setdefault(key, []).append(res[store])
        print(f"measurement {r + 1}/{args.repeat} done", file=sys.stderr)
    import mlflow

    import iqx

    versions.update({"iqx": iqx.__version__, "mlflow (iqx)": mlflow.__version__})
    summary: dict[str, object] = {"runs": N_RUNS, "repeat": args.repeat, "versions": versions}
    header = f"{'who':<16}{'overhead/run s':>16}{'execute s':>11}{'modify s':>10}{'plain s':>9}"
    print(header)
    medians: dict[str, float] = {}
    for key, rows in samples.items():
        if key.endswith("_import_s"):
            continue
        med = {f: statistics.median(row[f] for row in rows) for f in rows[0]}
        medians[key] = med["overhead_per_run"]
        summary[key] = {"median": med, "samples": rows}
        print(
            f"{key:<16}{med['overhead_per_run']:>16.3f}{med['execute_s']:>11.2f}"
            f"{med['modify_s']:>10.2f}{med['plain_s']:>9.2f}"
        )
    summary["overhead_per_run"] = medians
    if why_not:
        summary["iquaflow_skipped"] = why_not
    print(f"versions: {versions}; {N_RUNS} runs, medians of {args.repeat}")
    if args.json:
        print(json.dumps(summary))
    if not args.workdir:
        shutil.rmtree(root, ignore_errors=True)
    return summary


if __name__ == "__main__":
    main()
