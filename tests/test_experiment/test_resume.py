"""Resume: finished runs are skipped, failed/killed/missing ones rerun, a killed driver loses
and duplicates nothing (a real ``execute()`` process killed with SIGKILL at several points)."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution, Tracker

DRIVER = textwrap.dedent(
    """
    import sys
    from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution

    def say(line):
        print(line, flush=True)

    if __name__ == "__main__":
        ExperimentSetup(
            "killme",
            PythonScriptTaskExecution(sys.argv[1]),
            sys.argv[2],
            ["jpeg:quality=40", "jpeg:quality=80"],
            extra_train_params={"mode": "sleep", "seconds": 0.4, "lr": [0.1, 0.2]},
            repetitions=2,
            cloud_options={"tracking_uri": sys.argv[3]},
            max_parallel=int(sys.argv[4]),
            progress=say,
            log_interval=0,
        ).execute()
    """
)


def _setup(tiny_dataset, probe_script, uri, parallel=1):
    return ExperimentSetup(
        "killme",
        PythonScriptTaskExecution(probe_script),
        tiny_dataset,
        ["jpeg:quality=40", "jpeg:quality=80"],
        extra_train_params={"mode": "sleep", "seconds": 0.4, "lr": [0.1, 0.2]},
        repetitions=2,
        cloud_options={"tracking_uri": uri},
        max_parallel=parallel,
        log_interval=0,
    )


def _check_complete(uri, n_expected):
    tracker = Tracker(uri)
    runs = tracker.runs(tracker.experiment_id("killme"))
    finished = collections.Counter(r.tags["iqx.key"] for r in runs if r.status == "FINISHED")
    assert len(finished) == n_expected, "runs lost"
    assert max(finished.values()) == 1, "runs duplicated"
    assert not [r for r in runs if r.status == "RUNNING"]
    return runs


def test_second_execute_skips_everything(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(tiny_dataset, probe_script, sqlite_uri)
    first = setup.execute()
    assert len(first.finished) == 8
    second = setup.execute()
    assert not second.finished and len(second.skipped) == 8
    _check_complete(sqlite_uri, 8)


def test_failed_killed_and_stale_runs_rerun(tiny_dataset, probe_script, sqlite_uri):
    setup = _setup(tiny_dataset, probe_script, sqlite_uri)
    setup.execute()
    tracker = Tracker(sqlite_uri)
    exp = tracker.experiment_id("killme")
    runs = tracker.runs(exp)
    tracker.terminate(runs[0].run_id, "FAILED")
    tracker.terminate(runs[1].run_id, "KILLED")
    # a run left RUNNING by a process that no longer exists
    tracker.client.update_run(runs[2].run_id, status="RUNNING")
    tracker.client.set_tag(runs[2].run_id, "iqx.owner", "nohost:999999:1.0")
    summary = setup.execute()
    assert len(summary.finished) == 3 and summary.killed_stale == [runs[2].run_id]
    assert tracker.client.get_run(runs[2].run_id).info.status == "KILLED"
    _check_complete(sqlite_uri, 8)


def test_live_owner_blocks_a_second_executor(tiny_dataset, probe_script, sqlite_uri):
    from iqx.errors import ExperimentError
    from iqx.experiment.setup import _owner

    setup = _setup(tiny_dataset, probe_script, sqlite_uri)
    setup.execute()
    tracker = Tracker(sqlite_uri)
    run = tracker.runs(tracker.experiment_id("killme"))[0]
    tracker.client.update_run(run.run_id, status="RUNNING")
    tracker.client.set_tag(run.run_id, "iqx.owner", _owner())  # this very process: alive
    with pytest.raises(ExperimentError, match="being executed by another process"):
        setup.execute()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("parallel", "kill_after"),
    [
        (1, "to run"),  # before any run finished (maybe while modifying)
        (1, "[2/"),  # mid-experiment
        (1, "[6/"),  # near the end
        (2, "[3/"),  # parallel runs in flight
    ],
)
def test_sigkill_mid_experiment_loses_and_duplicates_nothing(
    tiny_dataset, probe_script, sqlite_uri, tmp_path, parallel, kill_after
):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen(
        [sys.executable, str(driver), probe_script, tiny_dataset, sqlite_uri, str(parallel)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        seen.append(line)
        if kill_after in line:
            break
        assert time.monotonic() < deadline, "".join(seen)
    else:
        pytest.fail("driver ended before the kill point:\n" + "".join(seen))
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # re-executing completes the experiment
    summary = _setup(tiny_dataset, probe_script, sqlite_uri).execute()
    runs = _check_complete(sqlite_uri, 8)
    assert len(summary.finished) + len(summary.skipped) == 8
    assert {r.status for r in runs} <= {"FINISHED", "KILLED"}
