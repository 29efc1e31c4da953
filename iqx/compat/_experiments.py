"""IQUAFLOW's ``iquaflow.experiments`` names on iqx's experiment engine."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iqx.experiment.info import ExperimentInfo as _IqxInfo
from iqx.experiment.setup import ExperimentSetup as _IqxSetup
from iqx.experiment.task import PythonScriptTaskExecution as _IqxScript
from iqx.experiment.task import RunRequest

__all__ = ["ExperimentInfo", "ExperimentSetup", "PythonScriptTaskExecution"]


class ExperimentSetup(_IqxSetup):
    """IQUAFLOW's ``ExperimentSetup`` (same positional arguments), run by iqx.

    ``ref_dsw_train``/``ref_dsw_val``/``ref_dsw_test`` may be compat
    :class:`~iqx.compat.iquaflow.DSWrapper` objects; ``ds_modifiers_list`` compat
    ``DSModifier`` objects (converted with their ``iqx_modifier()``), iqx modifiers or specs.
    Every iqx keyword (``max_parallel``, ``image_metrics``, ``workdir`` ...) is accepted.

    Differences: runs are resumable (a finished run is not run again), independent runs run
    in parallel, the script's exit code is checked, numbers in ``results.json`` become
    metrics, and the default tracking store is ``sqlite:///<workdir>/mlflow.db`` (IQUAFLOW:
    MLflow's global URI, ``./mlruns``); see ``docs/migration.md``.
    """

    def __init__(
        self,
        experiment_name: str,
        task_instance: Any,
        ref_dsw_train: Any,
        ds_modifiers_list: Any = (),
        ref_dsw_val: Any = None,
        ref_dsw_test: Any = None,
        extra_train_params: Mapping[str, Any] | None = None,
        repetitions: int = 1,
        cloud_options: Mapping[str, Any] | None = None,
        mlflow_monitoring: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            experiment_name,
            task_instance,
            ref_dsw_train,
            list(ds_modifiers_list),
            ref_dsw_val=ref_dsw_val,
            ref_dsw_test=ref_dsw_test,
            extra_train_params=extra_train_params,
            repetitions=repetitions,
            mlflow_monitoring=mlflow_monitoring,
            cloud_options=cloud_options,
            **kwargs,
        )


class PythonScriptTaskExecution(_IqxScript):
    """IQUAFLOW's script task: ``python <script> --trainds ... --outputpath ... --<hp> v``.

    Parameters
    ----------
    model_script_path : path-like
        The training script.
    tmp_dir : path-like, optional
        Parent of the per-run output folders.
    **kwargs
        iqx's options (``python``, ``timeout``, ``scalars_as_params``, ``env``).

    Raises
    ------
    FileNotFoundError
        The script does not exist (as IQUAFLOW).
    """

    def __init__(
        self,
        model_script_path: str | os.PathLike[str],
        tmp_dir: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if not Path(model_script_path).is_file():
            raise FileNotFoundError(f"{model_script_path}: training script not found")
        super().__init__(model_script_path, tmp_dir, **kwargs)

    def train_val(
        self,
        experiment_name: str,
        run_name: str,
        train_ds: Any,
        val_ds: Any = "",
        mlargs: Mapping[str, Any] | None = None,
        mlflow_monitoring: bool = False,
        *,
        tracking_uri: str | None = None,
    ) -> str:
        """Execute one run outside an experiment loop (IQUAFLOW's ``train_val``).

        Parameters
        ----------
        experiment_name, run_name : str
            MLflow experiment (created if missing) and run name.
        train_ds, val_ds : DSWrapper or str
            Datasets; a wrapper's params are logged (``ds_name``, ``modifier``, ... and
            ``*_val``), a string is passed as it is.
        mlargs : dict, optional
            Hyperparameters (``testds`` is the test set).
        mlflow_monitoring : bool
            Pass ``--mlfuri --mlfexpid --mlfrunid``.
        tracking_uri : str, optional
            Tracking store (default: ``$MLFLOW_TRACKING_URI``, else
            ``sqlite:///./mlflow.db``).

        Returns
        -------
        str
            The run id. The run is FINISHED or FAILED (a failing script fails the run).
        """
        from iqx.experiment.executor import execute_run
        from iqx.experiment.tracking import Tracker

        args = dict(mlargs or {})
        params: dict[str, Any] = {}

        def path_of(ds: Any, suffix: str) -> str | None:
            if ds is None or ds == "":
                return None
            if hasattr(ds, "data_path"):
                params.update({f"{k}{suffix}": v for k, v in ds.params.items()})
                return str(ds.data_path)
            return str(ds)

        train = path_of(train_ds, "") or ""
        val = path_of(val_ds, "_val")
        test = path_of(args.pop("testds", None), "_test")
        tracker = Tracker(tracking_uri)
        tracker.check()
        self.check()
        exp_id = tracker.experiment_id(experiment_name)
        run_id = tracker.create_run(exp_id, run_name, {})
        params.update(args)
        tracker.log(run_id, params=params)
        monitoring = None
        if mlflow_monitoring:
            monitoring = {"mlfuri": tracker.uri, "mlfexpid": exp_id, "mlfrunid": run_id}
        request = RunRequest(
            train_path=train,
            reference_path=train,
            output_path="",
            log_path="",
            hyperparameters=args,
            val_path=val,
            test_path=test,
            mlflow=monitoring,
        )
        outcome = execute_run(self, request, tracker, run_id, tmp_dir=self.tmp_dir)
        logged = {k: str(v) for k, v in params.items()}
        out_params = {
            (f"result.{k}" if k in logged and logged[k] != str(v) else k): v
            for k, v in outcome.params.items()
        }
        tracker.log(run_id, params=out_params, metrics=outcome.metrics, tags=outcome.tags)
        tracker.terminate(run_id, outcome.status)
        return run_id


class ExperimentInfo(_IqxInfo):
    """IQUAFLOW's ``ExperimentInfo(experiment_name)`` (``runs``, ``get_df``, ...).

    :meth:`apply_metric_per_run` also takes the compat image metrics
    (:class:`~iqx.compat.iquaflow.SNRMetric`, :class:`~iqx.compat.iquaflow.SharpnessMetric`),
    which measure the images each run was given, found from the run's ``ds_path`` param
    (IQUAFLOW parsed run ids out of artifact paths).
    """

    def apply_metric_per_run(
        self, metric: Any, gt_path: str | os.PathLike[str], **kwargs: Any
    ) -> dict[str, dict[str, Any]]:
        """Score every FINISHED run with ``metric`` and log the values into it.

        Parameters
        ----------
        metric : object
            ``metric.apply(predictions, gt_path) -> dict`` (IQUAFLOW's interface), or a
            compat image metric (measured on the run's dataset).
        gt_path : path-like
            Ground truth passed to the metric (unused by the image metrics).
        **kwargs
            ``statuses`` (default ``("FINISHED",)``).

        Returns
        -------
        dict
            :attr:`runs`, refreshed.
        """
        measure = getattr(metric, "measure_dataset", None)
        if measure is None:
            return super().apply_metric_per_run(metric, gt_path, **kwargs)
        import warnings

        cache: dict[str, dict[str, Any]] = {}
        for name, run in self._selected(kwargs.get("statuses", ("FINISHED",))):
            path = run["params_dict"].get("ds_path")
            if not path or not Path(path).is_dir():
                warnings.warn(f"run {name}: its dataset {path!r} is gone; skipped", stacklevel=2)
                continue
            if path not in cache:
                cache[path] = measure(path)
            self._log_scores(run["run_id"], cache[path], f"run {name}")
        return self.get_mlflow_run_info()
