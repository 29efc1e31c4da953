"""``PythonScriptTaskExecution``: IQUAFLOW's command-line contract, exit codes, output parsing."""

from __future__ import annotations

import json
import sys

import pytest

from iqx.errors import InvalidParameterError, PathNotFoundError, TaskFailedError
from iqx.experiment import PythonScriptTaskExecution, RunRequest
from iqx.experiment.results import ResultsPolicy, parse_output_folder


def _request(tmp_path, **hp):
    out = tmp_path / "out"
    out.mkdir()
    return RunRequest(
        train_path=str(tmp_path / "ds#jpeg_q70"),
        reference_path=str(tmp_path / "ds"),
        output_path=str(out),
        log_path=str(tmp_path / "console.log"),
        hyperparameters=hp,
        val_path=str(tmp_path / "val"),
    )


def test_arguments_reach_the_script_literally(tmp_path, probe_script, monkeypatch):
    monkeypatch.chdir(tmp_path)
    task = PythonScriptTaskExecution(probe_script)
    hostile = "; touch PWNED"
    req = _request(tmp_path, note=hostile, layers=[64, 32], opts={"a": 1}, lr=0.01, flag=True)
    task.execute(req)
    argv = json.loads((tmp_path / "out" / "args.json").read_text())["argv"]
    pairs = dict(zip(argv[::2], argv[1::2]))
    assert pairs["--note"] == hostile
    assert json.loads(pairs["--layers"]) == [64, 32]
    assert json.loads(pairs["--opts"]) == {"a": 1}
    assert pairs["--lr"] == "0.01" and pairs["--flag"] == "True"
    assert pairs["--trainds"] == req.train_path and pairs["--valds"] == req.val_path
    assert "--testds" not in pairs and "--mlfuri" not in pairs
    assert not (tmp_path / "PWNED").exists()
    # the command is the current interpreter and an argument list
    assert task.command(req)[0] == sys.executable


def test_console_output_goes_to_the_log(tmp_path, probe_script):
    PythonScriptTaskExecution(probe_script).execute(_request(tmp_path))
    log = (tmp_path / "console.log").read_text()
    assert "training on" in log and "a warning on stderr" in log


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("crash", "exited with code 3"), ("signal", "killed by signal 9")],
)
def test_exit_code_is_checked(tmp_path, probe_script, mode, reason):
    task = PythonScriptTaskExecution(probe_script)
    with pytest.raises(TaskFailedError, match=reason) as err:
        task.execute(_request(tmp_path, mode=mode))
    if mode == "crash":
        assert "the model diverged" in err.value.detail


def test_timeout_kills_the_script_and_its_children(tmp_path):
    marker = tmp_path / "child_alive"
    child = tmp_path / "child.py"
    child.write_text(f"import time\ntime.sleep(3)\nopen({str(marker)!r}, 'w').close()\n")
    script = tmp_path / "hang.py"
    script.write_text(
        "import subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {str(child)!r}])\n"
        "time.sleep(60)\n"
    )
    task = PythonScriptTaskExecution(script, timeout=1.0)
    with pytest.raises(TaskFailedError, match="timed out after 1 s"):
        task.execute(_request(tmp_path))
    import time

    time.sleep(3.5)
    assert not marker.exists(), "the script's child outlived the timeout"


def test_missing_script_and_bad_timeout(tmp_path):
    task = PythonScriptTaskExecution(tmp_path / "nope.py")
    with pytest.raises(PathNotFoundError, match=r"nope\.py"):
        task.check()
    with pytest.raises(TaskFailedError, match="does not exist"):
        task.execute(_request(tmp_path))
    with pytest.raises(InvalidParameterError):
        PythonScriptTaskExecution(tmp_path / "x.py", timeout=0)


def test_results_json_rules(tmp_path):
    (tmp_path / "results.json").write_text(
        json.dumps(
            {
                "loss": [3.0, 2.0, 1.0],
                "curve": [[5, 0.1], [10, 0.2]],
                "acc": 0.75,
                "epochs": 3,
                "name": "resnet",
                "done": True,
                "nested": {"a": 1},
                "empty": [],
            }
        )
    )
    (tmp_path / "output.json").write_text("[]")
    parsed = parse_output_folder(tmp_path)
    assert parsed.metrics["loss"] == [(0, 3.0), (1, 2.0), (2, 1.0)]
    assert parsed.metrics["curve"] == [(5, 0.1), (10, 0.2)]
    assert parsed.metrics["acc"] == 0.75 and parsed.metrics["epochs"] == 3.0
    assert parsed.params == {"name": "resnet", "done": True}
    assert sorted(parsed.ignored) == ["empty", "nested"]
    assert parsed.files == ["output.json", "results.json"]
    # IQUAFLOW parity: scalars as params
    legacy = parse_output_folder(tmp_path, ResultsPolicy(scalars_as_params=True))
    assert legacy.params["acc"] == 0.75 and "acc" not in legacy.metrics


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"loss": [1, "a"]}', "non-number"),
        ('{"c": [[1, 2], 3]}', "mixes"),
    ],
)
def test_malformed_results_fail(tmp_path, content, match):
    (tmp_path / "results.json").write_text(content)
    with pytest.raises(TaskFailedError, match=match):
        parse_output_folder(tmp_path)


def test_empty_output_folder_fails(tmp_path):
    with pytest.raises(TaskFailedError, match="wrote nothing"):
        parse_output_folder(tmp_path)
