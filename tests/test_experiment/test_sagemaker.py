"""``SageMakerTaskExecution``: v3/v2 trainers, S3 channels, output.tar.gz (extraction:
``test_safe_extract.py``).

SageMaker itself is replaced by look-alike trainers (``s3_support.ModelTrainer`` / ``PyTorch``)
that run the job locally against a moto S3 server; an optional test builds a real v3
``ModelTrainer`` job request (skipped without the ``sagemaker`` package).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from iqx.errors import InvalidParameterError, MissingExtraError
from iqx.experiment import ExperimentSetup, RunRequest, SageMakerTaskExecution, Tracker
from iqx.experiment.sagemaker import SageMakerEstimatorFactory, _sdk_class
from tests.test_experiment import s3_support as sm
from tests.test_experiment.s3_support import TEST_SECRET, keys

SCRIPTS = Path(__file__).parent / "scripts"


# ---------------------------------------------------------------------- factory, arguments
#: the hyperparameters of :func:`_request` as a SageMaker job gets them (strings)
REQUEST_HP = {"lr": "0.25", "layers": "[64, 32]", "note": "; touch PWNED"}
#: the channel paths added for the script (SageMaker's container conventions)
CHANNEL_HP = {
    "trainds": "/opt/ml/input/data/trainds",
    "outputpath": "/opt/ml/output/data",
    "valds": "/opt/ml/input/data/valds",
}


def _request(tmp_path, **kw) -> RunRequest:
    out = tmp_path / "run" / "output"
    out.mkdir(parents=True, exist_ok=True)
    base = dict(
        train_path=str(tmp_path / "tiny#jpeg_q30"),
        reference_path=str(tmp_path / "tiny"),
        output_path=str(out),
        log_path=str(tmp_path / "run" / "console.log"),
        hyperparameters={"lr": 0.25, "layers": [64, 32], "note": "; touch PWNED"},
        val_path=str(tmp_path / "val#jpeg_q30"),
    )
    base.update(kw)
    return RunRequest(**base)


def test_hyperparameters_follow_the_channel_conventions(tmp_path):
    task = SageMakerTaskExecution(lambda hp, out: None)
    mlf = {"mlfuri": "http://h", "mlfexpid": "1", "mlfrunid": "r"}
    hp = task.hyperparameters(_request(tmp_path, mlflow=mlf))
    assert hp == {**CHANNEL_HP, **mlf, **REQUEST_HP}
    bare = SageMakerTaskExecution(lambda hp, out: None, channel_paths=False)
    assert bare.hyperparameters(_request(tmp_path)) == REQUEST_HP


def test_factory_builds_v3_and_v2_trainers():
    session = sm.FakeSession()
    v3 = SageMakerEstimatorFactory(
        sm.ModelTrainer,
        {
            "sagemaker_session": session,
            "source_code": sm.SourceCode("train.py"),
            "hyperparameters": {"epochs": "3"},
        },
    )
    t = v3.gen_estimator({"lr": "0.1"}, output_path="s3://b/out")
    assert t.hyperparameters == {"epochs": "3", "lr": "0.1"}
    assert isinstance(t.output_data_config, sm.OutputDataConfig)  # the trainer's own SDK
    assert t.output_data_config.s3_output_path == "s3://b/out"
    assert v3.identity() == "ModelTrainer:train.py"
    own = sm.OutputDataConfig("s3://b/mine")
    v3.args_dict["output_data_config"] = own
    assert v3.gen_estimator({}, output_path="s3://b/out").output_data_config is own
    v2 = SageMakerEstimatorFactory(sm.PyTorch, {"entry_point": "fit.py", "sagemaker_session": 1})
    e = v2.gen_estimator({"lr": "0.1"}, output_path="s3://b/out")
    assert e._hyperparameters == {"lr": "0.1"} and e.output_path == "s3://b/out"
    assert SageMakerTaskExecution(v2).identity() == "sagemaker:PyTorch:fit.py"
    with pytest.raises(InvalidParameterError):
        SageMakerEstimatorFactory("not callable")
    with pytest.raises(InvalidParameterError, match="output_s3_uri"):
        SageMakerTaskExecution(v2, output_s3_uri="/local")


def test_sagemaker_is_imported_only_when_needed(monkeypatch):
    code = (
        "import sys, iqx.experiment as e; e.SageMakerTaskExecution; "
        "import iqx.experiment.sagemaker; print('sagemaker' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    for name in ("sagemaker", "sagemaker.train", "sagemaker.train.configs"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingExtraError, match=r"iqx\[sagemaker\]"):
        _sdk_class(object(), "InputData")  # a trainer whose SDK has no InputData


# ---------------------------------------------------------------------- end to end
def _v3_factory(options, session=None, script="sm_probe.py"):
    return SageMakerEstimatorFactory(
        sm.ModelTrainer,
        {
            "sagemaker_session": session or sm.FakeSession(s3=options),
            "source_code": sm.SourceCode(entry_script=script, source_dir=str(SCRIPTS)),
            "role": "arn:aws:iam::123456789012:role/iqx-test",
            "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
            "base_job_name": "iqx-test",
        },
    )


def _experiment(name, task, tiny_dataset, sqlite_uri, options, **kw):
    kw.setdefault("extra_train_params", {"lr": [0.1, 0.3]})
    return ExperimentSetup(
        name,
        task,
        tiny_dataset,
        kw.pop("mods", ["jpeg:quality=30"]),
        cloud_options={"tracking_uri": sqlite_uri, **options},
        max_parallel=1,
        log_interval=0,
        **kw,
    )


def _runs(sqlite_uri, name):
    tracker = Tracker(sqlite_uri)
    return tracker, tracker.runs(tracker.experiment_id(name))


def test_v3_model_trainer_end_to_end(tiny_dataset, sqlite_uri, s3_options, tmp_path):
    options = {**s3_options, "bucket_prefix": "study"}
    setup = _experiment(
        "sm-v3",
        SageMakerTaskExecution(_v3_factory(options)),
        tiny_dataset,
        sqlite_uri,
        options,
        ref_dsw_val=tiny_dataset,
    )
    summary = setup.execute()
    assert len(summary.finished) == 2 and not summary.failed
    n_files = sum(1 for f in (tiny_dataset.parent / "tiny#jpeg_q30").rglob("*") if f.is_file())
    tracker, runs = _runs(sqlite_uri, "sm-v3")
    assert sorted(r.metrics["accuracy"] for r in runs) == pytest.approx([0.7, 0.9])
    bucket = options["bucket_name"]
    for run in runs:
        assert run.status == "FINISHED"
        assert run.metrics["loss"] == 0.25 and run.metrics["n_files"] == n_files
        assert run.params["ds_uri"] == f"s3://{bucket}/study/tiny#jpeg_q30"
        assert run.params["ds_uri_val"] == f"s3://{bucket}/study/tiny#jpeg_q30"
        dst = tmp_path / run.run_id
        dst.mkdir()
        local = tracker.download_artifacts(run.run_id, "", dst)
        assert (local / "results.json").is_file() and (local / "plots" / "curve.txt").is_file()
        assert not list(local.rglob("*.tar.gz"))  # the archive itself is not an artifact
        output = json.loads((local / "output.json").read_text())
        assert output["valds"].endswith("input/data/valds") and len(output["files"]) == n_files
        log = (local / "logs" / "console.log").read_text()
        assert "[iqx sagemaker] job finished" in log and "output.tar.gz" in log
    stored = keys(options, "study/")
    assert sum(k.startswith("study/tiny#jpeg_q30/") for k in stored) == n_files
    outputs = [k for k in stored if k.endswith("/output/output.tar.gz")]
    assert len(outputs) == 2 and all(k.startswith("study/iqx-sagemaker/") for k in outputs)
    # resumed: nothing runs again, nothing uploaded again
    assert len(setup.execute().skipped) == 2


def test_v2_estimator_runs_an_iquaflow_script(tiny_dataset, sqlite_uri, s3_options, probe_script):
    factory = SageMakerEstimatorFactory(
        sm.PyTorch,
        {
            "entry_point": probe_script.name,
            "source_dir": str(probe_script.parent),
            "sagemaker_session": sm.FakeSession(s3=s3_options),
            "role": "arn:aws:iam::123456789012:role/iqx-test",
            "instance_type": "ml.m5.large",
            "framework_version": "2.1",
        },
    )
    task = SageMakerTaskExecution(factory, output_s3_uri=f"s3://{s3_options['bucket_name']}/v2")
    setup = _experiment(
        "sm-v2", task, tiny_dataset, sqlite_uri, s3_options, extra_train_params={"lr": 0.5}
    )
    setup.execute()
    _, (run,) = _runs(sqlite_uri, "sm-v2")
    assert run.status == "FINISHED", run.tags
    assert run.metrics["accuracy"] == pytest.approx(0.5)  # probe: name "trainds" has no '#'
    assert run.params["optimizer"] == "sgd"
    stored = keys(s3_options, "v2/")  # v2/<run>/<job name chosen by iqx>/output/...
    assert any(k.split("/")[2].startswith("iqx-") and k.endswith("/output.tar.gz") for k in stored)


def test_failed_job_and_hostile_output_fail_the_run(tiny_dataset, sqlite_uri, s3_options):
    crash = SageMakerTaskExecution(_v3_factory(s3_options))
    setup = _experiment(
        "sm-crash",
        crash,
        tiny_dataset,
        sqlite_uri,
        s3_options,
        extra_train_params={"mode": "crash"},
    )
    setup.execute()

    def add_symlink(archive):
        with tarfile.open(archive, "w:gz") as tar:
            info = tarfile.TarInfo("results.json")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)

    hostile = SageMakerTaskExecution(
        _v3_factory(s3_options, sm.FakeSession(s3=s3_options, tamper=add_symlink))
    )
    _experiment(
        "sm-evil", hostile, tiny_dataset, sqlite_uri, s3_options, extra_train_params={}
    ).execute()
    _, (crashed,) = _runs(sqlite_uri, "sm-crash")
    assert crashed.status == "FAILED"
    assert "SageMaker training job failed" in crashed.tags["iqx.error"]
    assert "CUDA out of memory" in crashed.tags["iqx.error"]
    _, (evil,) = _runs(sqlite_uri, "sm-evil")
    assert evil.status == "FAILED"
    assert "'results.json' refused: symbolic link" in evil.tags["iqx.error"]


def test_a_bucket_is_required_before_any_work(tiny_dataset, sqlite_uri):
    task = SageMakerTaskExecution(lambda hp, out: None)
    setup = _experiment("sm-nobucket", task, tiny_dataset, sqlite_uri, {})
    with pytest.raises(InvalidParameterError, match="bucket_name"):
        setup.execute()
    assert not (tiny_dataset.parent / "tiny#jpeg_q30").exists()


def test_credentials_never_reach_mlflow(
    tiny_dataset, sqlite_uri, s3_options, monkeypatch, tmp_path
):
    env_token = "iqx-env-session-token-5b1e"
    monkeypatch.setenv("AWS_SESSION_TOKEN", env_token)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", TEST_SECRET)  # what the script prints
    messages: list[str] = []
    task = SageMakerTaskExecution(_v3_factory(s3_options))
    setup = _experiment(
        "sm-secret",
        task,
        tiny_dataset,
        sqlite_uri,
        s3_options,
        extra_train_params={"mode": ["ok", "leak"]},
        progress=messages.append,
    )
    setup.execute()
    tracker, runs = _runs(sqlite_uri, "sm-secret")
    assert sorted(r.status for r in runs) == ["FAILED", "FINISHED"]
    text = json.dumps([[r.params, r.tags, r.metrics, r.run_name] for r in runs])
    text += "\n".join(messages)
    for run in runs:
        dst = tmp_path / run.run_id
        dst.mkdir()
        for f in tracker.download_artifacts(run.run_id, "", dst).rglob("*"):
            if f.is_file():
                text += f.read_text(errors="replace")
    failed = next(r for r in runs if r.status == "FAILED")
    assert "secret: *** ***" in failed.tags["iqx.error"]  # the leak was there, and scrubbed
    for secret in (TEST_SECRET, s3_options["aws_access_key_id"], env_token):
        assert secret not in text
    assert "aws_secret_access_key" not in text
    assert s3_options["bucket_name"] in text  # the check looked at the right runs


# ---------------------------------------------------------------------- real sagemaker (v3)
def test_real_v3_model_trainer_job_spec(tmp_path, moto_s3, monkeypatch):
    """Build a real ``ModelTrainer`` through the factory; check the job request, submit none."""
    pytest.importorskip(
        "sagemaker.train", reason="sagemaker>=3 not installed (extra iqx[sagemaker])"
    )
    import boto3
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig

    # any AWS call the SDK might make goes to moto, never to AWS; no IAM role simulation
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_s3)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    boto = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    factory = SageMakerEstimatorFactory(
        ModelTrainer,
        {
            "sagemaker_session": Session(boto_session=boto, default_bucket="iqx-bucket"),
            "role": "arn:aws:iam::123456789012:role/iqx-test",
            "training_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
            "compute": Compute(instance_type="ml.m5.large", instance_count=1),
            "base_job_name": "iqx-spec",
        },
    )
    task = SageMakerTaskExecution(factory)
    request = _request(
        tmp_path,
        dataset_uris={
            "train": "s3://iqx-bucket/tiny#jpeg_q30",
            "val": "s3://iqx-bucket/val#jpeg_q30",
        },
    )
    channels = task.channels(request, {})
    trainer = task._make_trainer(task.hyperparameters(request), "s3://iqx-bucket/out/run1")
    assert isinstance(trainer, ModelTrainer)
    assert isinstance(trainer.output_data_config, OutputDataConfig)
    assert _sdk_class(trainer, "InputData") is InputData
    inputs = [InputData(channel_name=c, data_source=u) for c, u in channels.items()]
    job = trainer._create_training_job_args(input_data_config=inputs, boto3=True)
    assert job["HyperParameters"] == {**CHANNEL_HP, **REQUEST_HP}
    got = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]
    }
    assert got == {
        "trainds": "s3://iqx-bucket/tiny#jpeg_q30",
        "valds": "s3://iqx-bucket/val#jpeg_q30",
    }
    assert job["OutputDataConfig"]["S3OutputPath"] == "s3://iqx-bucket/out/run1"
    assert job["TrainingJobName"].startswith("iqx-spec")
    assert trainer.train(input_data_config=inputs, dry_run=True) is None  # SDK validation
    assert os.environ["AWS_ENDPOINT_URL"] == moto_s3
