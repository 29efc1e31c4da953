"""``ExperimentSetup``: a task over every modified dataset x hyperparameters x repetition.

IQUAFLOW's arguments are kept, so its users' studies run with their imports changed; its
faults are fixed: every run carries a deterministic key and executing again resumes (finished
runs are skipped, failed/killed/missing ones rerun, runs left RUNNING by a dead process are
marked KILLED and rerun); exit codes are checked; numbers are metrics; independent runs run
concurrently on a dask cluster; each modified dataset is built once, its data volume (and, on
request, its blind quality) logged with every run that uses it.
"""

from __future__ import annotations

import difflib
import os
import socket
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import InvalidParameterError
from iqx.experiment._secrets import (
    check_private,
    env_credentials,
    environment_secrets,
    scheduler_link,
)
from iqx.experiment.executor import RunOutcome, RunPool, default_parallelism
from iqx.experiment.runs import DatasetRef, RunSpec, dataset_fingerprint, hyperparameter_grid
from iqx.experiment.task import RunRequest, TaskExecution
from iqx.experiment.tracking import KEY_TAG, OWNER_TAG, Tracker, redact_uri

__all__ = ["REFERENCE", "ExecutionSummary", "ExperimentSetup"]

#: stands for "the unmodified dataset" in ``ds_modifiers_list``
REFERENCE = "reference"

_CLOUD_KEYS = {
    "tracking_uri",
    "registry_uri",
    "bucket_name",
    "bucket_prefix",
    "upload_num_threads",
    "endpoint_url",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "region_name",
    "profile_name",
}
_SECRET_KEYS = {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}


@dataclass
class ExecutionSummary:
    """What :meth:`ExperimentSetup.execute` did.

    Attributes
    ----------
    experiment_id : str
    finished, failed : list of str
        Run ids executed now, by outcome.
    skipped : list of str
        Run ids of runs already FINISHED (not executed again).
    killed_stale : list of str
        Runs found RUNNING with a dead owner, marked KILLED.
    """

    experiment_id: str
    finished: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    killed_stale: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"ExecutionSummary(experiment_id={self.experiment_id!r}, finished={len(self.finished)}"
            f", failed={len(self.failed)}, skipped={len(self.skipped)}"
            f", killed_stale={len(self.killed_stale)})"
        )


def _as_dataset(obj: Any, what: str) -> Any:
    from iqx.datasets import Dataset, open_dataset

    if obj is None or obj == "":
        return None
    if isinstance(obj, Dataset):
        return obj
    if isinstance(obj, str | os.PathLike):
        return open_dataset(Path(obj).resolve())
    wrapped = getattr(obj, "dataset", None)  # iqx.compat's DSWrapper keeps its Dataset
    if isinstance(wrapped, Dataset):
        return wrapped
    path = getattr(obj, "data_path", None)  # IQUAFLOW's DSWrapper and look-alikes
    if path:
        return open_dataset(Path(path).resolve())
    raise InvalidParameterError(f"{what}: expected a dataset folder or Dataset, got {obj!r}")


def _owner() -> str:
    import psutil

    return f"{socket.gethostname()}:{os.getpid()}:{psutil.Process().create_time():.3f}"


def _owner_alive(owner: str) -> bool:
    import psutil

    try:
        host, pid, created = owner.rsplit(":", 2)
        if host != socket.gethostname():
            return False  # another machine: cannot tell; its runs count as abandoned
        return abs(psutil.Process(int(pid)).create_time() - float(created)) < 0.01
    except (ValueError, psutil.Error):
        return False


