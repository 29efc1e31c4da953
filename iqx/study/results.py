"""A study's results read back from MLflow: the run table, the summary, the answer.

Everything here reads the tracking store only (never the datasets), so ``iqx study report``
rebuilds the same tables and sentence on any machine that can reach the store. The study's
own record is one extra, unkeyed run named ``study-summary`` (tag ``iqx.study=summary``) in
the study's experiment, holding ``STUDY.toml`` and ``summary.json`` as artifacts; run keys
ignore it, so resuming and searching never see it.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iqx.errors import ExperimentError
from iqx.experiment.tracking import KEY_TAG, Tracker
from iqx.study.config import family_of

__all__ = [
    "IMAGE_COLUMNS",
    "SUMMARY_TAG",
    "answer_from_table",
    "latest_summary",
    "study_runs",
    "summary_table",
]

#: tag marking the study's summary run
SUMMARY_TAG = "iqx.study"
#: columns describing the images rather than the task (plain, or ``img_`` prefixed)
IMAGE_COLUMNS = (
    "snr",
    "rer_x",
    "rer_y",
    "mtf_nyquist_x",
    "mtf_nyquist_y",
    "psnr",
    "ssim",
    "ms_ssim",
    "mse",
    "rmse",
    "ergas",
    "sam",
    "niirs",
    "niirs_se",
    "niirs_gsd_m",
    "niirs_rer_x",
    "niirs_rer_y",
    "niirs_snr",
)
#: the NIIRS columns (image-metrics task; ``img_`` prefixed beside a training script)
NIIRS_COLUMNS = ("niirs", "img_niirs")
#: the GIQE's own prediction error (1 sigma, NIIRS), on top of the measurement's
GIQE_MODEL_SE = 0.3
_VOLUME = ("bits_per_pixel", "compression_ratio", "data_bytes")
_NOT_METRICS = ("n_edges_x", "n_edges_y", "data_range", "n_runs")


def _family_and_params(config: Any) -> tuple[str, dict[str, Any]]:
    """``("jpeg", {"quality": 30})``; a chain: ``("sensor+jpeg", {"sensor.D": .., ..})``."""
    if not config or config == "null":
        return "original", {}
    cfg = json.loads(config) if isinstance(config, str) else dict(config)
    if cfg.get("id") == "chain" and isinstance(cfg.get("modifiers"), list):
        steps = [dict(m) for m in cfg["modifiers"]]
        flat = {f"{m.get('id')}.{k}": v for m in steps for k, v in m.items() if k != "id"}
        return family_of(cfg), flat
    return family_of(cfg), {k: v for k, v in cfg.items() if k != "id"}


def _series(frame: pd.DataFrame, mods: list[dict[str, Any]], parameters: Mapping) -> list[str]:
    """Per run: the family's varying parameters other than the swept one (``"sensor.D=0.35"``).

    Empty where a family varies along one parameter only (one line per family in the plots).
    """
    labels = [""] * len(frame)
    for family, idx in frame.groupby("family", sort=False).indices.items():
        rows = [mods[i] for i in idx]
        keys = dict.fromkeys(k for r in rows for k in r)
        varying = [
            k
            for k in keys
            if k != parameters.get(family)
            and len({json.dumps(r.get(k), sort_keys=True, default=str) for r in rows}) > 1
        ]
        for i in idx:
            labels[i] = ", ".join(f"{k}={mods[i].get(k)}" for k in varying)
    return labels


def study_runs(
    tracker: Tracker,
    name: str,
    parameters: Mapping[str, str | None] | None = None,
    hyperparameters: Sequence[str] = (),
) -> pd.DataFrame:
    """One row per run of the study (per key: its latest FINISHED run, else its latest).

    Parameters
    ----------
    tracker : Tracker
    name : str
        The study's experiment.
    parameters : mapping, optional
        Swept parameter of each family (``{"jpeg": "quality"}``): its value becomes column
        ``strength``.
    hyperparameters : sequence of str
        Names of the task's hyperparameters (columns ``hp.<name>``).

    Returns
    -------
    pandas.DataFrame
        ``run_id``, ``status``, ``setting`` (``original`` for the unmodified baseline),
        ``family`` (a chain's or grid's: its steps joined by ``+``), ``strength``,
        ``series`` (the family's other varying parameters, ``"sensor.D=0.35"``; empty when
        it varies along one), ``repetition``, ``hp.<name>`` per hyperparameter and every
        logged metric.
    """
    exp_id = tracker.experiment_id(name, create=False)
    if exp_id is None:
        raise ExperimentError(f"no study named {name!r} in the tracking store")
    parameters = dict(parameters or {})
    latest: dict[str, Any] = {}
    for rec in tracker.runs(exp_id, only_keyed=True):
        prev = latest.get(rec.key)
        if prev is None or rec.status == "FINISHED" or prev.status != "FINISHED":
            latest[rec.key] = rec
    rows, mods = [], []
    for rec in latest.values():
        p = rec.params
        family, mod = _family_and_params(p.get("modifier_config"))
        mods.append(mod)
        param = parameters.get(family)
        hyper = {f"hp.{k}": p.get(k) for k in hyperparameters}
        rows.append(
            {
                "run_id": rec.run_id,
                "status": rec.status,
                "setting": "original" if family == "original" else p.get("modifier", family),
                "family": family,
                "strength": mod.get(param, np.nan) if param else np.nan,
                "repetition": int(p.get("repetition", 0)),
                **hyper,
                **rec.metrics,
            }
        )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["strength"] = pd.to_numeric(frame["strength"], errors="coerce")
        frame.insert(4, "series", _series(frame, mods, parameters))
    return frame


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """Numeric metric columns of a run table (data volume first)."""
    skip = {
        "run_id",
        "status",
        "setting",
        "family",
        "series",
        "strength",
        "repetition",
        *_NOT_METRICS,
    }
    cols = [
        c
        for c in runs.columns
        if c not in skip
        and not c.startswith("hp.")
        and not c.endswith("_std")
        and pd.api.types.is_numeric_dtype(runs[c])
    ]
    return [c for c in _VOLUME if c in cols] + [c for c in cols if c not in _VOLUME]


def task_columns(runs: pd.DataFrame) -> list[str]:
    """Metrics of the task (neither data volume nor image metrics)."""
    image = set(IMAGE_COLUMNS) | {f"img_{c}" for c in IMAGE_COLUMNS} | set(_VOLUME)
    return [c for c in metric_columns(runs) if c not in image and not c.startswith("img_")]


def summary_table(runs: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Mean (and ``<metric>_std`` over repetitions) of each setting's FINISHED runs.

    Rows are ordered by family, the baseline first, then by decreasing bits per pixel.
    """
    done = runs[runs["status"] == "FINISHED"] if not runs.empty else runs
    if done.empty:
        return pd.DataFrame()
    cols = list(columns or metric_columns(done))
    keys = ["family", "setting", *(c for c in done.columns if c.startswith("hp."))]
    if "series" in done:
        keys.insert(2, "series")
    grouped = done.groupby(keys, sort=False, dropna=False)
    means = grouped[[*cols, "strength"]].mean()
    stds = grouped[cols].std().add_suffix("_std")
    out = means.join(stds).assign(n_runs=grouped.size()).reset_index()
    out["_base"] = out["family"] != "original"
    by = ["_base", "family"] + (["bits_per_pixel"] if "bits_per_pixel" in out else [])
    order = [True, True] + [False] * (len(by) - 2)
    return out.sort_values(by, ascending=order).drop(columns="_base").reset_index(drop=True)


