"""The engine of :func:`~iqx.experiment.search.find_cheapest`: probes, statistics, bisection.

A :class:`Search` holds the probes measured so far (one per parameter value, plus the
baseline), each an :class:`~iqx.experiment.setup.ExperimentSetup` execution of one modifier in
the search's experiment; see :mod:`iqx.experiment.search` for the algorithm.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from iqx.errors import ExperimentError, InvalidParameterError

__all__ = ["PARAMETERS", "default_parameter", "default_task", "grid_values", "probe_table"]

#: (family, parameter) -> (cheap end, default bounds or None, integer)
PARAMETERS: dict[tuple[str, str], tuple[str, tuple[float, float | None] | None, bool]] = {
    ("jpeg", "quality"): ("low", (1, 100), True),
    ("jpeg2000", "ratio"): ("high", (1.0, 100.0), False),
    ("jpeg2000", "psnr"): ("low", (20.0, 60.0), False),
    ("quantize", "bits"): ("low", (1, None), True),  # up to one bit below the data's depth
    ("gaussian_noise", "sigma"): ("high", None, False),
    ("snr_noise", "snr"): ("low", None, False),
    ("gaussian_blur", "sigma"): ("high", None, False),
    ("rer_blur", "rer"): ("low", (0.05, 0.95), False),
}


def default_parameter(family: str) -> str | None:
    """The ordered parameter searched by default for a modifier family."""
    return "ratio" if family == "jpeg2000" else {f: p for f, p in PARAMETERS}.get(family)


@dataclass
class _Probe:
    index: int | None  # None: the unmodified baseline
    setting: str
    config: dict[str, Any] | None
    step: str
    order: int
    metric: list[float]
    bpp: list[float]
    ratio: list[float]


def grid_values(
    family: str,
    parameter: str,
    dataset: Any,
    values: Sequence[Any] | None,
    bounds: tuple[float, float] | None,
    tolerance: float | None,
    cheap_end: str | None,
) -> tuple[list[Any], str]:
    """The parameter's candidate values, ordered cheapest first, and the cheap end."""
    known = PARAMETERS.get((family, parameter))
    cheap_end = cheap_end or (known[0] if known else None)
    if cheap_end not in ("low", "high"):
        raise InvalidParameterError(
            f"find_cheapest: {family}.{parameter} is not a known ordered parameter; "
            "give cheap_end='low' or 'high' (which end carries fewer bits / less quality)"
        )
    if values is not None:
        grid = sorted(dict.fromkeys(values))
        if len(grid) < 1:
            raise InvalidParameterError("find_cheapest: values is empty")
    else:
        lo, hi = bounds or (known[1] if known and known[1] else (None, None))
        integer = known[2] if known else isinstance(lo, int) and isinstance(hi, int)
        if lo is not None and hi is None and (family, parameter) == ("quantize", "bits"):
            from iqx.datasets import open_dataset
            from iqx.datasets.manifest import manifest_bit_depth
            from iqx.experiment.volume import _depth

            ds = dataset if hasattr(dataset, "image_files") else None
            ds = ds or open_dataset(os.fspath(getattr(dataset, "data_path", dataset)))
            # the declared depth, else the shallowest image's (quantize refuses more bits
            # than an image has; the dtype's 16 bits of 11-bit data probed bits it refuses)
            declared = ds.bit_depth or manifest_bit_depth(ds.manifest)
            depths = [_depth(ds.open_image(p.name)) for p in ds.image_files]
            hi = (declared or min(depths)) - 1  # full depth: the baseline
        if lo is None or hi is None or not lo < hi:
            raise InvalidParameterError(
                f"find_cheapest: give bounds=(low, high) with low < high (or values=[...]) "
                f"for {family}.{parameter}"
            )
        if integer:
            step = max(1, round(tolerance or 1))
            grid = list(range(int(lo), int(hi) + 1, step))
            grid = grid if grid[-1] == int(hi) else [*grid, int(hi)]
        else:
            step = float(tolerance or (hi - lo) / 100.0)
            k = math.ceil((hi - lo) / step - 1e-9)
            grid = [float(f"{min(lo + i * step, hi):.10g}") for i in range(k + 1)]
    return (grid if cheap_end == "low" else grid[::-1]), cheap_end


