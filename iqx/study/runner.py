"""``run_study``: execute a validated study, answer its question, write its report.

The study is an :class:`~iqx.experiment.setup.ExperimentSetup` (the task: the training script,
or the built-in :class:`~iqx.experiment.measure.MeasureTask` when there is none) over every
sweep setting, plus, for ``[target] search = true``, a
:func:`~iqx.experiment.search.find_cheapest` over the searched family in the same experiment
(same run keys: the baseline and any probe already run are reused). Re-running resumes: the
experiment layer skips FINISHED runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from iqx.study.config import StudyConfig

__all__ = ["StudyResult", "run_study"]


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` did and found.

    Attributes
    ----------
    name : str
        The study (its MLflow experiment).
    tracking_uri : str
    answer : str
        One sentence.
    cheapest : dict
        ``setting``, ``bits_per_pixel``, ``metric_value``, ``threshold``, ``baseline`` ...
        (``setting`` None: no target, or nothing meets it).
    summary : pandas.DataFrame
        Mean and spread of every setting (:func:`~iqx.study.results.summary_table`).
    runs : pandas.DataFrame
        One row per run (:func:`~iqx.study.results.study_runs`).
    executed, skipped, failed : int
        Runs executed now, found FINISHED, failed.
    report : dict
        Paths written by the report (``html``, ``plots``), empty without a report.
    """

    name: str
    tracking_uri: str
    answer: str
    cheapest: dict[str, Any]
    summary: pd.DataFrame
    runs: pd.DataFrame
    executed: int = 0
    skipped: int = 0
    failed: int = 0
    report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (tables as lists of records)."""
        return {
            "study": self.name,
            "tracking_uri": self.tracking_uri,
            "answer": self.answer,
            "cheapest": self.cheapest,
            "runs": {"executed": self.executed, "skipped": self.skipped, "failed": self.failed},
            "summary": self.summary.to_dict(orient="records"),
            "report": {
                "html": str(self.report["html"]) if self.report else None,
                "plots": [str(p) for p in self.report.get("plots", [])],
            },
        }


def _task(cfg: StudyConfig) -> Any:
    if cfg.task.script is None:
        from iqx.experiment.measure import MeasureTask

        return MeasureTask(
            blind=cfg.metrics.blind, reference=cfg.metrics.reference, bit_depth=cfg.data.bit_depth
        )
    from iqx.study.tasks import ScoredScriptTask

    return ScoredScriptTask(
        cfg.task.script, cfg.metrics.task, cfg.metrics.ground_truth, timeout=cfg.task.timeout
    )


def _dataset(path: Path | None, cfg: StudyConfig) -> Any:
    """The dataset at ``path`` with the study's declared bit depth (None: no dataset).

    The depth travels with the :class:`~iqx.datasets.Dataset`: :func:`iqx.modify` applies
    the modifiers with it (and records it in each copy's manifest), and the bits per pixel
    count raw samples at it (:func:`iqx.experiment.volume.dataset_bit_depth`).
    """
    if path is None:
        return None
    from iqx.datasets import open_dataset

    return open_dataset(path, bit_depth=cfg.data.bit_depth)


def parameters_of(cfg: StudyConfig) -> dict[str, str | None]:
    """Swept parameter of each family (``{"jpeg": "quality"}``)."""
    return {s.family: s.parameter for s in cfg.sweeps}


def _log_reference_metrics(tracker: Any, runs: pd.DataFrame, cfg: StudyConfig, say) -> None:
    """Full-reference metrics of each script run's dataset (``img_psnr`` ...), once each."""
    from iqx.experiment.generated import image_scores

    wanted = [f"img_{m}" for m in cfg.metrics.reference]
    if runs.empty or not wanted:
        return
    done = runs[runs["status"] == "FINISHED"]
    missing = done[
        [any(c not in done or pd.isna(r.get(c)) for c in wanted) for _, r in done.iterrows()]
    ]
    cache: dict[tuple[str, str], dict[str, float]] = {}
    client_runs = {r.run_id: r for r in tracker.runs(tracker.experiment_id(cfg.name))}
    for run_id in missing["run_id"]:
        params = client_runs[run_id].params
        data, ref = params.get("ds_path"), params.get("ds_reference_path")
        if not data or not ref or not Path(data).is_dir() or not Path(ref).is_dir():
            continue
        if (data, ref) not in cache:
            say(f"measuring {Path(data).name} against the reference ({', '.join(wanted)})")
            cache[data, ref] = image_scores(
                data, ref, (), cfg.metrics.reference, "img_", bit_depth=cfg.data.bit_depth
            )
        if cache[data, ref]:
            tracker.log(run_id, metrics=cache[data, ref])


def run_study(
    cfg: StudyConfig,
    *,
    progress: Callable[[str], None] | None = None,
    report: bool = True,
    report_dir: str | Path | None = None,
) -> StudyResult:
    """Run (or resume) a study, answer its target, record it in MLflow and write its report.

    Parameters
    ----------
    cfg : StudyConfig
        From :func:`~iqx.study.config.load_study`.
    progress : callable, optional
        Receives one line per event.
    report : bool
        Write the HTML report and plots (rebuilt from MLflow, as ``iqx study report``).
    report_dir : path-like, optional
        Where (default ``[study] report``, ``report`` next to ``STUDY.toml``).

    Returns
    -------
    StudyResult

    Raises
    ------
    ExperimentError
        A search probe failed (running again resumes), or another process runs the study.
    TrackingError
        The tracking store cannot be used (checked before any work).
    """
    from iqx.experiment.setup import ExperimentSetup
    from iqx.study import results as res

    say = progress or (lambda message: None)
    task = _task(cfg)
    target = cfg.target
    searched = target.modifier if target is not None and target.search else None
    cloud = {"tracking_uri": cfg.tracking_uri} if cfg.tracking_uri else None
    train, val, test = (_dataset(p, cfg) for p in (cfg.data.train, cfg.data.val, cfg.data.test))
    common: dict[str, Any] = {
        "ref_dsw_val": val,
        "ref_dsw_test": test,
        "mlflow_monitoring": cfg.task.mlflow_monitoring,
        "image_metrics": cfg.metrics.blind if cfg.task.script is not None else (),
        "scheduler": cfg.scheduler,
        "workdir": cfg.folder,
    }
    setup = ExperimentSetup(
        cfg.name,
        task,
        train,
        cfg.modifier_settings(exclude=searched),
        extra_train_params=dict(cfg.task.hyperparameters),
        repetitions=cfg.task.repetitions,
        cloud_options=cloud,
        include_reference=cfg.include_reference or searched is not None,
        max_parallel=cfg.max_parallel,
        progress=say,
        log_interval=0,
        **common,
    )
    tracker = setup.tracker
    say(f"study {cfg.name!r}: {len(setup.plan())} runs planned, tracking {tracker!r}")
    done = setup.execute()
    executed, skipped, failed = len(done.finished), len(done.skipped), len(done.failed)
    search_result = None
    if searched is not None:
        from iqx.experiment.search import find_cheapest

        sweep = next(s for s in cfg.sweeps if s.family == searched)
        say(f"searching the cheapest {searched} {sweep.parameter} meeting the target")
        search_result = find_cheapest(
            train,
            {"id": searched, **sweep.fixed},
            target.metric,
            target.requirement,
            parameter=sweep.parameter,
            values=list(sweep.values),
            task=task,
            extra_train_params=dict(cfg.task.hyperparameters),
            repetitions=cfg.task.repetitions,
            max_repetitions=target.max_repetitions or cfg.task.repetitions,
            higher_is_better=target.higher_is_better,
            experiment_name=cfg.name,
            tracking_uri=tracker.uri,
            max_parallel=cfg.max_parallel,
            progress=say,
            **common,
        )
        executed += search_result.n_executed
    hps = list(cfg.task.hyperparameters)
    runs = res.study_runs(tracker, cfg.name, parameters_of(cfg), hps)
    if cfg.task.script is not None and cfg.metrics.reference:
        _log_reference_metrics(tracker, runs, cfg, say)
        runs = res.study_runs(tracker, cfg.name, parameters_of(cfg), hps)
    cheapest = _answer(runs, cfg, search_result)
    summary = {
        "study": cfg.name,
        "description": cfg.description,
        "answer": cheapest.pop("answer"),
        "cheapest": cheapest,
        "target": None
        if target is None
        else {
            "metric": target.metric,
            "requirement": target.requirement,
            "search": target.search,
            "modifier": target.modifier,
            "higher_is_better": target.higher_is_better,
        },
        "parameters": parameters_of(cfg),
        "bit_depth": cfg.data.bit_depth,
        "hyperparameters": hps,
        "blind": list(cfg.metrics.blind),
        "reference": list(cfg.metrics.reference),
        "script": cfg.task.script.name if cfg.task.script else None,
        "repetitions": cfg.task.repetitions,
    }
    res.write_summary_run(tracker, cfg.name, summary, cfg.text)
    written: dict[str, Any] = {}
    if report:
        from iqx.study.report import write_report

        written = write_report(cfg.name, report_dir or cfg.report, tracking_uri=tracker.uri)
        say(f"report: {written['html']}")
    failed_now = int((runs["status"] != "FINISHED").sum()) if not runs.empty else 0
    return StudyResult(
        name=cfg.name,
        tracking_uri=tracker.uri,
        answer=summary["answer"],
        cheapest=cheapest,
        summary=res.summary_table(runs),
        runs=runs,
        executed=executed,
        skipped=skipped,
        failed=max(failed, failed_now),
        report=written,
    )


def _answer(runs: pd.DataFrame, cfg: StudyConfig, search: Any) -> dict[str, Any]:
    from iqx.study.results import answer_from_table

    target = cfg.target
    if target is None:
        n = int((runs["status"] == "FINISHED").sum()) if not runs.empty else 0
        return {"setting": None, "answer": f"{n} runs finished; the study sets no target."}
    if search is None:
        return answer_from_table(
            runs,
            target.metric,
            target.requirement,
            higher_is_better=target.higher_is_better,
            parameters=parameters_of(cfg),
        )
    return {
        "setting": search.setting,
        "family": target.modifier,
        "strength": search.value,
        "bits_per_pixel": search.bits_per_pixel,
        "metric_value": search.metric_value,
        "threshold": search.threshold,
        "baseline": search.baseline,
        "n_runs": search.n_runs,
        "n_runs_full_grid": search.n_runs_full_grid,
        "monotone": search.monotone,
        "answer": search.answer,
    }
