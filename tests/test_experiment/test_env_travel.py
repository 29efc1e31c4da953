"""A script task's ``env`` follows the credentials rule of :mod:`iqx.experiment._secrets`.

``PythonScriptTaskExecution(env=...)`` travels pickled with the task to every dask worker.
Over a link that is neither local nor TLS, a credential in it (by name, or a value that is
one of the driver's credentials) is refused before any run, like a task holding ``aws_*``
options, naming the variable and never its value; ordinary variables (the script's
configuration) still travel. Before, ``env={"WANDB_API_KEY": ...}`` reached the worker's
script in clear text. The cluster is real: a TCP scheduler on this machine's non-loopback
address (what a remote ``tcp://host:8786`` scheduler is to the driver) or on 127.0.0.1.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from iqx.errors import ExperimentError
from iqx.experiment import ExperimentSetup
from iqx.experiment._secrets import env_credentials
from iqx.experiment.task import PythonScriptTaskExecution
from tests.test_experiment.test_secrets_travel import _outer_ip, cluster_at  # noqa: F401

pytest.importorskip("distributed")

KEY = "wandb-k3y-that-must-stay-home"

SCRIPT = textwrap.dedent(
    """\
    import argparse, json, os
    from pathlib import Path

    p = argparse.ArgumentParser()
    p.add_argument("--trainds")
    p.add_argument("--outputpath")
    args, _ = p.parse_known_args()
    seen = {k: os.environ.get(k) for k in ("WANDB_API_KEY", "RUN_LABEL", "MY_SETTING")}
    print("env:", json.dumps(seen), flush=True)
    with open(os.environ["RECORD"], "a") as f:
        f.write(json.dumps(seen) + "\\n")
    Path(args.outputpath, "results.json").write_text('{"ok": 1}')
    """
)


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "env_probe.py"
    path.write_text(SCRIPT)
    return path


def _setup(tiny_dataset, uri, task, client):
    return ExperimentSetup(
        "env-travel",
        task,
        tiny_dataset,
        ["reference"],
        cloud_options={"tracking_uri": uri},
        scheduler=client,
        max_parallel=1,
        log_interval=0,
    )


@pytest.fixture
def remote(cluster_at):  # noqa: F811 - the fixture imported above
    ip = _outer_ip()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    client = cluster_at(ip)
    assert client.scheduler.address.startswith(f"tcp://{ip}:")
    return client


def test_a_credential_in_env_is_refused_over_an_open_link(
    tiny_dataset, sqlite_uri, tmp_path, script, remote
):
    record = tmp_path / "record.jsonl"
    env = {"RECORD": str(record), "WANDB_API_KEY": KEY, "RUN_LABEL": "a"}
    task = PythonScriptTaskExecution(script, env=env)
    with pytest.raises(ExperimentError, match=r"not encrypted.*TLS") as err:
        _setup(tiny_dataset, sqlite_uri, task, remote).execute()
    assert "WANDB_API_KEY" in str(err.value) and "workers' own environment" in str(err.value)
    assert KEY not in str(err.value)
    assert not record.exists()  # refused before any run: the value never left


def test_a_copied_credential_value_is_refused_too(
    tiny_dataset, sqlite_uri, tmp_path, script, remote, monkeypatch
):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY)
    task = PythonScriptTaskExecution(
        script, env={"RECORD": str(tmp_path / "r.jsonl"), "MY_SETTING": KEY}
    )
    with pytest.raises(ExperimentError, match=r"MY_SETTING") as err:
        _setup(tiny_dataset, sqlite_uri, task, remote).execute()
    assert KEY not in str(err.value)


def test_ordinary_env_still_travels(tiny_dataset, sqlite_uri, tmp_path, script, remote):
    record = tmp_path / "record.jsonl"
    task = PythonScriptTaskExecution(script, env={"RECORD": str(record), "RUN_LABEL": "a"})
    summary = _setup(tiny_dataset, sqlite_uri, task, remote).execute()
    assert len(summary.finished) == 1 and not summary.failed
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    assert seen == [{"WANDB_API_KEY": None, "RUN_LABEL": "a", "MY_SETTING": None}]


def test_a_private_link_carries_it_and_logs_scrub_it(
    tiny_dataset,
    sqlite_uri,
    tmp_path,
    script,
    cluster_at,  # noqa: F811
):
    record = tmp_path / "record.jsonl"
    task = PythonScriptTaskExecution(script, env={"RECORD": str(record), "WANDB_API_KEY": KEY})
    setup = _setup(tiny_dataset, sqlite_uri, task, cluster_at("127.0.0.1"))
    assert KEY in setup.secrets()
    summary = setup.execute()
    assert len(summary.finished) == 1
    assert json.loads(record.read_text())["WANDB_API_KEY"] == KEY
    run = setup.tracker.client.get_run(summary.finished[0])
    log = setup.tracker.client.download_artifacts(run.info.run_id, "", str(tmp_path / "art"))
    texts = [p.read_text(errors="replace") for p in Path(log).rglob("*.log")]
    assert texts and all(KEY not in t for t in texts)
    assert any('"WANDB_API_KEY": "***"' in t for t in texts)


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("WANDB_API_KEY", True),
        ("HF_TOKEN", True),
        ("DB_PASSWORD", True),
        ("AWS_ACCESS_KEY_ID", True),
        ("MY_SECRET", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("OMP_NUM_THREADS", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("KEYBOARD_LAYOUT", False),
        ("DATA_ROOT", False),
    ],
)
def test_credential_names(name, credential):
    assert (env_credentials({name: "x"}) == [name]) is credential
