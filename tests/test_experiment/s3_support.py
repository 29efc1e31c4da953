"""A local S3 endpoint and SageMaker look-alikes for the cloud tests (nothing reaches AWS).

- :func:`moto_s3`: a real ``moto_server`` process on a free port of 127.0.0.1 for the session
  (polled until it answers, stopped by its pid at the end); :func:`s3_options`: a fresh bucket
  on it and the ``cloud_options`` that reach it.
- :class:`ModelTrainer` (v3 look-alike: ``hyperparameters``, ``output_data_config``,
  ``train(input_data_config=[InputData...], wait=True)``) and :class:`PyTorch` (v2 look-alike:
  ``entry_point``, ``output_path``, ``fit({"trainds": uri}, job_name=...)``) do what a SageMaker
  training job does, locally: download every channel from S3 into
  ``<root>/input/data/<channel>``, run the entry script as a subprocess (argument list) with the
  ``SM_*`` variables and the hyperparameters as ``--name value`` (``/opt/ml`` mapped to
  ``<root>``, as a container mount would), archive ``<root>/output/data`` into
  ``output.tar.gz`` and ``<root>/model`` into ``model.tar.gz`` under
  ``<output path>/<job name>/output/`` on S3, and fail (raise) when the script fails.

Test modules import the fixtures: ``from tests.test_experiment.s3_support import moto_s3,
s3_options  # noqa: F401``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

#: credentials moto accepts (any value works); distinctive so leaks are easy to find
TEST_KEY_ID = "AKIAIQXTESTKEYID0001"
TEST_SECRET = "iqx-test-secret-do-not-log-7f3a"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a local test server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory):
    """Endpoint URL of a moto S3 server on 127.0.0.1 (started and stopped by the tests)."""
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                break
        except urllib.error.HTTPError:
            break  # it answers
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.close()
            pytest.fail(f"moto_server did not start: {log_path.read_text(errors='replace')}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def s3_options(moto_s3) -> dict[str, Any]:
    """``cloud_options`` reaching a fresh, empty bucket on the moto server."""
    import boto3

    options = {
        "bucket_name": f"iqx-{uuid.uuid4().hex[:12]}",
        "endpoint_url": moto_s3,
        "aws_access_key_id": TEST_KEY_ID,
        "aws_secret_access_key": TEST_SECRET,
        "region_name": "us-east-1",
    }
    client(options).create_bucket(Bucket=options["bucket_name"])
    assert boto3  # imported for the skip message of a missing boto3
    return options


def client(options: dict[str, Any]) -> Any:
    """A plain boto3 S3 client for ``options`` (independent of iqx's own code)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["aws_access_key_id"],
        aws_secret_access_key=options["aws_secret_access_key"],
        region_name=options.get("region_name", "us-east-1"),
    )


