"""Fixtures of the experiment tests: a small dataset, the probe script, MLflow stores.

``mlflow_server`` is a real ``mlflow server`` (SQLite backend, one worker) started on a free
port of 127.0.0.1 for the session and stopped at its end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# moto_s3, s3_options: the S3 fixtures (a local moto server and a fresh bucket on it) for the
# cloud/SageMaker tests
from tests.test_experiment.s3_support import free_port, moto_s3, s3_options  # noqa: F401

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.fixture(scope="session")
def probe_script() -> Path:
    return SCRIPTS / "train_probe.py"


@pytest.fixture(scope="session")
def _tiny_source(tmp_path_factory):
    from iqx.experiment.sample_dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("tiny_source")
    write_sample_dataset(root / "tiny", n_images=2, size=96, seed=1)
    return root / "tiny"


def tiny_copy_and_store(tmp_path_factory, tiny_source: Path, name: str) -> tuple[Path, str]:
    """For a module-scoped experiment: a copy of the tiny dataset (``<tmp>/<name>N/data/tiny``)
    and the URI of a new SQLite tracking store beside it."""
    root = tmp_path_factory.mktemp(name)
    data = root / "data" / "tiny"
    shutil.copytree(tiny_source, data)
    return data, f"sqlite:///{(root / 'mlflow.db').as_posix()}"


@pytest.fixture
def tiny_dataset(tmp_path, _tiny_source) -> Path:
    """A 2-image, 96x96 8-bit GeoTIFF dataset in IQUAFLOW layout, fresh per test."""
    dst = tmp_path / "data" / "tiny"
    shutil.copytree(_tiny_source, dst)
    return dst


@pytest.fixture(scope="session")
def _migrated_store(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store with its tables created (MLflow's migrations take seconds)."""
    import sqlite3

    from iqx.experiment.tracking import Tracker

    db = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    tracker = Tracker(f"sqlite:///{db.as_posix()}")
    tracker.experiment_id("Default", create=False)
    tracker.client._tracking_client.store.engine.dispose()  # close MLflow's connections
    with sqlite3.connect(db) as con:  # fold the write-ahead log into the file before copying
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
    return db


@pytest.fixture
def sqlite_uri(tmp_path, _migrated_store) -> str:
    """A fresh, private SQLite tracking store (a copy of the migrated template)."""
    db = tmp_path / "mlflow.db"
    shutil.copyfile(_migrated_store, db)
    return f"sqlite:///{db.as_posix()}"


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """URI of a real MLflow tracking server on 127.0.0.1 (SQLite backend, artifacts proxied)."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    exe = Path(sys.executable).with_name("mlflow")
    cmd = [
        str(exe),
        "server",
        "--backend-store-uri",
        f"sqlite:///{(root / 'server.db').as_posix()}",
        "--artifacts-destination",
        str(root / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            text = (root / "server.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"mlflow server did not start: {text}")
        time.sleep(0.5)
    yield uri
    os.killpg(proc.pid, 15)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
    log.close()
