"""``ExperimentInfo``: an experiment's runs read back from MLflow, scored again, as a table.

IQUAFLOW's class of the same name, with the same ``runs`` dict, ``apply_metric_per_run`` and
``get_df``, on MLflow 3 (``search_runs``, not the removed ``list_run_infos``) and any store
(SQLite, HTTP server; artifacts are always downloaded, never read through local paths).

Image metrics of runs are found from what the run **used**, recorded in its params
(``ds_path``, ``ds_reference_path``), or from what it **generated**, listed in its
``output.json`` (:mod:`iqx.experiment.generated`); never by parsing artifact paths as
IQUAFLOW's ``SNRMetric``/``SharpnessMetric`` did.
"""

from __future__ import annotations

import json
import math
import numbers
import tempfile
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from iqx.errors import AnnotationError, ExperimentError, InvalidParameterError, TrackingError
from iqx.experiment.generated import generated_entries, image_scores, resolve_entries
from iqx.experiment.tracking import RunRecord, Tracker, redact_uri

__all__ = ["ExperimentInfo"]

OUTPUT_FILE = "output.json"


def _local_path(uri: str) -> str:
    """A ``file:`` URI as a local path; any other URI unchanged."""
    if uri.startswith("file:"):
        return urllib.request.url2pathname(urllib.parse.urlparse(uri).path)
    return uri


def _ds_column(name: str) -> str:
    return name if name.startswith("ds_") else f"ds_{name}"


def _numeric(column: pd.Series) -> pd.Series:
    """``column`` as numbers when every non-missing value is one (MLflow params are text)."""
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return column
    if column.isna().all():
        return column.astype(float)
    try:
        return pd.to_numeric(column)
    except (ValueError, TypeError):
        return column


