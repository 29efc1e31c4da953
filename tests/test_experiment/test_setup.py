"""``ExperimentSetup``: the run grid, params and metrics in MLflow, references, bad input."""

from __future__ import annotations

import json

import pytest

from iqx.errors import InvalidParameterError, PathNotFoundError, TrackingError
from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution, Tracker


def _setup(tiny_dataset, probe_script, uri, **kw):
    kw.setdefault("max_parallel", 1)
    kw.setdefault("log_interval", 0)
    return ExperimentSetup(
        kw.pop("name", "exp"),
        PythonScriptTaskExecution(probe_script),
        tiny_dataset,
        kw.pop("mods", ["jpeg:quality=30", "jpeg:quality=90"]),
        cloud_options={"tracking_uri": uri},
        **kw,
    )


def _finished(tracker, name):
    exp = tracker.experiment_id(name, create=False)
    return [r for r in tracker.runs(exp) if r.status == "FINISHED"]


def test_grid_params_and_metrics(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(
        tiny_dataset,
        probe_script,
        sqlite_uri,
        extra_train_params={"lr": [0.1, 0.2], "mode": "ok"},
        repetitions=2,
        include_reference=True,
    )
    summary = setup.execute()
    assert len(summary.finished) == 3 * 2 * 2 and not summary.failed
    runs = _finished(Tracker(sqlite_uri), "exp")
    assert len(runs) == 12
    assert len({r.tags["iqx.key"] for r in runs}) == 12
    by_name = {}
    for r in runs:
        by_name.setdefault(r.run_name, []).append(r)
    assert set(by_name) == {"tiny", "tiny#jpeg_q30", "tiny#jpeg_q90"}
    q30 = by_name["tiny#jpeg_q30"][0]
    # IQUAFLOW's params, and iqx's
    assert q30.params["ds_name"] == "tiny#jpeg_q30"
    assert q30.params["modifier"] == "jpeg_q30"
    assert q30.params["quality"] == "30"
    assert json.loads(q30.params["modifier_config"])["id"] == "jpeg"
    assert q30.params["lr"] in ("0.1", "0.2") and q30.params["mode"] == "ok"
    assert q30.params["repetition"] in ("0", "1")
    assert q30.params["ds_path"].endswith("tiny#jpeg_q30")
    # results.json: scalars are metrics, strings params, lists the last step
    assert q30.metrics["accuracy"] == pytest.approx(0.5 * (1 - float(q30.params["lr"])))
    assert q30.metrics["loss"] == 0.25
    assert q30.params["optimizer"] == "sgd"
    # data volume from the manifest: JPEG q30 < q90 < 8-bit raw (the reference)
    ref, q90 = by_name["tiny"][0], by_name["tiny#jpeg_q90"][0]
    assert ref.metrics["bits_per_pixel"] == pytest.approx(8.0)
    assert q30.metrics["bits_per_pixel"] < q90.metrics["bits_per_pixel"] < 8.0
    assert q30.metrics["compression_ratio"] > q90.metrics["compression_ratio"] > 1.0
    assert q30.metrics["data_bytes"] > 0
    # metric history: every step of the loss curve
    history = Tracker(sqlite_uri).client.get_metric_history(q30.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, 0.25)]
    curve = Tracker(sqlite_uri).client.get_metric_history(q30.run_id, "val_curve")
    assert sorted((m.step, m.value) for m in curve) == [(0, 0.1), (10, 0.2)]
    # artifacts: output folder and console log
    arts = {a.path for a in Tracker(sqlite_uri).client.list_artifacts(q30.run_id)}
    assert {"results.json", "output.json", "args.json", "logs"} <= arts


