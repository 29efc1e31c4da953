"""Runs on a real ``LocalCluster`` with process workers, and against a real MLflow server."""

from __future__ import annotations

import pytest

from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution, Tracker


def _two_probe_runs(name, probe_script, dataset, tracking_uri, **options) -> ExperimentSetup:
    """train_probe.py on JPEG q40 with lr 0.1 and 0.2 (two runs), tracked at ``tracking_uri``."""
    return ExperimentSetup(
        name,
        PythonScriptTaskExecution(probe_script),
        dataset,
        ["jpeg:quality=40"],
        extra_train_params={"lr": [0.1, 0.2]},
        cloud_options={"tracking_uri": tracking_uri},
        log_interval=0,
        **options,
    )


@pytest.mark.distributed
def test_runs_on_a_local_cluster_with_process_workers(
    tiny_dataset, probe_script, sqlite_uri, dask_client
):
    setup = ExperimentSetup(
        "parallel",
        PythonScriptTaskExecution(probe_script),
        tiny_dataset,
        ["jpeg:quality=40", None],
        extra_train_params={"lr": [0.1, 0.2, 0.3]},
        cloud_options={"tracking_uri": sqlite_uri},
        scheduler=dask_client,
        max_parallel=2,
        log_interval=0.2,
    )
    summary = setup.execute()
    assert len(summary.finished) == 6 and not summary.failed
    tracker = Tracker(sqlite_uri)
    runs = tracker.runs(tracker.experiment_id("parallel"))
    assert sorted(r.status for r in runs) == ["FINISHED"] * 6
    # the console log of every run reached MLflow from the worker process
    for r in runs:
        logs = {a.path for a in tracker.client.list_artifacts(r.run_id, "logs")}
        assert "logs/console.log" in logs


@pytest.mark.distributed
def test_scheduler_address_and_default_local_cluster(
    tiny_dataset, probe_script, sqlite_uri, local_cluster
):
    by_address = _two_probe_runs(
        "by-address",
        probe_script,
        tiny_dataset,
        sqlite_uri,
        scheduler=local_cluster.scheduler_address,
    )
    assert len(by_address.execute().finished) == 2
    default = _two_probe_runs(
        "default-cluster", probe_script, tiny_dataset, sqlite_uri, max_parallel=2
    )
    assert len(default.execute().finished) == 2


def test_experiment_against_a_real_mlflow_server(tiny_dataset, probe_script, mlflow_server):
    setup = _two_probe_runs("over-http", probe_script, tiny_dataset, mlflow_server, max_parallel=2)
    summary = setup.execute()
    assert len(summary.finished) == 2
    tracker = Tracker(mlflow_server)
    runs = tracker.runs(tracker.experiment_id("over-http"))
    assert all(r.metrics["accuracy"] > 0 for r in runs)
    assert {a.path for a in tracker.client.list_artifacts(runs[0].run_id)} >= {
        "results.json",
        "logs",
    }
    assert len(setup.execute().skipped) == 2


@pytest.mark.distributed
def test_measure_task_on_a_cluster_runs_in_process(tiny_dataset, sqlite_uri, dask_client):
    from iqx.experiment import MeasureTask

    setup = ExperimentSetup(
        "measure-on-cluster",
        MeasureTask(blind=(), reference=("psnr",)),  # PSNR computed by the cluster's workers
        tiny_dataset,
        ["jpeg:quality=30", "jpeg:quality=90"],
        cloud_options={"tracking_uri": sqlite_uri},
        scheduler=dask_client,
        log_interval=0,
    )
    assert len(setup.execute().finished) == 2
    table = setup.run_table().set_index("setting")
    assert table.loc["jpeg_q30", "psnr"] < table.loc["jpeg_q90", "psnr"]