def keys(options: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """``{key: size}`` of every object in the bucket of ``options`` under ``prefix``."""
    out = {}
    pages = client(options).get_paginator("list_objects_v2")
    for page in pages.paginate(Bucket=options["bucket_name"], Prefix=prefix):
        out.update({o["Key"]: o["Size"] for o in page.get("Contents", ())})
    return out


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


# ---------------------------------------------------------------------- SDK look-alikes
@dataclass
class InputData:
    """``sagemaker.train.configs.InputData`` look-alike."""

    channel_name: str
    data_source: str
    content_type: str | None = None


@dataclass
class OutputDataConfig:
    """``sagemaker.train.configs.OutputDataConfig`` look-alike."""

    s3_output_path: str
    compression_type: str = "GZIP"


@dataclass
class SourceCode:
    """``sagemaker.train.configs.SourceCode`` look-alike."""

    entry_script: str
    source_dir: str | None = None


@dataclass
class FakeSession:
    """Stands for a ``sagemaker.Session``: where the 'service' reaches S3."""

    s3: dict[str, Any] = field(default_factory=dict)
    #: an archive to upload instead of the real output (to test hostile outputs)
    tamper: Any = None


def _run_job(
    session: FakeSession,
    entry: str,
    hyperparameters: dict[str, Any],
    channels: dict[str, str],
    output_root: str,
    job_name: str,
) -> None:
    """One local 'training job': channels down, script, output.tar.gz and model.tar.gz up."""
    s3 = client(session.s3)
    root = Path(tempfile.mkdtemp(prefix="fake-sm-"))
    try:
        env = dict(os.environ)
        for channel, uri in channels.items():
            bucket, prefix = _split(uri)
            dst = root / "input" / "data" / channel
            dst.mkdir(parents=True)
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", ()):
                    rel = obj["Key"][len(prefix) :].lstrip("/")
                    (dst / rel).parent.mkdir(parents=True, exist_ok=True)
                    s3.download_file(bucket, obj["Key"], str(dst / rel))
            env[f"SM_CHANNEL_{channel.upper()}"] = str(dst)
        out, model = root / "output" / "data", root / "model"
        out.mkdir(parents=True)
        model.mkdir()
        hps = {k: str(v) for k, v in hyperparameters.items()}
        env.update(
            SM_CHANNELS=json.dumps(sorted(channels)),
            SM_OUTPUT_DATA_DIR=str(out),
            SM_MODEL_DIR=str(model),
            SM_HPS=json.dumps(hps),
            SM_CURRENT_HOST="algo-1",
        )
        argv = [sys.executable, entry]
        for name, value in hps.items():
            local = str(root) + value[len("/opt/ml") :] if value.startswith("/opt/ml/") else value
            argv += [f"--{name}", local]
        proc = subprocess.run(argv, env=env, cwd=root, capture_output=True, text=True)
        (out.parent / "job.log").write_text(proc.stdout + proc.stderr)
        for folder, name in ((out, "output.tar.gz"), (model, "model.tar.gz")):
            archive = root / name
            with tarfile.open(archive, "w:gz") as tar:
                for child in sorted(folder.iterdir()):
                    tar.add(child, arcname=child.name)
            if name == "output.tar.gz" and session.tamper is not None:
                session.tamper(archive)
            bucket, prefix = _split(output_root.rstrip("/"))
            key = "/".join(p for p in (prefix, job_name, "output", name) if p)
            s3.upload_file(str(archive), bucket, key)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-3:]
            raise RuntimeError(
                f"Error for Training job {job_name}: Failed. Reason: AlgorithmError: "
                f"ExecuteUserScriptError: exit code {proc.returncode}: {' | '.join(tail)}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _job_name(base: str | None) -> str:
    return f"{base or 'fake'}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"


class ModelTrainer:
    """v3 ``sagemaker.train.ModelTrainer`` look-alike (keyword-only, as the real one)."""

    def __init__(
        self,
        *,
        sagemaker_session: FakeSession,
        source_code: SourceCode,
        role: str | None = None,
        training_image: str | None = None,
        base_job_name: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        output_data_config: OutputDataConfig | None = None,
        input_data_config: list[InputData] | None = None,
        environment: dict[str, str] | None = None,
    ) -> None:
        self.sagemaker_session = sagemaker_session
        self.source_code = source_code
        self.role = role
        self.training_image = training_image
        self.base_job_name = base_job_name
        self.hyperparameters = dict(hyperparameters or {})
        self.output_data_config = output_data_config
        self.input_data_config = list(input_data_config or [])
        self.calls: list[dict[str, Any]] = []

    def train(self, input_data_config=None, wait=True, logs=True, dry_run=False):
        assert wait is True
        channels = {c.channel_name: c.data_source for c in self.input_data_config}
        channels.update({c.channel_name: c.data_source for c in input_data_config or []})
        self.calls.append({"channels": channels, "hyperparameters": dict(self.hyperparameters)})
        if dry_run:
            return None
        if self.output_data_config is None:
            raise ValueError("no output_data_config (the real SDK would use a default bucket)")
        job = _job_name(self.base_job_name)
        root = self.output_data_config.s3_output_path
        entry = str(Path(self.source_code.source_dir or ".") / self.source_code.entry_script)
        self._latest_training_job = SimpleNamespace(
            training_job_name=job,
            output_data_config=self.output_data_config,
            model_artifacts=SimpleNamespace(
                s3_model_artifacts=f"{root.rstrip('/')}/{job}/output/model.tar.gz"
            ),
        )
        _run_job(self.sagemaker_session, entry, self.hyperparameters, channels, root, job)


class PyTorch:
    """v2 ``sagemaker.pytorch.PyTorch`` look-alike."""

    def __init__(
        self,
        entry_point: str,
        sagemaker_session: FakeSession,
        source_dir: str | None = None,
        role: str | None = None,
        instance_type: str | None = None,
        instance_count: int = 1,
        framework_version: str | None = None,
        py_version: str | None = None,
        hyperparameters: dict[str, Any] | None = None,
        output_path: str | None = None,
        base_job_name: str | None = None,
    ) -> None:
        self.entry_point = entry_point
        self.sagemaker_session = sagemaker_session
        self.source_dir = source_dir
        self._hyperparameters = dict(hyperparameters or {})
        self.output_path = output_path
        self.base_job_name = base_job_name
        self.latest_training_job = None
        self.fit_calls: list[dict[str, Any]] = []

    def fit(self, inputs=None, wait=True, logs="All", job_name=None):
        assert wait is True
        job = job_name or _job_name(self.base_job_name)
        self.fit_calls.append({"inputs": dict(inputs or {}), "job_name": job})
        self.latest_training_job = SimpleNamespace(name=job)
        entry = str(Path(self.source_dir or ".") / self.entry_point)
        _run_job(
            self.sagemaker_session,
            entry,
            self._hyperparameters,
            dict(inputs or {}),
            self.output_path,
            job,
        )
        self.model_data = f"{self.output_path.rstrip('/')}/{job}/output/model.tar.gz"
