"""Credentials do not travel to dask workers over an unencrypted link.

A run executed by a worker travels there pickled (task, RunRequest, tracker); dask comms
are clear text without TLS. The real clusters here: a TCP scheduler on this machine's
non-loopback address (what a remote ``tcp://host:8786`` scheduler looks like to the driver)
and one on 127.0.0.1 (private: nothing leaves the machine).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from iqx.errors import ExperimentError
from iqx.experiment import ExperimentSetup
from iqx.experiment._secrets import private_link
from iqx.experiment.task import TaskExecution

distributed = pytest.importorskip("distributed")

CREDS = {
    "aws_access_key_id": "AKIAEXAMPLEKEY0001",
    "aws_secret_access_key": "s3cr3t-value-that-must-stay-home",
}


class RecordingTask(TaskExecution):
    """Writes what its request carried (keys and scrub list) to a file, and a result."""

    def __init__(self, record: str, needs_storage: bool = False) -> None:
        self.record = record
        self.needs_storage = needs_storage

    def execute(self, request) -> None:
        with open(self.record, "a", encoding="utf-8") as f:
            doc = {"options": dict(request.cloud_options), "secrets": list(request.secrets)}
            f.write(json.dumps(doc) + "\n")
        Path(request.output_path, "results.json").write_text('{"ok": 1}')


def _outer_ip() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: picks the outgoing interface
            ip = s.getsockname()[0]
        except OSError:
            return None
    return None if ip.startswith("127.") else ip


@pytest.fixture
def cluster_at(request):
    made = []

    def make(host: str):
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            protocol="tcp://",
            host=host,
            dashboard_address=None,
        )
        client = distributed.Client(cluster, set_as_default=False)
        made.append((client, cluster))
        return client

    yield make
    for client, cluster in made:
        client.close()
        cluster.close()


def _setup(tiny_dataset, uri, task, client, **kw):
    return ExperimentSetup(
        "secrets",
        task,
        tiny_dataset,
        ["reference", "jpeg:quality=50"],
        cloud_options={"tracking_uri": uri, **CREDS},
        scheduler=client,
        max_parallel=2,
        log_interval=0,
        **kw,
    )


def test_private_links():
    for address in (None, "inproc://10.0.0.5/1/2", "tls://10.0.0.5:8786", "tcp://127.0.0.1:8786"):
        assert private_link(address), address
    assert private_link("tcp://localhost:8786") and private_link("tcp://[::1]:8786")
    for address in ("tcp://10.0.0.5:8786", "tcp://scheduler:8786", "ucx://10.0.0.5:1"):
        assert not private_link(address), address


def test_remote_tcp_worker_gets_no_credentials(tiny_dataset, sqlite_uri, tmp_path, cluster_at):
    ip = _outer_ip()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    client = cluster_at(ip)
    assert client.scheduler.address.startswith(f"tcp://{ip}:")
    record = tmp_path / "record.jsonl"
    summary = _setup(tiny_dataset, sqlite_uri, RecordingTask(str(record)), client).execute()
    assert len(summary.finished) == 2 and not summary.failed
    seen = [json.loads(line) for line in record.read_text().splitlines()]
    assert len(seen) == 2
    for doc in seen:
        text = json.dumps(doc)
        assert CREDS["aws_secret_access_key"] not in text
        assert CREDS["aws_access_key_id"] not in text
        assert doc["secrets"] == []  # the worker scrubs its own environment's


def test_local_tcp_worker_still_gets_them(tiny_dataset, sqlite_uri, tmp_path, cluster_at):
    """Loopback is private: the scrub list (cloud_options' credentials) travels as before."""
    client = cluster_at("127.0.0.1")
    record = tmp_path / "record.jsonl"
    _setup(tiny_dataset, sqlite_uri, RecordingTask(str(record)), client).execute()
    for line in record.read_text().splitlines():
        assert CREDS["aws_secret_access_key"] in json.loads(line)["secrets"]


def test_refused_when_the_worker_would_need_them(tiny_dataset, sqlite_uri, tmp_path, cluster_at):
    ip = _outer_ip()
    if ip is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    client = cluster_at(ip)
    record = tmp_path / "record.jsonl"
    task = RecordingTask(str(record), needs_storage=True)
    with pytest.raises(ExperimentError, match=r"not encrypted.*TLS") as err:
        _setup(tiny_dataset, sqlite_uri, task, client).execute()
    assert "aws_secret_access_key" in str(err.value)
    assert CREDS["aws_secret_access_key"] not in str(err.value)
    assert not record.exists()  # refused before any run
    # a password in the tracking URI would travel with the tracker: refused, value unsaid
    task = RecordingTask(str(record))
    setup = _setup(tiny_dataset, sqlite_uri, task, client)
    setup.tracker.uri = "http://alice:pa55word@mlflow.example:5000"
    with pytest.raises(ExperimentError, match="MLFLOW_TRACKING_PASSWORD") as err:
        setup.execute()
    assert "pa55word" not in str(err.value) and not record.exists()
