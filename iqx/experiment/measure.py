"""The built-in "measure" task: image metrics of a modified dataset, as an ordinary run.

:class:`MeasureTask` follows the same contract as a training script: it writes
``results.json`` (per-dataset means, logged as metrics) and ``per_image.csv`` (an artifact)
into the run's output folder, so image-metric studies are logged, resumed and searched
exactly like training-script studies, in the same run table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from iqx.errors import InvalidParameterError, NotMeasurableError
from iqx.experiment.task import RunRequest, TaskExecution

__all__ = ["BLIND_COLUMNS", "MeasureTask", "blind_table"]

#: blind-quality columns measured on every image
BLIND_COLUMNS = (
    "snr",
    "rer_x",
    "rer_y",
    "mtf_nyquist_x",
    "mtf_nyquist_y",
    "n_edges_x",
    "n_edges_y",
)
#: columns of the ``"niirs"`` family (GIQE 5 from the image's georeferencing; NaN without it):
#: the value, its bootstrap standard error and the blind inputs it was computed from
NIIRS_COLUMNS = ("niirs", "niirs_se", "niirs_gsd_m", "niirs_rer_x", "niirs_rer_y", "niirs_snr")
#: blind families measured unless others are asked for
_DEFAULT_FAMILIES = ("snr", "sharpness")
#: every blind family accepted (``"niirs"``: :func:`iqx.metrics.niirs.niirs`, on request)
_BLIND_FAMILIES = (*_DEFAULT_FAMILIES, "niirs")


def blind_table(data_path: str | Path, families: Iterable[str] = _DEFAULT_FAMILIES) -> pd.DataFrame:
    """Blind quality of every image of a dataset (rows: images; columns: :data:`BLIND_COLUMNS`).

    Images on which a metric finds nothing to measure get NaN for its columns.
    """
    from iqx.datasets import open_dataset
    from iqx.metrics.sharpness import flat_summary as sharpness_summary
    from iqx.metrics.snr import flat_summary as snr_summary

    families = tuple(families)
    ds = open_dataset(data_path)
    rows = {}
    for path in ds.image_files:
        scene = ds.open_image(path.name)
        row: dict[str, Any] = {}
        for family, summary in (("snr", snr_summary), ("sharpness", sharpness_summary)):
            if family in families:
                try:
                    row.update(summary(scene))
                except NotMeasurableError:
                    pass
        rows[path.name] = {k: row.get(k) for k in BLIND_COLUMNS if _wanted(k, families)}
        if "niirs" in families:
            from iqx.metrics.niirs import flat_summary as niirs_summary

            try:
                nrow = niirs_summary(scene)
            except NotMeasurableError:
                nrow = {}
            rows[path.name].update({k: nrow.get(k) for k in NIIRS_COLUMNS})
    frame = pd.DataFrame.from_dict(rows, orient="index", dtype=float)
    frame.index.name = "image"
    return frame


def _wanted(column: str, families: tuple[str, ...]) -> bool:
    return ("snr" in families) if column == "snr" else ("sharpness" in families)


class MeasureTask(TaskExecution):
    """Measure each run's (modified) training set instead of training a model.

    Parameters
    ----------
    blind : iterable of str
        Blind metric families: ``"snr"`` and/or ``"sharpness"`` (RER, MTF at Nyquist),
        ``"niirs"`` (GIQE 5 NIIRS, its standard error and its inputs: GSD, RER x/y, edge
        SNR; images need georeferencing).
    reference : iterable of str
        Registered full-reference metrics computed against the unmodified images
        (``psnr``, ``ssim``, ...).
    bit_depth : int, optional
        Bits per sample of the sensor (PSNR/SSIM's ``data_range`` is ``2**bit_depth - 1``);
        default: each pair's metadata or measured depth (:mod:`iqx.bitdepth`).

    Notes
    -----
    ``results.json`` holds the mean over images of every column; for the unmodified
    reference, full-reference metrics are their ideal values (SSIM 1; PSNR is left out,
    being infinite).
    """

    #: the work inside one run is already parallel over images
    parallel_runs = False

    def __init__(
        self,
        blind: Iterable[str] = _DEFAULT_FAMILIES,
        reference: Iterable[str] = ("psnr", "ssim"),
        bit_depth: int | None = None,
    ) -> None:
        from iqx.bitdepth import check_bit_depth

        self.blind = tuple(blind)
        self.bit_depth = None if bit_depth is None else check_bit_depth(bit_depth)
        unknown = [b for b in self.blind if b not in _BLIND_FAMILIES]
        if unknown:
            raise InvalidParameterError(
                f"MeasureTask: unknown blind metric(s) {unknown}; choose from {_BLIND_FAMILIES}"
            )
        self.reference = tuple(reference)

    def __repr__(self) -> str:
        depth = "" if self.bit_depth is None else f", bit_depth={self.bit_depth}"
        return f"MeasureTask(blind={self.blind}, reference={self.reference}{depth})"

    def identity(self) -> str:
        base = f"measure:{','.join(self.blind)}|{','.join(self.reference)}"
        return base if self.bit_depth is None else f"{base}|bits{self.bit_depth}"

    def check(self) -> None:
        from iqx.registry import metrics as registry

        for name in self.reference:
            registry.get(name)  # raises UnknownOperationError naming it

    def execute(self, request: RunRequest) -> None:
        from iqx.datasets.compare import compare_datasets

        frame = blind_table(request.train_path, self.blind) if self.blind else None
        same = Path(request.train_path).resolve() == Path(request.reference_path).resolve()
        if self.reference:
            if same:
                ideal = {"ssim": 1.0, "ms_ssim": 1.0, "mse": 0.0, "rmse": 0.0}
                if frame is not None:
                    index = frame.index
                else:  # no blind columns: one row per image all the same
                    from iqx.datasets import open_dataset

                    names = [p.name for p in open_dataset(request.train_path).image_files]
                    index = pd.Index(names, name="image")
                ref = pd.DataFrame({m: ideal[m] for m in self.reference if m in ideal}, index=index)
            else:
                ref = compare_datasets(
                    request.reference_path,
                    request.train_path,
                    metrics=list(self.reference),
                    bit_depth=self.bit_depth,
                )
            frame = ref if frame is None else frame.join(ref)
        out = Path(request.output_path)
        frame = frame if frame is not None else pd.DataFrame()
        frame.to_csv(out / "per_image.csv")
        means = {
            str(k): float(v)
            for k, v in frame.mean(numeric_only=True).items()
            if math.isfinite(float(v))
        }
        (out / "results.json").write_text(json.dumps(means, indent=1), encoding="utf-8")
