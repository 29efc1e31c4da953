"""SageMaker training jobs as experiment tasks (extra ``iqx[sagemaker]``).

:class:`SageMakerTaskExecution` runs one SageMaker training job per run, with what users of
either SDK write:

- **v3** (``sagemaker>=3``): ``sagemaker.train.ModelTrainer(..., hyperparameters=...)`` then
  ``.train(input_data_config=[InputData(channel_name=..., data_source="s3://...")], wait=True)``;
- **v2**: an ``Estimator`` such as ``sagemaker.pytorch.PyTorch(entry_point=...,
  hyperparameters=...)`` then ``.fit({"trainds": "s3://...", ...})``.

IQUAFLOW's contract is kept: the datasets are the channels ``trainds``, ``valds`` and
``testds`` (``SM_CHANNEL_TRAINDS`` ...), the hyperparameters carry ``--trainds
/opt/ml/input/data/trainds --outputpath /opt/ml/output/data ...`` plus the user's, and what the
script writes into ``/opt/ml/output/data`` comes back as the job's ``output.tar.gz``. That
archive is downloaded and extracted into the run's output folder, refusing members that
would escape it (absolute paths, ``..``), links and device files, so that IQUAFLOW's gathering
(``results.json``, ``output.json``, artifacts) applies unchanged.

The datasets must be on S3: ``cloud_options["bucket_name"]`` makes
:class:`~iqx.experiment.setup.ExperimentSetup` upload every modified dataset and hand the
URIs to the task. sagemaker itself is never imported by iqx unless a config class is needed
and the trainer's own SDK does not provide it.
"""

from __future__ import annotations

import importlib
import inspect
import os
import tempfile
import time
import traceback
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iqx._compat import import_optional
from iqx.errors import InvalidParameterError, IqxError, PathNotFoundError, TaskFailedError
from iqx.experiment.archive import safe_extract
from iqx.experiment.task import RunRequest, TaskExecution, scrub

__all__ = [
    "CHANNELS",
    "SageMakerEstimatorFactory",
    "SageMakerTaskExecution",
    "safe_extract",
]

#: IQUAFLOW's channel name of each dataset role
CHANNELS = {"train": "trainds", "val": "valds", "test": "testds"}
#: where SageMaker mounts channel ``c`` in the container
CHANNEL_ROOT = "/opt/ml/input/data"
#: what SageMaker archives into ``output.tar.gz`` (``SM_OUTPUT_DATA_DIR``)
OUTPUT_DATA_DIR = "/opt/ml/output/data"


