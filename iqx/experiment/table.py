"""The run table: one row per planned run, read back from MLflow.

Training-script studies and image-metric studies (:class:`~iqx.experiment.measure.MeasureTask`)
share it: the columns are the run's identity (``setting``, the modifier's parameters,
hyperparameters, ``repetition``), its state and every logged metric (a metric with several
steps contributes its last step, as in MLflow's run view).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

from iqx.experiment.runs import RunSpec
from iqx.experiment.tracking import Tracker, iter_keys

__all__ = ["ORIGINAL", "run_table", "setting_name"]

#: setting name of the unmodified reference in tables
ORIGINAL = "original"


def setting_name(spec: RunSpec) -> str:
    """``original`` for the reference, else the modifier's ``#`` chain of folder names."""
    if spec.is_reference:
        return ORIGINAL
    return str(spec.train.params.get("modifier") or spec.train.name.split("#", 1)[-1])


def run_table(tracker: Tracker, experiment_name: str, specs: Sequence[RunSpec]) -> pd.DataFrame:
    """One row per spec: its latest FINISHED run (or its latest run, or ``MISSING``)."""
    exp_id = tracker.experiment_id(experiment_name, create=False)
    by_key = iter_keys(tracker.runs(exp_id)) if exp_id is not None else {}
    rows: list[dict[str, Any]] = []
    for spec in specs:
        records = by_key.get(spec.key, [])
        finished = [r for r in records if r.status == "FINISHED"]
        rec = (finished or records or [None])[-1]
        modifier = dict(spec.modifier or {})
        row: dict[str, Any] = {
            "setting": setting_name(spec),
            "ds_name": spec.train.name,
            "modifier_id": modifier.get("id", ORIGINAL),
            "modifier_config": json.dumps(spec.modifier, sort_keys=True) if spec.modifier else None,
            **{f"mod_{k}": v for k, v in modifier.items() if k != "id"},
            **dict(spec.hyperparameters),
            "repetition": spec.repetition,
            "key": spec.key,
            "run_id": rec.run_id if rec else None,
            "status": rec.status if rec else "MISSING",
        }
        if rec is not None:
            row.update(rec.metrics)
        rows.append(row)
    return pd.DataFrame(rows)