def default_task(metric: str) -> Any:
    from iqx.experiment.measure import BLIND_COLUMNS, MeasureTask

    reference = ["psnr", "ssim"]
    blind: tuple[str, ...] = ()
    if metric.startswith("niirs"):
        blind = ("niirs",)
    elif metric in BLIND_COLUMNS:
        blind = ("snr",) if metric == "snr" else ("sharpness",)
    elif metric not in reference and metric not in ("data_range",) and "_" not in metric:
        reference.append(metric)  # another registered full-reference metric (mse, ...)
    return MeasureTask(blind=blind, reference=reference)


class Search:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)
        self.probes: dict[int | None, _Probe] = {}
        self.n_executed = 0
        self.threshold = math.nan

    # ------------------------------------------------------------------ runs
    def _execute(self, index: int | None, n: int, step: str) -> None:
        from iqx.experiment.setup import REFERENCE, ExperimentSetup
        from iqx.modifiers import from_config

        probe = self.probes.get(index)
        if probe is not None and len(probe.metric) >= n:
            return
        config = None
        if index is not None:
            config = from_config({**self.base, self.parameter: self.grid[index]}).get_config()
        setup = ExperimentSetup(
            self.experiment_name,
            self.task,
            self.dataset,
            [config if config is not None else REFERENCE],
            extra_train_params=self.hyperparameters,
            repetitions=n,
            **self.setup_options,
        )
        summary = setup.execute()
        self.n_executed += len(summary.finished) + len(summary.failed)
        table = setup.run_table()
        setting = str(table["setting"].iloc[0])
        bad = table[table["status"] != "FINISHED"]
        if len(bad):
            raise ExperimentError(
                f"find_cheapest: {len(bad)} run(s) of {setting} did not finish "
                f"(run {bad['run_id'].iloc[0]}: see its iqx.error tag); calling "
                "find_cheapest again reruns them and reuses every finished probe"
            )
        if index is None and self.metric not in table:
            table[self.metric] = np.nan  # e.g. PSNR of identical images: infinite, not logged
        if self.metric not in table or (index is not None and table[self.metric].isna().all()):
            skip = {"repetition", "key", "run_id", "status", "setting", "ds_name"}
            logged = [c for c in table if c not in skip and not c.startswith("mod")]
            raise InvalidParameterError(
                f"find_cheapest: metric {self.metric!r} was not logged by the runs of "
                f"{setting}; they logged {logged}"
            )
        if probe is None:
            probe = _Probe(index, setting, config, step, len(self.probes), [], [], [])
            self.probes[index] = probe
        probe.metric = [float(v) for v in table[self.metric]]
        probe.bpp = [float(v) for v in table.get("bits_per_pixel", pd.Series([np.nan] * n))]
        probe.ratio = [float(v) for v in table.get("compression_ratio", pd.Series([np.nan] * n))]
        what = "baseline" if index is None else f"{self.parameter}={self.grid[index]}"
        self.progress(
            f"{step}: {what} -> {self.metric} {self.mean(index):.4g} over {n} run(s)"
            + ("" if index is None else f" ({'meets' if self.meets(index) else 'fails'})")
        )

    # ------------------------------------------------------------------ statistics
    def mean(self, index: int | None) -> float:
        values = [v for v in self.probes[index].metric if v == v]
        return float(np.mean(values)) if values else math.nan

    def spread(self) -> float:
        """Pooled standard deviation over repetitions (0 while nothing was repeated)."""
        num = den = 0.0
        for p in self.probes.values():
            values = [v for v in p.metric if v == v]
            if len(values) > 1:
                num += float(np.var(values, ddof=1)) * (len(values) - 1)
                den += len(values) - 1
        return math.sqrt(num / den) if den else 0.0

    def stderr(self, index: int | None) -> float:
        return self.spread() / math.sqrt(max(1, len(self.probes[index].metric)))

    def meets(self, index: int) -> bool:
        return bool(self.requirement.met(self.mean(index), self.threshold))

    def decide(self, index: int, step: str) -> bool:
        """Measure ``index`` and repeat it while its mean is within the noise of the threshold."""
        self._execute(index, self.repetitions, step)
        while True:
            n = len(self.probes[index].metric)
            close = abs(self.mean(index) - self.threshold) <= self.noise_sigmas * self.stderr(index)
            if not close or n >= self.max_repetitions:
                return self.meets(index)
            self._execute(index, min(self.max_repetitions, n + self.repetitions), "noise")

    # ------------------------------------------------------------------ search
    def bracket(self) -> tuple[int, int]:
        """(richest failing probe below ``hi``, cheapest passing probe ``hi``); -1: none."""
        probed = sorted(i for i in self.probes if i is not None)
        hi = min(i for i in probed if self.meets(i))
        return max([i for i in probed if i < hi and not self.meets(i)], default=-1), hi

    def violations(self) -> list[tuple[int, int]]:
        sign = 1.0 if self.requirement.higher_is_better else -1.0
        probed = sorted(i for i in self.probes if i is not None)
        out = []
        for a, i in enumerate(probed):
            for j in probed[a + 1 :]:
                gap = sign * (self.mean(i) - self.mean(j))
                noise = self.noise_sigmas * math.hypot(self.stderr(i), self.stderr(j))
                if gap > noise + 1e-9 * max(1.0, abs(self.mean(i))):
                    out.append((i, j))
        return out

    def run(self) -> int | None:
        """The index of the cheapest setting meeting the requirement, or None."""
        self._execute(None, self.repetitions, "baseline")
        base = self.mean(None)
        self.baseline = None if math.isnan(base) else base
        self.threshold = self.requirement.threshold(self.baseline)
        last = len(self.grid) - 1
        if not self.decide(last, "bracket"):
            return None
        while True:
            if not any(self.meets(i) for i in self.probes if i is not None):
                return None  # a confirmation overturned the only passing probe
            lo, hi = self.bracket()
            if hi - lo > 1:
                mid = 0 if lo < 0 and 0 not in self.probes else (lo + hi) // 2
                self.decide(max(mid, 0), "bracket" if mid <= 0 else "bisect")
                continue
            todo = [
                k for k in (lo, hi) if k >= 0 and len(self.probes[k].metric) < self.max_repetitions
            ]
            if not todo:
                break
            for k in todo:  # confirmation of the final bracket
                self._execute(k, self.max_repetitions, "confirm")
        if self.on_violation == "scan":
            scanned = True
            while scanned:
                scanned = False
                hi = self.answer()
                for i, j in self.violations():
                    for k in range(i, min(j, hi if hi is not None else j) + 1):
                        if k not in self.probes:
                            self.decide(k, "scan")
                            scanned = True
        return self.answer()

    def answer(self) -> int | None:
        passing = [i for i in self.probes if i is not None and self.meets(i)]
        if not passing:
            return None
        return min(passing, key=lambda i: (np.nanmean(self.probes[i].bpp), i))