def _accepts(func: Any, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _sdk_class(obj: Any, name: str) -> Any:
    """Config class ``name`` of the SDK ``obj`` comes from (``sagemaker.train.configs``)."""
    module = inspect.getmodule(obj if inspect.isclass(obj) else type(obj))
    for space in (module, getattr(module, "configs", None)):
        found = getattr(space, name, None)
        if inspect.isclass(found):
            return found
    try:  # sagemaker >= 3.2x moved the config classes; the old path is a deprecated shim
        configs = importlib.import_module("sagemaker.core.training.configs")
    except ImportError:
        configs = import_optional("sagemaker.train.configs", "SageMaker tasks")
    return getattr(configs, name)


class SageMakerEstimatorFactory:
    """Builds a fresh trainer per run (IQUAFLOW's factory, for v3 and v2 SDKs).

    Parameters
    ----------
    estimator_instancer : type or callable
        ``sagemaker.train.ModelTrainer`` (v3), a v2 estimator class such as
        ``sagemaker.pytorch.PyTorch``, or anything called the same way.
    args_dict : dict, optional
        Its keyword arguments (``role``, ``training_image``, ``source_code``, ``compute`` ...
        or ``entry_point``, ``instance_type``, ``framework_version`` ...). Hyperparameters given
        here are kept; iqx's are added on top.
    """

    def __init__(self, estimator_instancer: Any, args_dict: Mapping[str, Any] | None = None):
        if not callable(estimator_instancer):
            raise InvalidParameterError(
                f"estimator_instancer must be a class or callable, got {estimator_instancer!r}"
            )
        self.estimator_instancer = estimator_instancer
        self.args_dict = dict(args_dict or {})

    def __repr__(self) -> str:
        name = getattr(self.estimator_instancer, "__name__", type(self.estimator_instancer))
        return f"SageMakerEstimatorFactory({name})"

    def identity(self) -> str:
        """Class and entry script (stable across executions: part of every run key)."""
        name = getattr(self.estimator_instancer, "__name__", "estimator")
        source = self.args_dict.get("source_code")
        entry = self.args_dict.get("entry_point") or getattr(source, "entry_script", None)
        return f"{name}:{Path(str(entry)).name}" if entry else str(name)

    def gen_estimator(self, hyperparameters: Mapping[str, Any], output_path: str | None = None):
        """A new trainer with ``hyperparameters`` and its output under ``output_path``.

        ``output_path`` is applied only when ``args_dict`` sets no output location itself
        (v3: ``output_data_config``; v2: ``output_path``).
        """
        kwargs = dict(self.args_dict)
        kwargs["hyperparameters"] = {**dict(kwargs.get("hyperparameters") or {}), **hyperparameters}
        make = self.estimator_instancer
        if output_path:
            if _accepts(make, "output_data_config") and not _accepts(make, "output_path"):
                if kwargs.get("output_data_config") is None:
                    config = _sdk_class(make, "OutputDataConfig")
                    kwargs["output_data_config"] = config(s3_output_path=output_path)
            elif not kwargs.get("output_path"):
                kwargs["output_path"] = output_path
        return make(**kwargs)


class SageMakerTaskExecution(TaskExecution):
    """Run each experiment run as a SageMaker training job.

    Parameters
    ----------
    estimator_factory : SageMakerEstimatorFactory or callable
        Gives a new trainer per run: a :class:`SageMakerEstimatorFactory` (or IQUAFLOW's, any
        object with ``gen_estimator(hyperparameters)``), or a callable
        ``f(hyperparameters, output_path) -> trainer``. A trainer has ``train`` (v3
        ``ModelTrainer``) or ``fit`` (v2 ``Estimator``).
    output_s3_uri : str, optional
        Where jobs write (``s3://bucket/prefix``). Default:
        ``s3://<bucket_name>/<bucket_prefix>/iqx-sagemaker``.
    cloud_options : dict, optional
        S3 settings of the task itself (``bucket_name``, ``endpoint_url``, credentials ...),
        merged over those of the experiment. With a ``bucket_name`` here, the task uploads
        datasets itself when the experiment did not.
    channel_paths : bool
        Pass ``--trainds /opt/ml/input/data/trainds ... --outputpath /opt/ml/output/data`` as
        hyperparameters (IQUAFLOW scripts run unchanged). False passes only the user's
        hyperparameters (IQUAFLOW's cloud mode; the script reads ``SM_CHANNEL_*``).
    logs : bool
        Stream the job's logs to this process's console (``wait=True`` always).
    name : str, optional
        The task's identity in run keys (default: from the factory).
    """

    def __init__(
        self,
        estimator_factory: Any,
        *,
        output_s3_uri: str | None = None,
        cloud_options: Mapping[str, Any] | None = None,
        channel_paths: bool = True,
        logs: bool = False,
        name: str | None = None,
    ) -> None:
        self.needs_storage = True  # downloads each job's output from S3 where the run executes
        if not (callable(estimator_factory) or hasattr(estimator_factory, "gen_estimator")):
            raise InvalidParameterError(
                "estimator_factory must be a SageMakerEstimatorFactory or a callable "
                f"(hyperparameters, output_path) -> trainer, got {estimator_factory!r}"
            )
        if output_s3_uri is not None and not str(output_s3_uri).startswith("s3://"):
            raise InvalidParameterError(f"output_s3_uri must be s3://..., got {output_s3_uri!r}")
        self.estimator_factory = estimator_factory
        self.output_s3_uri = output_s3_uri.rstrip("/") if output_s3_uri else None
        self.cloud_options = dict(cloud_options or {})
        self.channel_paths = channel_paths
        self.logs = logs
        self.name = name

    def __repr__(self) -> str:
        return f"SageMakerTaskExecution({self.estimator_factory!r})"

    def identity(self) -> str:
        if self.name:
            return f"sagemaker:{self.name}"
        ident = getattr(self.estimator_factory, "identity", None)
        if callable(ident):
            return f"sagemaker:{ident()}"
        return f"sagemaker:{getattr(self.estimator_factory, '__qualname__', 'factory')}"

    def check_cloud_options(self, cloud_options: Mapping[str, Any]) -> None:
        """Refuse, before any work, an experiment whose datasets cannot reach S3."""
        if not (cloud_options.get("bucket_name") or self.cloud_options.get("bucket_name")):
            raise InvalidParameterError(
                "SageMakerTaskExecution needs cloud_options['bucket_name']: SageMaker reads "
                "the datasets from S3, so every modified dataset is uploaded there"
            )

    # ------------------------------------------------------------------ the job
    def hyperparameters(self, request: RunRequest) -> dict[str, str]:
        """What the job receives: IQUAFLOW's arguments at their container paths + the user's."""
        args = self.arguments(request)
        if not self.channel_paths:
            for key in ("trainds", "valds", "testds", "outputpath"):
                args.pop(key, None)
            return args
        for channel in CHANNELS.values():
            if channel in args:
                args[channel] = f"{CHANNEL_ROOT}/{channel}"
        args["outputpath"] = OUTPUT_DATA_DIR
        return args

    def channels(self, request: RunRequest, options: Mapping[str, Any]) -> dict[str, str]:
        """``{channel: s3 uri}`` of the run's datasets, uploading them if the task must."""
        paths = {"train": request.train_path, "val": request.val_path, "test": request.test_path}
        out = {}
        for role, path in paths.items():
            if not path:
                continue
            uri = dict(request.dataset_uris).get(role)
            if not uri and options.get("bucket_name"):
                from iqx.experiment.cloud import upload_dataset

                uri = upload_dataset(path, options["bucket_name"], options)
            if not uri:
                raise TaskFailedError(
                    f"no S3 copy of the {role} dataset {Path(path).name}: set "
                    "cloud_options['bucket_name'] so that datasets are uploaded"
                )
            out[CHANNELS[role]] = uri
        return out

    def _output_root(self, options: Mapping[str, Any]) -> str:
        if self.output_s3_uri:
            return self.output_s3_uri
        bucket = str(options.get("bucket_name") or "").removeprefix("s3://").strip("/")
        if not bucket:
            raise TaskFailedError("no output location: set output_s3_uri or a bucket_name")
        prefix = str(options.get("bucket_prefix") or "").strip("/")
        return "/".join(p for p in (f"s3://{bucket}", prefix, "iqx-sagemaker") if p)

    def _make_trainer(self, hyperparameters: dict[str, str], output_path: str) -> Any:
        factory = self.estimator_factory
        gen = getattr(factory, "gen_estimator", None)
        if gen is not None:
            if _accepts(gen, "output_path"):
                return gen(hyperparameters, output_path=output_path)
            args = getattr(factory, "args_dict", None)  # IQUAFLOW's factory
            if isinstance(args, dict) and not args.get("output_path"):
                args["output_path"] = output_path
            return gen(hyperparameters)
        return factory(hyperparameters, output_path)

    def _launch(self, trainer: Any, channels: dict[str, str]) -> str | None:
        """Start the job and wait for it; return the v2 job name when iqx chose it."""
        if hasattr(trainer, "train"):  # v3 ModelTrainer
            input_data = _sdk_class(trainer, "InputData")
            config = [input_data(channel_name=c, data_source=u) for c, u in channels.items()]
            trainer.train(input_data_config=config, wait=True, logs=self.logs)
            return None
        if hasattr(trainer, "fit"):  # v2 Estimator
            job_name = f"iqx-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
            kwargs: dict[str, Any] = {"wait": True, "logs": "All" if self.logs else "None"}
            if _accepts(trainer.fit, "job_name"):
                kwargs["job_name"] = job_name
            trainer.fit(channels, **kwargs)
            return job_name
        raise TaskFailedError(
            f"the factory returned {type(trainer).__name__}, which has neither train() "
            "(ModelTrainer) nor fit() (Estimator)"
        )

    def execute(self, request: RunRequest) -> None:
        options = {**dict(request.cloud_options), **self.cloud_options}
        secrets = request.secrets

        def say(line: str) -> None:
            with open(request.log_path, "a", encoding="utf-8") as log:
                log.write(scrub(f"[iqx sagemaker] {line}\n", secrets))

        try:
            channels = self.channels(request, options)
            run_root = f"{self._output_root(options)}/{uuid.uuid4().hex[:12]}"
            hyper = self.hyperparameters(request)
            say(f"channels: {channels}; output under {run_root}")
            trainer = self._make_trainer(hyper, run_root)
        except IqxError as exc:
            if isinstance(exc, TaskFailedError):
                raise
            raise TaskFailedError(f"cannot prepare the SageMaker job: {exc}") from None
        try:
            chosen = self._launch(trainer, channels)
        except TaskFailedError:
            raise
        except Exception as exc:
            raise TaskFailedError(
                f"SageMaker training job failed: {type(exc).__name__}: {exc}",
                traceback.format_exc(limit=5),
            ) from None
        tarball = output_archive_uri(trainer, chosen, run_root)
        say(f"job finished; output archive {tarball}")
        _fetch_and_extract(tarball, Path(request.output_path), options)
        say(f"extracted into the run's output folder: {sorted(os.listdir(request.output_path))}")


def output_archive_uri(trainer: Any, job_name: str | None, default_root: str) -> str:
    """``s3://.../<job>/output/output.tar.gz`` of the trainer's last job (v3 or v2)."""
    job = getattr(trainer, "_latest_training_job", None)  # v3: sagemaker.core TrainingJob
    if job is not None:
        model = getattr(getattr(job, "model_artifacts", None), "s3_model_artifacts", None)
        if isinstance(model, str) and model.endswith("/model.tar.gz"):
            return model[: -len("model.tar.gz")] + "output.tar.gz"
        name = getattr(job, "training_job_name", None)
        root = getattr(getattr(job, "output_data_config", None), "s3_output_path", None)
        if name and root:
            return f"{str(root).rstrip('/')}/{name}/output/output.tar.gz"
    latest = getattr(trainer, "latest_training_job", None)  # v2
    name = getattr(latest, "name", None) or getattr(latest, "job_name", None) or job_name
    model = getattr(trainer, "model_data", None)
    if isinstance(model, str) and model.endswith("/model.tar.gz"):
        return model[: -len("model.tar.gz")] + "output.tar.gz"
    root = getattr(trainer, "output_path", None) or default_root
    if name:
        return f"{str(root).rstrip('/')}/{name}/output/output.tar.gz"
    raise TaskFailedError(
        f"cannot tell where the job wrote output.tar.gz ({type(trainer).__name__} has no "
        "finished job)"
    )


def _fetch_and_extract(uri: str, target: Path, options: Mapping[str, Any]) -> None:
    from iqx.experiment.cloud import download_file

    with tempfile.TemporaryDirectory(prefix="iqx-sm-", dir=target.parent) as tmp:
        archive = Path(tmp) / "output.tar.gz"
        try:
            download_file(uri, archive, options)
        except PathNotFoundError:
            raise TaskFailedError(
                f"the job wrote no {uri}: the script must write its results into "
                f"{OUTPUT_DATA_DIR} (--outputpath, SM_OUTPUT_DATA_DIR)"
            ) from None
        except IqxError as exc:
            raise TaskFailedError(str(exc)) from None
        safe_extract(archive, target)