class ExperimentSetup:
    """IQUAFLOW's ``ExperimentSetup``, resumable and parallel.

    Parameters
    ----------
    experiment_name : str
        MLflow experiment (created if missing).
    task_instance : TaskExecution
        What each run executes (:class:`PythonScriptTaskExecution`, the built-in
        :class:`~iqx.experiment.measure.MeasureTask`, ...).
    ref_dsw_train : Dataset, path or DSWrapper
        The unmodified training set.
    ds_modifiers_list : sequence
        Modifiers (objects, configs, ``"id:k=v"`` specs, lists for chains). ``None``,
        ``"reference"`` or an IQUAFLOW identity ``DSModifier()`` stand for the unmodified
        dataset.
    ref_dsw_val, ref_dsw_test : optional
        Validation and test sets, modified like the training set.
    extra_train_params : dict
        Hyperparameters: list values form a grid (``{"lr": [0.1, 0.01]}``), others are fixed.
    repetitions : int
        Runs per (dataset, hyperparameters).
    mlflow_monitoring : bool
        Pass ``--mlfuri --mlfexpid --mlfrunid`` so the script can log into its run.
    cloud_options : dict
        ``tracking_uri``, ``registry_uri``, ``bucket_name`` (upload modified datasets to S3;
        needs ``iqx[cloud]``), ``bucket_prefix``, ``endpoint_url``, credentials. Credentials
        never reach MLflow or logs.
    include_reference : bool
        Also run on the unmodified dataset (the baseline every comparison needs).
    image_metrics : iterable of str
        Blind metric families (``"snr"``, ``"sharpness"``, ``"niirs"``) measured once per
        modified training set and logged with each of its runs (``img_snr``, ``img_rer_x``,
        ``img_niirs``, ...).
    max_parallel : int, optional
        Runs in flight at once. Default: the machine's cores. ``1``: serial, in this process.
    scheduler : str or distributed.Client, optional
        A dask scheduler address or client to run on (default: a ``LocalCluster`` sized to
        ``max_parallel``, started and stopped by :meth:`execute`).
    keep_datasets : bool
        Keep modified datasets once all their runs are done (default True).
    keep_intermediates : bool
        Write every step of a chain (IQUAFLOW: ``ds#a`` then ``ds#a#b``); False writes only
        ``ds#a+b``.
    workdir : path-like
        Where the default SQLite store lives (default: the current directory).
    progress : callable, optional
        Receives one line per event.
    log_interval : float
        Seconds between uploads of a running task's console log.
    """

    def __init__(
        self,
        experiment_name: str,
        task_instance: TaskExecution,
        ref_dsw_train: Any,
        ds_modifiers_list: Sequence[Any] = (),
        ref_dsw_val: Any = None,
        ref_dsw_test: Any = None,
        extra_train_params: Mapping[str, Any] | None = None,
        repetitions: int = 1,
        mlflow_monitoring: bool = False,
        cloud_options: Mapping[str, Any] | None = None,
        *,
        include_reference: bool = False,
        image_metrics: Iterable[str] = (),
        max_parallel: int | None = None,
        scheduler: Any = None,
        keep_datasets: bool = True,
        keep_intermediates: bool = True,
        workdir: str | os.PathLike[str] = ".",
        progress: Callable[[str], None] | None = None,
        log_interval: float = 5.0,
    ) -> None:
        if not isinstance(experiment_name, str) or not experiment_name.strip():
            raise InvalidParameterError("experiment_name must be a non-empty string")
        if isinstance(scheduler, str) and scheduler.strip() in ("threads", "processes"):
            raise InvalidParameterError(
                f"scheduler={scheduler!r} chooses how dataset functions use this machine; "
                "runs go to a dask.distributed cluster: omit scheduler (a LocalCluster sized "
                "to max_parallel) or give a scheduler address or client"
            )
        if not isinstance(task_instance, TaskExecution):
            raise InvalidParameterError(
                f"task_instance must be a TaskExecution, got {type(task_instance).__name__}"
            )
        if not isinstance(repetitions, int) or repetitions < 1:
            raise InvalidParameterError(f"repetitions must be an integer >= 1, got {repetitions}")
        if max_parallel is not None and (not isinstance(max_parallel, int) or max_parallel < 1):
            raise InvalidParameterError(f"max_parallel must be an integer >= 1, got {max_parallel}")
        self.experiment_name = experiment_name
        self.task = task_instance
        self.train = _as_dataset(ref_dsw_train, "ref_dsw_train")
        if self.train is None:
            raise InvalidParameterError("ref_dsw_train is required")
        self.val = _as_dataset(ref_dsw_val, "ref_dsw_val")
        self.test = _as_dataset(ref_dsw_test, "ref_dsw_test")
        self.grid = hyperparameter_grid(extra_train_params)
        self.repetitions = repetitions
        self.mlflow_monitoring = bool(mlflow_monitoring)
        self.cloud_options = self._check_cloud_options(cloud_options or {})
        self.modifiers = self._parse_modifiers(ds_modifiers_list, include_reference)
        from iqx.experiment.measure import _BLIND_FAMILIES

        self.image_metrics = tuple(image_metrics)
        bad = [m for m in self.image_metrics if m not in _BLIND_FAMILIES]
        if bad:
            raise InvalidParameterError(
                f"image_metrics: unknown {bad}; choose from {list(_BLIND_FAMILIES)}"
            )
        self.max_parallel = max_parallel
        self.scheduler = scheduler
        self.keep_datasets = keep_datasets
        self.keep_intermediates = keep_intermediates
        self.tracker = Tracker(
            self.cloud_options.get("tracking_uri") or None,
            registry_uri=self.cloud_options.get("registry_uri") or None,
            workdir=workdir,
        )
        self.progress = progress or (lambda message: None)
        self.log_interval = log_interval

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_cloud_options(options: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(options, Mapping):
            raise InvalidParameterError("cloud_options must be a dict")
        for key in options:
            if key not in _CLOUD_KEYS:
                near = difflib.get_close_matches(str(key), sorted(_CLOUD_KEYS), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise InvalidParameterError(f"cloud_options: unknown key {key!r}{hint}")
        return dict(options)

    @staticmethod
    def _parse_modifiers(items: Sequence[Any], include_reference: bool) -> list[Any]:
        from iqx.modifiers import as_modifier

        if isinstance(items, str | Mapping) or not isinstance(items, Sequence):
            items = [items]
        out: list[Any] = []
        for item in items:
            identity = item is None or (isinstance(item, str) and item == REFERENCE)
            identity = identity or bool(getattr(item, "iqx_identity", False))
            value = None if identity else as_modifier(item)
            if value not in out:
                out.append(value)
        if include_reference and None not in out:
            out.insert(0, None)
        if not out:
            raise InvalidParameterError(
                "ds_modifiers_list is empty: give at least one modifier, or "
                "include_reference=True to run on the unmodified dataset only"
            )
        return out

    def secrets(self) -> tuple[str, ...]:
        """Values that must never be logged (credentials in options and the environment)."""
        values = [str(self.cloud_options[k]) for k in _SECRET_KEYS if self.cloud_options.get(k)]
        values += list(environment_secrets())
        env = getattr(self.task, "env", None) or {}
        values += [str(env[k]) for k in env_credentials(env, tuple(values))]
        parts = urllib.parse.urlsplit(self.tracker.uri)
        values += [parts.password or "", parts.username or ""]
        return tuple(v for v in values if v)

    # ------------------------------------------------------------------ planning
    def _modified_ref(self, source: Any, modifier: Any) -> DatasetRef:
        """Name and params of ``source`` modified by ``modifier``, without writing it."""
        if modifier is None:
            return DatasetRef.from_dataset(source)
        from iqx.modifiers import Chain

        steps = (
            list(modifier.steps)
            if isinstance(modifier, Chain) and self.keep_intermediates
            else [modifier]
        )
        name, params = source.name, dict(source.params)
        for step in steps:
            name = f"{name}#{step.folder_name}"
            prev = params.get("modifier")
            params["modifier"] = f"{prev}#{step.folder_name}" if prev else step.folder_name
            params.update({k: v for k, v in step.get_config().items() if k != "id"})
        params["ds_name"] = name
        path = source.parent_folder.resolve() / name
        return DatasetRef(path=str(path), name=name, params=params)

    def plan(self) -> list[RunSpec]:
        """Every run of the experiment, in execution order (modifier-major)."""
        datasets = [ds for ds in (self.train, self.val, self.test) if ds]
        sources = tuple(dataset_fingerprint(ds.data_path) for ds in datasets)
        # a declared bit depth changes what the modifiers and the metrics do: a run made
        # with another depth (or none) is another run (undeclared: the keys are unchanged)
        depths = [getattr(ds, "bit_depth", None) for ds in datasets]
        if any(d is not None for d in depths):
            sources += tuple(f"bit_depth={d}" for d in depths)
        reference = DatasetRef.from_dataset(self.train)
        specs = []
        for mod in self.modifiers:
            train = self._modified_ref(self.train, mod)
            val = self._modified_ref(self.val, mod) if self.val else None
            test = self._modified_ref(self.test, mod) if self.test else None
            config = mod.get_config() if mod is not None else None
            for hp in self.grid:
                for rep in range(self.repetitions):
                    specs.append(
                        RunSpec(
                            experiment=self.experiment_name,
                            task=self.task.identity(),
                            train=train,
                            reference=reference,
                            modifier=config,
                            hyperparameters=hp,
                            repetition=rep,
                            val=val,
                            test=test,
                            source_fingerprints=sources,
                        )
                    )
        return specs

    # ------------------------------------------------------------------ execution
    def execute(self) -> ExecutionSummary:
        """Run every run not yet FINISHED; return what was done.

        Raises
        ------
        ExperimentError
            Another live process is executing the same experiment, or a credential would
            have to travel to a dask worker over an unencrypted link (neither local nor TLS;
            see :mod:`iqx.experiment._secrets`).
        TrackingError
            The tracking store is unreachable (checked before any work).
        """
        from iqx.experiment._runner import Runner

        self.task.check()
        check_cloud = getattr(self.task, "check_cloud_options", None)
        if check_cloud is not None:  # e.g. SageMaker: datasets must go to a bucket
            check_cloud(self.cloud_options)
        # no secret may travel to a worker over an unencrypted link (iqx.experiment._secrets)
        check_private(self, self.task, scheduler_link(self))
        self.tracker.check()
        return Runner(self).run()

    def run_table(self) -> Any:
        """One row per planned run with its status and metrics, read from MLflow.

        See :func:`iqx.experiment.table.run_table`; a pandas DataFrame.
        """
        from iqx.experiment.table import run_table

        return run_table(self.tracker, self.experiment_name, self.plan())

    def _request(self, spec: RunSpec, run_id: str, exp_id: str) -> RunRequest:
        mlflow = None
        if self.mlflow_monitoring:
            mlflow = {"mlfuri": self.tracker.uri, "mlfexpid": exp_id, "mlfrunid": run_id}
        return RunRequest(
            train_path=spec.train.path,
            reference_path=spec.reference.path,
            output_path="",
            log_path="",
            hyperparameters=dict(spec.hyperparameters),
            val_path=spec.val.path if spec.val else None,
            test_path=spec.test.path if spec.test else None,
            mlflow=mlflow,
            secrets=self.secrets(),
        )

    def _start_tags(self, spec: RunSpec) -> dict[str, str]:
        from iqx._version import __version__

        return {
            KEY_TAG: spec.key,
            OWNER_TAG: _owner(),
            "iqx.task": self.task.identity(),
            "iqx.version": __version__,
            "iqx.reference": "true" if spec.is_reference else "false",
            "mlflow.source.name": redact_uri(" ".join(sys.argv[:1]) or "iqx"),
        }

    def _pool(self, n_runs: int) -> tuple[RunPool, Callable[[], None]]:
        """The pool to run on and a function that releases what it started."""
        parallel = self.max_parallel or default_parallelism()
        serial = not getattr(self.task, "parallel_runs", True)
        if self.scheduler is None and (parallel <= 1 or n_runs <= 1 or serial):
            return RunPool(None, 1, self.log_interval), lambda: None
        from iqx._compat import import_optional

        distributed = import_optional("distributed", "parallel experiments")
        if self.scheduler is not None:
            client, close = self.scheduler, (lambda: None)
            if isinstance(self.scheduler, str):
                client = distributed.Client(self.scheduler, set_as_default=False)
                close = client.close
            return RunPool(client, parallel, self.log_interval, in_process=serial), close
        # runs mostly wait on a subprocess: threads of one local worker are enough, and
        # avoid re-importing the user's __main__ in spawned processes
        cluster = distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=min(parallel, n_runs),
            processes=False,
            dashboard_address=":0",  # a free port: never clash with a running cluster
        )
        client = distributed.Client(cluster, set_as_default=False)

        def close() -> None:
            client.close()
            cluster.close()

        return RunPool(client, min(parallel, n_runs), self.log_interval), close

    def _log_outcome(self, outcome: RunOutcome, spec: RunSpec) -> None:
        logged = {k: str(v) for k, v in spec.params().items()}
        params = {}
        for k, v in outcome.params.items():
            if k in logged and logged[k] != str(v):
                k = f"result.{k}"  # MLflow refuses to change a param's value
            params[k] = v
        self.tracker.log(outcome.run_id, params=params, metrics=outcome.metrics, tags=outcome.tags)
        self.tracker.terminate(outcome.run_id, outcome.status)


def owner_alive(owner: str | None) -> bool:
    """Whether the process recorded in an ``iqx.owner`` tag is still running (this host)."""
    return bool(owner) and _owner_alive(str(owner))
