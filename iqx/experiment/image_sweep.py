"""A quality-versus-data-volume sweep over modified copies of one dataset.

:func:`sweep` is the image-metrics special case of an experiment: an
:class:`~iqx.experiment.setup.ExperimentSetup` whose task is the built-in
:class:`~iqx.experiment.measure.MeasureTask`, with the unmodified dataset as baseline. Every
setting is an ordinary MLflow run (logged, resumed and searched like a training-script run);
the table it returns is the experiment's run table. :func:`cheapest_setting` then picks the
fewest bits per pixel that still meet a target, post hoc; :func:`iqx.experiment.find_cheapest`
searches it with far fewer runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iqx.errors import InvalidParameterError
from iqx.experiment.measure import BLIND_COLUMNS
from iqx.experiment.requirement import Requirement
from iqx.modifiers import Modifier

__all__ = ["BLIND_COLUMNS", "cheapest_setting", "sweep"]


def sweep(
    dataset: Any,
    modifiers: Sequence[Modifier | Mapping[str, Any] | str],
    *,
    reference_metrics: Iterable[str] = ("psnr", "ssim"),
    blind: Iterable[str] = ("snr", "sharpness"),
    experiment_name: str | None = None,
    tracking_uri: str | None = None,
    workdir: str | os.PathLike[str] = ".",
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Measure data volume and quality of ``dataset`` under every modifier, as MLflow runs.

    Parameters
    ----------
    dataset : Dataset or path
        The original dataset (IQUAFLOW layout).
    modifiers : sequence
        Modifiers, configs (``{"id": "jpeg", "quality": 70}``) or CLI specs
        (``"jpeg:quality=70"``). Their modified copies are written beside the dataset
        (reused when they already exist with the same configuration).
    reference_metrics : iterable of str
        Full-reference metrics computed against the original images.
    blind : iterable of str
        Blind metric families (``"snr"``, ``"sharpness"``).
    experiment_name : str, optional
        MLflow experiment (default: ``sweep-<dataset name>``).
    tracking_uri : str, optional
        Where runs go (default: ``$MLFLOW_TRACKING_URI``, else ``<workdir>/mlflow.db``).
    workdir : path-like
        Folder of the default SQLite store.
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    pandas.DataFrame
        The run table (one row per setting): ``setting`` (the modifier's folder name;
        ``original`` for the source), ``bits_per_pixel``, ``compression_ratio``,
        ``data_bytes``, the mean over images of the reference metrics and of
        :data:`BLIND_COLUMNS`, and the run's ``run_id``/``status``.
    """
    from iqx.experiment.measure import MeasureTask
    from iqx.experiment.setup import ExperimentSetup

    source = os.fspath(getattr(dataset, "data_path", dataset))
    setup = ExperimentSetup(
        experiment_name or f"sweep-{os.path.basename(os.path.abspath(source))}",
        MeasureTask(blind=blind, reference=reference_metrics),
        dataset,
        list(modifiers),
        include_reference=True,
        cloud_options={"tracking_uri": tracking_uri} if tracking_uri else None,
        max_parallel=1,
        workdir=workdir,
        progress=progress,
        log_interval=0,
    )
    setup.execute()
    table = setup.run_table()
    first = ["setting", "bits_per_pixel", "compression_ratio", "data_bytes"]
    return table[[c for c in first if c in table] + [c for c in table if c not in first]]


def cheapest_setting(
    table: pd.DataFrame, targets: Mapping[str, float], *, relative_to_original: Iterable[str] = ()
) -> dict[str, Any]:
    """The setting with the fewest mean bits per pixel whose mean quality meets ``targets``.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`sweep`.
    targets : mapping
        Column -> minimum acceptable mean value (e.g. ``{"ssim": 0.95}``), or a requirement
        string (``{"ssim": "within 2% of baseline", "mse": "<= 20"}``, see
        :class:`~iqx.experiment.requirement.Requirement`). For columns in
        ``relative_to_original`` a number is a fraction of the original's mean
        (``{"rer_x": 0.9}`` = at least 90 % of the original RER).
    relative_to_original : iterable of str
        Columns whose targets are relative.

    Returns
    -------
    dict
        ``setting``, ``bits_per_pixel``, the measured means of the target columns,
        ``thresholds`` and ``candidates`` (all settings, cheapest first, with pass/fail).
        ``setting`` is None when nothing meets the targets.
    """
    unknown = [c for c in targets if c not in table.columns]
    if unknown:
        raise InvalidParameterError(
            f"unknown target column(s) {unknown}; have {list(table.columns)}"
        )
    means = table.groupby("setting", sort=False).mean(numeric_only=True)
    relative = set(relative_to_original)
    reqs = {
        c: Requirement.fraction_of_baseline(v)
        if c in relative and not isinstance(v, str | Requirement)
        else Requirement.parse(v)
        for c, v in targets.items()
    }
    thresholds = {
        c: r.threshold(float(means.loc["original", c]) if r.relative else None)
        for c, r in reqs.items()
    }
    passed = np.logical_and.reduce([reqs[c].met(means[c], t) for c, t in thresholds.items()])
    means = means.assign(meets_target=passed).sort_values("bits_per_pixel")
    candidates = [
        {
            "setting": s,
            "bits_per_pixel": float(r.bits_per_pixel),
            "meets_target": bool(r.meets_target),
            **{c: float(r[c]) for c in thresholds},
        }
        for s, r in means.iterrows()
    ]
    ok = means[means["meets_target"] & (means.index != "original")]
    if ok.empty:
        return {"setting": None, "thresholds": thresholds, "candidates": candidates}
    best = ok.index[0]
    return {
        "setting": best,
        "bits_per_pixel": float(ok.loc[best, "bits_per_pixel"]),
        **{c: float(ok.loc[best, c]) for c in thresholds},
        "thresholds": thresholds,
        "candidates": candidates,
    }