def answer_from_table(
    runs: pd.DataFrame,
    metric: str,
    requirement: Any,
    *,
    higher_is_better: bool = True,
    parameters: Mapping[str, str | None] | None = None,
) -> dict[str, Any]:
    """The cheapest setting of the finished table meeting ``metric requirement``.

    Settings are ranked by mean bits per pixel; ties (noise and blur keep the data volume)
    go to the most degraded setting, by the family's swept parameter (``parameters``; which
    end is "cheap" is the search's table, e.g. a higher noise sigma).

    Returns
    -------
    dict
        ``setting``, ``family``, ``strength``, ``bits_per_pixel``, ``metric_value``,
        ``threshold``, ``baseline``, ``baseline_bits_per_pixel`` (None where unknown) and
        ``answer`` (one sentence).
    """
    from iqx.experiment._search import PARAMETERS
    from iqx.experiment.requirement import Requirement

    req = Requirement.parse(requirement, higher_is_better=higher_is_better)
    done = runs[runs["status"] == "FINISHED"] if not runs.empty else runs
    if metric not in done.columns:
        return {"setting": None, "answer": f"No run logged {metric!r}: no answer."}
    se_col = f"{metric}_se" if f"{metric}_se" in done.columns else None
    means = done.groupby(["setting", "family"], sort=False)[
        [metric, "bits_per_pixel", "strength", *([se_col] if se_col else [])]
    ].mean()
    means = means.reset_index()
    base = means[means["setting"] == "original"]
    baseline = float(base[metric].iloc[0]) if not base.empty else None
    if req.relative and baseline is None:
        return {"setting": None, "answer": "The baseline did not finish: no relative answer."}
    threshold = req.threshold(baseline)
    desc = req.describe(metric, threshold, baseline)
    out: dict[str, Any] = {"threshold": threshold, "baseline": baseline, "setting": None}
    ok = means[(means["setting"] != "original") & req.met(means[metric], threshold)].copy()
    if ok.empty:
        out["answer"] = f"No setting meets {desc}."
        return out
    params = dict(parameters or {})

    def degradation(row: Any) -> float:
        known = PARAMETERS.get((row["family"], params.get(row["family"]) or ""))
        value = row["strength"]
        if known is None or value != value:
            return 0.0
        return float(value) if known[0] == "high" else -float(value)

    ok["_deg"] = ok.apply(degradation, axis=1)
    best = ok.sort_values(["bits_per_pixel", "_deg"], ascending=[True, False]).iloc[0]
    strength = None if math.isnan(best["strength"]) else float(best["strength"])
    se = float(best[se_col]) if se_col else None
    value = _value_text(metric, float(best[metric]), se)
    out.update(
        setting=best["setting"],
        family=best["family"],
        strength=strength,
        bits_per_pixel=float(best["bits_per_pixel"]),
        metric_value=float(best[metric]),
        metric_se=se,
    )
    # the baseline's bits per pixel: raw samples at the dataset's signal depth
    # (iqx.experiment.volume), the figure every setting's data volume is compared with
    base_bpp = float(base["bits_per_pixel"].iloc[0]) if not base.empty else math.nan
    out["baseline_bits_per_pixel"] = None if math.isnan(base_bpp) else base_bpp
    same_volume = abs(float(best["bits_per_pixel"]) - base_bpp) < 1e-9
    if same_volume and strength is not None:
        param = params.get(best["family"])
        out["answer"] = (
            f"The strongest setting still meeting {desc} is {best['setting']} "
            f"({best['family']} {param} = {strength:g}): {value}."
        )
    else:
        vs = "" if math.isnan(base_bpp) else f" (unmodified: {base_bpp:.4g})"
        out["answer"] = (
            f"The cheapest setting meeting {desc} is {best['setting']}: "
            f"{best['bits_per_pixel']:.4g} bits per pixel{vs}, {value}."
        )
    return out


