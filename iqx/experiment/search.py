"""The cheapest setting of a modifier that still meets a quality requirement, searched.

:func:`find_cheapest` answers the question a study exists for ("what is the lowest JPEG
quality whose detector mAP stays within 0.02 of the baseline?") with far fewer runs than the
full grid. Every probe is an ordinary run of an :class:`~iqx.experiment.setup.ExperimentSetup`
in one experiment (same keys, so a search resumes and reuses any earlier run of the same
setting); the task is the user's (a training script) or the built-in
:class:`~iqx.experiment.measure.MeasureTask`.

Algorithm, on the parameter's values ordered from the cheapest (fewest bits, most degraded)
to the richest:

1. the unmodified baseline (the reference of relative requirements; always reported);
2. bracketing: the richest value (if it fails, nothing meets the requirement), then the
   cheapest (if it passes, it is the answer);
3. bisection between the cheapest passing and the richest failing value below it, on
   integers (float parameters on a grid of step ``tolerance``);
4. noise: with ``repetitions > 1``, a probe whose mean is within ``noise_sigmas`` standard
   errors (pooled spread over repetitions) of the threshold gets more repetitions, up to
   ``max_repetitions``; the final bracket (the chosen value and its cheaper neighbour) is
   confirmed at ``max_repetitions`` and the bisection resumes if either decision flips;
5. monotonicity: the search assumes the metric moves towards meeting the requirement as the
   setting gets richer (quality non-decreasing with bits). Probe pairs that contradict it
   beyond the noise are reported, and every value of a contradicting pair's interval that
   is cheaper than the answer is scanned (``on_violation="scan"``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iqx.errors import InvalidParameterError
from iqx.experiment._search import (
    Search,
    default_parameter,
    default_task,
    grid_values,
    probe_table,
)
from iqx.experiment.requirement import Requirement

__all__ = ["CheapestResult", "Requirement", "find_cheapest"]

_SETUP_OWN = {
    "experiment_name",
    "task_instance",
    "ref_dsw_train",
    "ds_modifiers_list",
    "extra_train_params",
    "repetitions",
    "include_reference",
}


@dataclass(frozen=True, eq=False, repr=False)
class CheapestResult:
    """What :func:`find_cheapest` found.

    Attributes
    ----------
    setting_config : dict or None
        The chosen modifier's config (``None``: no setting meets the requirement).
    setting : str or None
        Its folder name (``jpeg_q47``).
    parameter : str
    value : int, float or None
        The chosen parameter value.
    bits_per_pixel, metric_value : float or None
        Its mean data volume and metric.
    metric : str
    requirement : Requirement
    threshold : float
        The absolute threshold the metric was held to.
    baseline : float or None
        The metric of the unmodified dataset (mean over repetitions).
    probes : pandas.DataFrame
        One row per measured setting (baseline ``original`` included): ``setting``, the
        parameter, ``bits_per_pixel``, ``compression_ratio``, the metric's mean and ``std``,
        ``n_runs``, ``meets``, ``pareto`` (on the rate-quality front), ``step`` (why it was
        probed: baseline, bracket, bisect, noise, confirm, scan) and ``order``.
    front : pandas.DataFrame
        The Pareto-optimal probes (fewest bits for their quality), by bits per pixel.
    n_runs : int
        Runs the answer rests on (baseline and every repetition of every probe).
    n_executed : int
        Runs executed by this call (the others were found FINISHED in MLflow).
    n_runs_full_grid : int
        Runs a full grid at ``repetitions`` (plus the baseline) would have taken.
    monotone : bool
        False when probes contradicted the monotonicity assumption.
    violations : tuple of (value, value)
        Pairs (cheaper, richer) whose metrics contradict it.
    experiment_name : str
    answer : str
        One sentence.
    """

    setting_config: dict[str, Any] | None
    setting: str | None
    parameter: str
    value: Any
    bits_per_pixel: float | None
    metric: str
    metric_value: float | None
    requirement: Requirement
    threshold: float
    baseline: float | None
    probes: pd.DataFrame
    front: pd.DataFrame
    n_runs: int
    n_executed: int
    n_runs_full_grid: int
    monotone: bool
    violations: tuple[tuple[Any, Any], ...]
    experiment_name: str
    answer: str

    @property
    def found(self) -> bool:
        """True when a setting meets the requirement."""
        return self.value is not None

    def __repr__(self) -> str:
        op = self.requirement.op
        runs = f"{self.n_runs} runs (full grid: {self.n_runs_full_grid})"
        if not self.found:
            return f"CheapestResult(none meets {self.metric} {op} {self.threshold:.4g}; {runs})"
        return (
            f"CheapestResult({self.setting}: {self.bits_per_pixel:.4g} bpp, "
            f"{self.metric}={self.metric_value:.4g} {op} {self.threshold:.4g}; {runs})"
        )


def find_cheapest(
    dataset: Any,
    modifier: str | Mapping[str, Any] | Any,
    metric: str,
    requirement: float | str | Requirement,
    *,
    parameter: str | None = None,
    values: Sequence[Any] | None = None,
    bounds: tuple[float, float] | None = None,
    tolerance: float | None = None,
    cheap_end: str | None = None,
    task: Any = None,
    extra_train_params: Mapping[str, Any] | None = None,
    repetitions: int = 1,
    max_repetitions: int | None = None,
    noise_sigmas: float = 2.0,
    higher_is_better: bool = True,
    on_violation: str = "scan",
    experiment_name: str | None = None,
    tracking_uri: str | None = None,
    max_parallel: int | None = 1,
    progress: Callable[[str], None] | None = None,
    **setup_options: Any,
) -> CheapestResult:
    """Search the cheapest setting of ``modifier`` whose ``metric`` meets ``requirement``.

    Parameters
    ----------
    dataset : Dataset, path or DSWrapper
        The unmodified training set (``ref_dsw_train``).
    modifier : str, dict or Modifier
        The family (``"jpeg"``), with its other parameters fixed if given
        (``"jpeg:subsampling=444"``, ``{"id": "jpeg2000"}``, ``jpeg(subsampling="4:4:4")``).
    metric : str
        Any logged metric: the task's (``results.json``), the measure task's (``ssim``,
        ``psnr``, ``snr``, ``rer_x``...) or an ``img_*`` blind metric (with
        ``image_metrics=...``).
    requirement : float, str or Requirement
        ``">= 0.95"``, ``"<= 0.1"``, ``"within 0.02 of baseline"``, ``"within 2% of
        baseline"``, ... (:class:`~iqx.experiment.requirement.Requirement`).
    parameter : str, optional
        The ordered parameter (default: ``quality`` for jpeg, ``ratio`` for jpeg2000,
        ``bits`` for quantize, ``sigma`` for gaussian_noise/blur, ``snr``, ``rer``).
    values : sequence, optional
        The candidate values (default: ``bounds`` on integers, or every ``tolerance``).
    bounds : (low, high), optional
        The range (defaults: quality 1-100, ratio 1-100, bits 1 to one below the data's depth; noise
        and blur need it).
    tolerance : float, optional
        Step of the grid of a float parameter (default: 1/100 of the range).
    cheap_end : {"low", "high"}, optional
        Which end of the range carries fewer bits / less quality (known for the families
        above).
    task : TaskExecution, optional
        What each probe runs (default: :class:`~iqx.experiment.measure.MeasureTask`).
    extra_train_params : dict, optional
        Fixed hyperparameters of the task (no grid).
    repetitions : int
        Runs per probe; with more than one, noisy decisions get more (see module notes).
    max_repetitions : int, optional
        Cap per probe (default ``3 * repetitions`` when ``repetitions > 1``, else 1).
    noise_sigmas : float
        A mean within this many standard errors of the threshold is undecided.
    higher_is_better : bool
        Direction of the metric for ``"within ..."`` requirements.
    on_violation : {"scan", "report"}
        On probes contradicting monotonicity: scan the contradicting interval below the
        answer, or only report them.
    experiment_name : str, optional
        MLflow experiment (default ``cheapest-<dataset>-<family>``); probes are its runs.
    tracking_uri : str, optional
        Shorthand for ``cloud_options={"tracking_uri": ...}``.
    max_parallel : int, optional
        Runs of one probe in flight at once (default 1: probes are sequential anyway).
    progress : callable, optional
        Receives one line per probe.
    **setup_options
        Passed to every :class:`~iqx.experiment.setup.ExperimentSetup` (``ref_dsw_val``,
        ``ref_dsw_test``, ``mlflow_monitoring``, ``cloud_options``, ``image_metrics``,
        ``scheduler``, ``keep_datasets``, ``workdir``...).

    Returns
    -------
    CheapestResult

    Raises
    ------
    InvalidParameterError
        A bad modifier, parameter, range, requirement or metric name.
    ExperimentError
        A probe's run failed (calling again reruns it and reuses every finished probe).
    """
    from iqx.experiment.runs import hyperparameter_grid
    from iqx.modifiers import Chain, as_modifier

    if isinstance(modifier, str) and ":" not in modifier:
        base: dict[str, Any] = {"id": modifier}
    elif isinstance(modifier, Mapping):
        base = dict(modifier)
    else:
        mod = as_modifier(modifier)
        if isinstance(mod, Chain):
            raise InvalidParameterError("find_cheapest: give one modifier family, not a chain")
        base = mod.get_config()
    family = str(base.get("id"))
    from iqx.registry import modifiers as registry

    registry.get(family)  # raises UnknownOperationError naming it
    parameter = parameter or default_parameter(family)
    if parameter is None:
        raise InvalidParameterError(f"find_cheapest: give parameter= for {family!r}")
    if not isinstance(repetitions, int) or repetitions < 1:
        raise InvalidParameterError(f"repetitions must be an integer >= 1, got {repetitions}")
    max_repetitions = max_repetitions or (3 * repetitions if repetitions > 1 else 1)
    if max_repetitions < repetitions:
        raise InvalidParameterError("max_repetitions must be >= repetitions")
    if on_violation not in ("scan", "report"):
        raise InvalidParameterError("on_violation must be 'scan' or 'report'")
    if len(hyperparameter_grid(extra_train_params)) != 1:
        raise InvalidParameterError(
            "find_cheapest: extra_train_params must be fixed values (write a list-valued "
            "hyperparameter as [[...]])"
        )
    clash = sorted(_SETUP_OWN & set(setup_options))
    if clash:
        raise InvalidParameterError(f"find_cheapest sets {clash} itself")
    req = Requirement.parse(requirement, higher_is_better=higher_is_better)
    if family == "jpeg2000" and parameter == "ratio":
        base.pop("psnr", None)
    elif family == "jpeg2000" and parameter == "psnr":
        base.pop("ratio", None)
    grid, _ = grid_values(family, parameter, dataset, values, bounds, tolerance, cheap_end)
    source = os.path.basename(os.path.abspath(os.fspath(getattr(dataset, "data_path", dataset))))
    name = experiment_name or f"cheapest-{source}-{family}"
    options = {"max_parallel": max_parallel, "log_interval": 0.0, **setup_options}
    if tracking_uri:
        options["cloud_options"] = {
            **options.get("cloud_options", {}),
            "tracking_uri": tracking_uri,
        }
    search = Search(
        experiment_name=name,
        task=task if task is not None else default_task(metric),
        dataset=dataset,
        base=base,
        parameter=parameter,
        grid=grid,
        metric=metric,
        requirement=req,
        hyperparameters=dict(extra_train_params or {}),
        repetitions=repetitions,
        max_repetitions=max_repetitions,
        noise_sigmas=float(noise_sigmas),
        on_violation=on_violation,
        setup_options=options,
        progress=progress or (lambda message: None),
    )
    best = search.run()
    return _result(search, best, family)


def _result(search: Search, best: int | None, family: str) -> CheapestResult:
    probes = probe_table(search, best)
    front = probes[probes["pareto"]].sort_values("bits_per_pixel").reset_index(drop=True)
    n_runs = int(probes["n_runs"].sum())
    full = len(search.grid) * search.repetitions + search.repetitions
    grid, param, metric = search.grid, search.parameter, search.metric
    bad = tuple((grid[i], grid[j]) for i, j in search.violations())
    desc = search.requirement.describe(metric, search.threshold, search.baseline)
    runs = f"{n_runs} runs instead of {full} for the full grid"
    if best is None:
        last = len(grid) - 1
        text = (
            f"No {family} setting with {param} from {grid[0]} to {grid[last]} meets {desc}: "
            f"the richest ({param}={grid[last]}) gives {metric} = {search.mean(last):.4g} "
            f"({n_runs} runs)."
        )
    else:
        row = probes[probes["chosen"]].iloc[0]
        base = search.probes.get(None)
        base_bpp = float(np.nanmean(base.bpp)) if base is not None and base.bpp else math.nan
        vs = "" if math.isnan(base_bpp) else f" (unmodified: {base_bpp:.4g})"
        text = (
            f"The cheapest {family} setting meeting {desc} is {param}={grid[best]} "
            f"({row['setting']}): {row['bits_per_pixel']:.4g} bits per pixel{vs}, {metric} = "
            f"{row[metric]:.4g}; found with {runs}."
        )
    if bad:
        pairs = "; ".join(f"{param}={a} scores better than {param}={b}" for a, b in bad[:3])
        what = "scanned below the answer" if search.on_violation == "scan" else "not scanned"
        text += f" Warning: {metric} is not monotone in {param} ({pairs}); {what}."
    chosen = search.probes.get(best) if best is not None else None
    return CheapestResult(
        setting_config=chosen.config if chosen else None,
        setting=chosen.setting if chosen else None,
        parameter=param,
        value=grid[best] if best is not None else None,
        bits_per_pixel=float(np.nanmean(chosen.bpp)) if chosen else None,
        metric=metric,
        metric_value=search.mean(best) if best is not None else None,
        requirement=search.requirement,
        threshold=search.threshold,
        baseline=search.baseline,
        probes=probes,
        front=front,
        n_runs=n_runs,
        n_executed=search.n_executed,
        n_runs_full_grid=full,
        monotone=not bad,
        violations=bad,
        experiment_name=search.experiment_name,
        answer=text,
    )