class ExperimentInfo:
    """The runs of an MLflow experiment: IQUAFLOW's ``ExperimentInfo``.

    Parameters
    ----------
    experiment_name : str
        The experiment (as given to :class:`~iqx.experiment.ExperimentSetup`).
    tracking_uri : str, optional
        Tracking store; default ``cloud_options["tracking_uri"]``, then
        ``$MLFLOW_TRACKING_URI``, then ``sqlite:///<workdir>/mlflow.db``
        (:func:`~iqx.experiment.tracking.resolve_tracking_uri`).
    cloud_options : dict, optional
        ``tracking_uri`` and ``registry_uri``, as given to the setup (other keys ignored).
    workdir : path-like
        Where the default SQLite store lives.

    Attributes
    ----------
    runs : dict
        ``runs[run_name] = {"run_id", "run_status", "params_dict", "metrics_dict",
        "artifact_path", "output_pred_path"}``, oldest run first; runs sharing a name are
        ``name``, ``name_1``, ``name_2``, ... in start order. ``artifact_path`` is a local
        folder for local stores, else the artifact URI.
    experiment_id : str

    Raises
    ------
    ExperimentError
        No experiment of that name in the store.
    """

    def __init__(
        self,
        experiment_name: str,
        tracking_uri: str | None = None,
        cloud_options: Mapping[str, Any] | None = None,
        *,
        workdir: str | Path = ".",
    ) -> None:
        options = dict(cloud_options or {})
        self.experiment_name = experiment_name
        self.tracker = Tracker(
            tracking_uri or options.get("tracking_uri") or None,
            registry_uri=options.get("registry_uri") or None,
            workdir=workdir,
        )
        exp_id = self.tracker.experiment_id(experiment_name, create=False)
        if exp_id is None:
            raise ExperimentError(
                f"no experiment named {experiment_name!r} in {redact_uri(self.tracker.uri)}"
            )
        self.experiment_id: str = exp_id
        self.runs: dict[str, dict[str, Any]] = {}
        self._records: dict[str, RunRecord] = {}
        self.get_mlflow_run_info()

    def __repr__(self) -> str:
        return (
            f"ExperimentInfo({self.experiment_name!r}, tracking_uri="
            f"{redact_uri(self.tracker.uri)!r}, runs={len(self.runs)})"
        )

    # ------------------------------------------------------------------ reading
    def get_mlflow_run_info(self) -> dict[str, dict[str, Any]]:
        """Read (again) every active run of the experiment into :attr:`runs`; return it."""
        runs: dict[str, dict[str, Any]] = {}
        records: dict[str, RunRecord] = {}
        for rec in self.tracker.runs(self.experiment_id):
            name = base = rec.run_name or rec.run_id
            n = 0
            while name in runs:
                n += 1
                name = f"{base}_{n}"
            artifact_path = _local_path(rec.artifact_uri)
            runs[name] = {
                "run_id": rec.run_id,
                "run_status": rec.status,
                "params_dict": dict(rec.params),
                "metrics_dict": dict(rec.metrics),
                "artifact_path": artifact_path,
                "output_pred_path": f"{artifact_path.rstrip('/')}/{OUTPUT_FILE}",
            }
            records[name] = rec
        self.runs, self._records = runs, records
        return runs

    def _selected(self, statuses: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
        wanted = set(statuses)
        return [(n, r) for n, r in self.runs.items() if r["run_status"] in wanted]

    def _fetch_output(self, run_id: str, dst: Path) -> Path:
        """Download a run's ``output.json`` (and the images it lists) into ``dst``."""
        local = self.tracker.download_artifacts(run_id, OUTPUT_FILE, dst)
        try:
            listing = generated_entries(json.loads(local.read_text(encoding="utf-8")))
            if listing is not None:
                found = resolve_entries(*listing, self.tracker.list_artifacts(run_id))
                for rel in found:
                    if not Path(rel).is_absolute():  # a file lands in dst/<its folder>
                        folder = dst / PurePosixPath(rel).parent
                        folder.mkdir(parents=True, exist_ok=True)
                        self.tracker.download_artifacts(run_id, rel, folder)
        except (ValueError, AnnotationError):
            pass  # not an image listing the metric could use: the metric decides
        return local

    def _log_scores(self, run_id: str, scores: Mapping[str, Any], where: str) -> None:
        metrics = {
            str(k): float(v)
            for k, v in scores.items()
            if isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
        }
        dropped = sorted(str(k) for k in scores if str(k) not in metrics)
        if dropped:
            warnings.warn(f"{where}: not finite numbers, not logged: {dropped}", stacklevel=3)
        if metrics:
            self.tracker.log(run_id, metrics=metrics)

    def get_results_dict(self) -> dict[str, Any]:
        """The parsed ``output.json`` of every FINISHED run that has one, by run name."""
        out: dict[str, Any] = {}
        with tempfile.TemporaryDirectory(prefix="iqx-info-") as tmp:
            for i, (name, run) in enumerate(self._selected(["FINISHED"])):
                try:
                    path = self.tracker.download_artifacts(run["run_id"], OUTPUT_FILE, f"{tmp}/{i}")
                    out[name] = json.loads(path.read_text(encoding="utf-8"))
                except (TrackingError, OSError, ValueError):
                    continue
        return out

    # ------------------------------------------------------------------ scoring
    def apply_metric_per_run(
        self, metric: Any, gt_path: str | Path, *, statuses: Iterable[str] = ("FINISHED",)
    ) -> dict[str, dict[str, Any]]:
        """Score every run's ``output.json`` with ``metric`` and log the values into the run.

        Parameters
        ----------
        metric : object
            IQUAFLOW's interface: ``metric.apply(predictions, gt_path) -> dict``
            (e.g. :class:`~iqx.metrics.BBDetectionMetrics`,
            :class:`~iqx.experiment.generated.GeneratedImageMetrics`), or a callable with
            that signature. ``predictions`` is a local copy of the run's ``output.json``;
            the generated images it lists are downloaded beside it.
        gt_path : path-like
            Ground truth, passed to the metric as it is.
        statuses : iterable of str
            Which runs to score (default FINISHED: failed runs have no usable output).

        Returns
        -------
        dict
            :attr:`runs`, refreshed. Finite numbers are logged as metrics (step 0); runs
            without ``output.json`` are skipped with a warning.
        """
        apply = getattr(metric, "apply", metric)
        if not callable(apply):
            raise InvalidParameterError(f"metric {metric!r} has no apply(predictions, gt_path)")
        with tempfile.TemporaryDirectory(prefix="iqx-info-") as tmp:
            for i, (name, run) in enumerate(self._selected(statuses)):
                try:
                    local = self._fetch_output(run["run_id"], Path(tmp) / str(i))
                except (TrackingError, OSError) as exc:
                    warnings.warn(f"run {name}: no {OUTPUT_FILE} ({exc}); skipped", stacklevel=2)
                    continue
                scores = apply(str(local), str(gt_path))
                self._log_scores(run["run_id"], dict(scores), f"run {name}")
        return self.get_mlflow_run_info()

    def apply_image_metrics_per_run(
        self,
        blind: Sequence[str] = ("snr", "sharpness"),
        reference: Sequence[str] = ("psnr", "ssim"),
        *,
        source: str = "dataset",
        gt_path: str | Path | None = None,
        prefix: str | None = None,
        statuses: Iterable[str] = ("FINISHED",),
    ) -> dict[str, dict[str, Any]]:
        """Image metrics of each run, logged into it (``img_snr``, ``gen_psnr``, ...).

        Parameters
        ----------
        blind : sequence of str
            Blind metric families (``"snr"``: ``snr``; ``"sharpness"``: ``rer_x``,
            ``rer_y``, ``mtf_nyquist_x``, ``mtf_nyquist_y``, ``n_edges_*``), mean over images.
        reference : sequence of str
            Registered full-reference metrics (``"psnr"``, ``"ssim"``, ...), mean over
            images matched by file name.
        source : {"dataset", "generated"}
            ``"dataset"``: the images the run was given, from its ``ds_path`` param,
            compared with ``ds_reference_path`` (the unmodified set; SSIM 1 for the
            reference run itself, PSNR left out). Each dataset is measured once for all the
            runs that used it. ``"generated"``: the images listed in the run's
            ``output.json`` (:mod:`iqx.experiment.generated`), compared with ``gt_path``
            (default: the run's ``ds_reference_path``).
        gt_path : path-like, optional
            Ground-truth dataset (or flat image folder) for ``source="generated"``.
        prefix : str, optional
            Name prefix; default ``"img_"`` (as ``ExperimentSetup(image_metrics=...)``) or
            ``"gen_"``.
        statuses : iterable of str
            Which runs to measure.

        Returns
        -------
        dict
            :attr:`runs`, refreshed. Runs whose dataset is gone or that list no images are
            skipped with a warning.
        """
        from iqx.experiment.generated import GeneratedImageMetrics

        if source not in ("dataset", "generated"):
            raise InvalidParameterError(f"source must be 'dataset' or 'generated', not {source!r}")
        prefix = prefix if prefix is not None else ("img_" if source == "dataset" else "gen_")
        metric = GeneratedImageMetrics(blind, reference, prefix)  # validates the names
        if source == "generated":
            with tempfile.TemporaryDirectory(prefix="iqx-info-") as tmp:
                for i, (name, run) in enumerate(self._selected(statuses)):
                    gt = gt_path or run["params_dict"].get("ds_reference_path")
                    try:
                        local = self._fetch_output(run["run_id"], Path(tmp) / str(i))
                        scores = metric.apply(local, gt)
                    except (TrackingError, OSError, AnnotationError) as exc:
                        warnings.warn(f"run {name}: {exc}; skipped", stacklevel=2)
                        continue
                    self._log_scores(run["run_id"], scores, f"run {name}")
            return self.get_mlflow_run_info()
        cache: dict[tuple[str, str | None], dict[str, float]] = {}
        for name, run in self._selected(statuses):
            data = run["params_dict"].get("ds_path")
            ref = run["params_dict"].get("ds_reference_path")
            if not data or not Path(data).is_dir():
                why = "no ds_path param" if not data else f"its dataset {data} is gone"
                warnings.warn(f"run {name}: {why}; skipped", stacklevel=2)
                continue
            if reference and (not ref or not Path(ref).is_dir()):
                warnings.warn(
                    f"run {name}: reference dataset {ref} not found; skipped", stacklevel=2
                )
                continue
            if (data, ref) not in cache:
                cache[data, ref] = image_scores(data, ref, metric.blind, metric.reference, prefix)
            self._log_scores(run["run_id"], cache[data, ref], f"run {name}")
        return self.get_mlflow_run_info()

    # ------------------------------------------------------------------ table
    def get_df(
        self,
        ds_params: Sequence[str],
        metrics: Sequence[str],
        grouped: Sequence[str] | str | None = None,
        dropna: bool = True,
        fields_to_float_lst: Sequence[str] | None = None,
        fields_to_int_lst: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """The FINISHED runs as a table, IQUAFLOW's way.

        Parameters
        ----------
        ds_params : sequence of str
            Run params to show, as columns ``ds_<param>`` (a name already starting with
            ``ds_`` is kept): ``"modifier"``, ``"quality"``, ``"ds_name"``, ``"repetition"``...
        metrics : sequence of str
            Metric columns: a metric's last logged value (the last step of a curve),
            falling back to a param of that name (numbers in ``results.json`` logged as
            params, IQUAFLOW's habit); NaN when a run has neither.
        grouped : sequence of str, optional
            Columns (with or without ``ds_``) to group by: the result holds the ``mean`` and
            ``std`` of every metric over each group's runs (repetitions), with a
            ``(metric, "mean"|"std")`` column index. Runs lacking a grouping param (the
            reference has no ``quality``) form their own group.
        dropna : bool
            Drop runs missing any of ``metrics`` (before grouping).
        fields_to_float_lst, fields_to_int_lst : sequence of str, optional
            Columns to cast (before grouping); columns whose values are all numbers are
            cast anyway (MLflow params are text).

        Returns
        -------
        pandas.DataFrame
        """
        ds_params, metrics = list(ds_params), list(metrics)
        columns = ["name", *(_ds_column(p) for p in ds_params), *metrics]
        if len(set(columns)) != len(columns):
            raise InvalidParameterError(f"get_df: repeated column names in {columns}")
        rows = []
        for name, run in self._selected(["FINISHED"]):
            params, values = run["params_dict"], run["metrics_dict"]
            row: list[Any] = [name, *(params.get(p) for p in ds_params)]
            for m in metrics:
                row.append(values[m] if values.get(m) is not None else params.get(m))
            rows.append(row)
        df = pd.DataFrame(rows, columns=columns)
        for col in columns[1:]:
            df[col] = _numeric(df[col])
        for fields, kind in ((fields_to_float_lst, "float"), (fields_to_int_lst, "int")):
            for col in fields or ():
                if col not in df.columns:
                    raise InvalidParameterError(f"get_df: no column {col!r} in {list(df.columns)}")
                kind_ = "Int64" if kind == "int" and df[col].isna().any() else kind
                df[col] = pd.to_numeric(df[col]).astype(kind_)
        if dropna and metrics:
            df = df.dropna(subset=metrics).reset_index(drop=True)
        if not grouped:
            return df
        keys = [grouped] if isinstance(grouped, str) else list(grouped)
        keys = [k if k in df.columns else _ds_column(k) for k in keys]
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise InvalidParameterError(
                f"get_df: cannot group by {missing}: not among the columns {list(df.columns)} "
                "(add them to ds_params)"
            )
        text = [m for m in metrics if not pd.api.types.is_numeric_dtype(df[m])]
        if text:
            raise InvalidParameterError(f"get_df: metrics {text} are not numbers; cannot average")
        return df.groupby(keys, dropna=False, sort=True).agg({m: ["mean", "std"] for m in metrics})