def probe_table(search: Search, best: int | None) -> pd.DataFrame:
    rows = []
    for p in search.probes.values():
        rows.append(
            {
                "setting": p.setting,
                search.parameter: None if p.index is None else search.grid[p.index],
                "bits_per_pixel": float(np.nanmean(p.bpp)),
                "compression_ratio": float(np.nanmean(p.ratio)),
                search.metric: search.mean(p.index) if p.metric else math.nan,
                "std": float(np.std(p.metric, ddof=1)) if len(p.metric) > 1 else math.nan,
                "n_runs": len(p.metric),
                "meets": bool(search.requirement.met(search.mean(p.index), search.threshold)),
                "chosen": p.index is not None and p.index == best,
                "step": p.step,
                "order": p.order,
                "_rank": len(search.grid) if p.index is None else p.index,
            }
        )
    table = pd.DataFrame(rows).sort_values("_rank").drop(columns="_rank")
    bpp = table["bits_per_pixel"].to_numpy()
    sign = 1.0 if search.requirement.higher_is_better else -1.0
    quality = sign * table[search.metric].to_numpy()
    dominated = [
        bool(np.any((bpp <= b) & (quality >= q) & ((bpp < b) | (quality > q))))
        for b, q in zip(bpp, quality)
    ]
    table["pareto"] = ~np.array(dominated, dtype=bool) & ~np.isnan(quality)
    return table.reset_index(drop=True)