def test_failures_are_marked_and_the_experiment_goes_on(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(
        tiny_dataset,
        probe_script,
        sqlite_uri,
        mods=["jpeg:quality=50"],
        extra_train_params={"mode": ["crash", "malformed", "nothing", "ok"]},
    )
    summary = setup.execute()
    assert len(summary.failed) == 3 and len(summary.finished) == 1
    tracker = Tracker(sqlite_uri)
    runs = tracker.runs(tracker.experiment_id("exp"))
    failed = {r.params["mode"]: r for r in runs if r.status == "FAILED"}
    assert "exited with code 3" in failed["crash"].tags["iqx.error"]
    assert "the model diverged" in failed["crash"].tags["iqx.stderr_tail"]
    assert "not valid JSON" in failed["malformed"].tags["iqx.error"]
    assert "wrote nothing" in failed["nothing"].tags["iqx.error"]
    arts = {a.path for a in tracker.client.list_artifacts(failed["crash"].run_id, "logs")}
    assert {"logs/error.txt", "logs/console.log"} <= arts


def test_reference_by_identity_and_none(tiny_dataset, probe_script, sqlite_uri):
    class DSModifier:  # what an IQUAFLOW identity modifier looks like to iqx
        iqx_identity = True

    setup = _setup(tiny_dataset, probe_script, sqlite_uri, mods=[DSModifier(), None])
    assert setup.modifiers == [None]
    summary = setup.execute()
    assert len(summary.finished) == 1
    (run,) = _finished(Tracker(sqlite_uri), "exp")
    assert run.params["ds_name"] == "tiny" and run.params["modifier"] == "reference"
    assert run.tags["iqx.reference"] == "true"


def test_bad_input_is_refused_before_work(tiny_dataset, probe_script, sqlite_uri, tmp_path):
    with pytest.raises(InvalidParameterError, match="reserved"):
        _setup(tiny_dataset, probe_script, sqlite_uri, extra_train_params={"testds": ["x"]})
    with pytest.raises(InvalidParameterError, match="reserved"):
        _setup(tiny_dataset, probe_script, sqlite_uri, extra_train_params={"outputpath": "x"})
    with pytest.raises(InvalidParameterError, match="not a valid argument name"):
        _setup(tiny_dataset, probe_script, sqlite_uri, extra_train_params={"-x": 1})
    with pytest.raises(InvalidParameterError, match="empty list"):
        _setup(tiny_dataset, probe_script, sqlite_uri, extra_train_params={"lr": []})
    with pytest.raises(InvalidParameterError, match="ds_modifiers_list is empty"):
        _setup(tiny_dataset, probe_script, sqlite_uri, mods=[])
    with pytest.raises(InvalidParameterError, match="did you mean 'tracking_uri'"):
        ExperimentSetup(
            "e",
            PythonScriptTaskExecution(probe_script),
            tiny_dataset,
            ["jpeg:quality=50"],
            cloud_options={"traking_uri": sqlite_uri},
        )
    with pytest.raises(PathNotFoundError, match=r"missing\.py"):
        ExperimentSetup(
            "e",
            PythonScriptTaskExecution(tmp_path / "missing.py"),
            tiny_dataset,
            ["jpeg:quality=50"],
            cloud_options={"tracking_uri": sqlite_uri},
        ).execute()
    with pytest.raises(TrackingError, match="unreachable"):
        _setup(tiny_dataset, probe_script, "http://127.0.0.1:9").execute()
    assert not any(p.name.startswith("tiny#") for p in tiny_dataset.parent.iterdir())


def test_default_store_is_sqlite_in_the_working_directory(
    tiny_dataset, probe_script, tmp_path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    setup = ExperimentSetup(
        "default-store",
        PythonScriptTaskExecution(probe_script),
        tiny_dataset,
        ["jpeg:quality=50"],
        max_parallel=1,
    )
    assert setup.tracker.uri == f"sqlite:///{(work / 'mlflow.db').as_posix()}"
    setup.execute()
    assert (work / "mlflow.db").is_file()
    assert any((work / "mlartifacts").rglob("results.json"))
    assert not (work / "mlruns").exists()
    # the environment variable overrides the default
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{(tmp_path / 'env.db').as_posix()}")
    assert ExperimentSetup(
        "e", PythonScriptTaskExecution(probe_script), tiny_dataset, ["jpeg:quality=50"]
    ).tracker.uri.endswith("env.db")


def test_mlflow_monitoring_passes_the_run(tiny_dataset, probe_script, sqlite_uri, tmp_path):
    setup = _setup(tiny_dataset, probe_script, sqlite_uri, mods=[None], mlflow_monitoring=True)
    setup.execute()
    (run,) = _finished(Tracker(sqlite_uri), "exp")
    local = Tracker(sqlite_uri).download_artifacts(run.run_id, "args.json", tmp_path)
    argv = json.loads(local.read_text())["argv"]
    pairs = dict(zip(argv[::2], argv[1::2]))
    assert pairs["--mlfrunid"] == run.run_id
    assert pairs["--mlfuri"] == sqlite_uri
    assert pairs["--mlfexpid"] == Tracker(sqlite_uri).experiment_id("exp")


def test_keep_datasets_false_removes_copies(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(
        tiny_dataset,
        probe_script,
        sqlite_uri,
        mods=[["quantize:bits=6", "jpeg:quality=50"]],
        keep_datasets=False,
    )
    setup.execute()
    assert sorted(p.name for p in tiny_dataset.parent.iterdir()) == ["tiny"]
    (run,) = _finished(Tracker(sqlite_uri), "exp")
    assert run.params["ds_name"] == "tiny#quantize_b6#jpeg_q50"
    assert json.loads(run.params["modifier_config"])["id"] == "chain"
    # a re-execution needs nothing: every run is done
    assert len(setup.execute().skipped) == 1


def test_chain_without_intermediates(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(
        tiny_dataset,
        probe_script,
        sqlite_uri,
        mods=[["quantize:bits=6", "jpeg:quality=50"]],
        keep_intermediates=False,
    )
    setup.execute()
    names = sorted(p.name for p in tiny_dataset.parent.iterdir())
    assert names == ["tiny", "tiny#quantize_b6+jpeg_q50"]


def test_secrets_never_reach_mlflow(tiny_dataset, tmp_path, sqlite_uri, monkeypatch):
    secret = "SUPERSECRETVALUE123"
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", secret)
    script = tmp_path / "leaky.py"
    script.write_text(
        "import argparse, json, os, sys\n"
        "p = argparse.ArgumentParser(); p.add_argument('--outputpath')\n"
        "a, _ = p.parse_known_args()\n"
        "print('token is', os.environ['MLFLOW_TRACKING_TOKEN'])\n"
        "print('key', os.environ.get('LEAK', ''), file=sys.stderr)\n"
        "json.dump({'acc': 1.0}, open(a.outputpath + '/results.json', 'w'))\n"
        "sys.exit(1)\n"
    )
    setup = ExperimentSetup(
        "secret",
        PythonScriptTaskExecution(script, env={"LEAK": "AKIAEXAMPLESECRET"}),
        tiny_dataset,
        [None],
        cloud_options={"tracking_uri": sqlite_uri, "aws_secret_access_key": "AKIAEXAMPLESECRET"},
        max_parallel=1,
        log_interval=0,
    )
    setup.execute()
    tracker = Tracker(sqlite_uri)
    (run,) = tracker.runs(tracker.experiment_id("secret"))
    text = json.dumps([run.params, run.tags, run.metrics])
    download = tmp_path / "dl"
    download.mkdir()
    local = tracker.download_artifacts(run.run_id, "", download)
    for f in local.rglob("*"):
        if f.is_file():
            text += f.read_text(errors="replace")
    assert "token is ***" in text
    assert secret not in text and "AKIAEXAMPLESECRET" not in text