def _value_text(metric: str, value: float, se: float | None) -> str:
    """``"niirs = 5.05 ± 0.04 (95 % CI of the measurement; the GIQE's own ...)"``."""
    text = f"{metric} = {value:.4g}"
    if se is not None and math.isfinite(se):
        text += f" ± {1.96 * se:.2g} (95 % CI of the measurement"
        if metric.removeprefix("img_") == "niirs":
            text += f"; the GIQE's own error, ± {GIQE_MODEL_SE} NIIRS, comes on top"
        text += ")"
    return text


def latest_summary(tracker: Tracker, name: str) -> dict[str, Any]:
    """``summary.json`` (and ``study_toml``) of the study's latest summary run."""
    exp_id = tracker.experiment_id(name, create=False)
    if exp_id is None:
        raise ExperimentError(f"no study named {name!r} in the tracking store")
    found = [
        r
        for r in tracker.runs(exp_id)
        if r.tags.get(SUMMARY_TAG) == "summary" and KEY_TAG not in r.tags
    ]
    if not found:
        raise ExperimentError(f"study {name!r} has no summary run yet: run `iqx study run`")
    rec = max(found, key=lambda r: r.start_time)
    with tempfile.TemporaryDirectory(prefix="iqx-study-") as tmp:
        doc = json.loads(tracker.download_artifacts(rec.run_id, "summary.json", tmp).read_text())
        try:
            toml = tracker.download_artifacts(rec.run_id, "STUDY.toml", tmp).read_text()
        except Exception:  # pragma: no cover - an older summary run
            toml = ""
    doc["study_toml"] = toml
    doc["summary_run_id"] = rec.run_id
    return doc


def write_summary_run(tracker: Tracker, name: str, summary: Mapping[str, Any], text: str) -> str:
    """Record the study (``summary.json``, ``STUDY.toml``) as a new summary run."""
    from iqx._json import to_jsonable

    exp_id = tracker.experiment_id(name)
    run_id = tracker.create_run(exp_id, "study-summary", {SUMMARY_TAG: "summary"})
    answer = str(summary.get("answer", ""))
    tracker.log(run_id, params={"study": name}, tags={"iqx.study.answer": answer})
    with tempfile.TemporaryDirectory(prefix="iqx-study-") as tmp:
        folder = Path(tmp)
        (folder / "summary.json").write_text(
            json.dumps(to_jsonable(summary), indent=1, allow_nan=False)
        )
        (folder / "STUDY.toml").write_text(text)
        tracker.log_artifacts(run_id, folder)
    tracker.terminate(run_id, "FINISHED")
    return run_id
