"""Shared output helpers for subcommands: ``--format text|json`` and JSON encoding.

Strict JSON has no NaN or infinity, so such values are written as ``null``; a bare ``null``
would not say why, so every non-finite value of a record gets a sibling ``<key>_reason``
(:func:`with_reasons`), e.g. ``{"psnr": null, "psnr_reason": "identical images: ..."}``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from iqx._json import to_jsonable

__all__ = [
    "dumps",
    "image_bar",
    "scheduler_of",
    "task_bar",
    "non_finite_reason",
    "to_jsonable",
    "with_reasons",
]

#: why a metric's value is infinite or NaN, by metric id and kind ("inf", "-inf", "nan")
_REASONS: dict[str, dict[str, str]] = {
    "psnr": {
        "inf": "identical images: the mean squared error is 0, PSNR is infinite",
        "nan": "undefined: no valid pixel to compare (all nodata or empty)",
    },
    "ergas": {
        "inf": "a reference band has mean 0 (ERGAS divides each band's RMSE by its mean)",
        "nan": "undefined: a reference band has mean 0 and no error, or no valid pixel",
    },
    "ssim": {"nan": "undefined: no valid pixel or the image is smaller than the SSIM window"},
    "ms_ssim": {"nan": "undefined: no valid pixel or the image is too small for 5 scales"},
    "sam": {"nan": "undefined: a spectrum is all zeros (its angle is not defined)"},
}
_GENERIC = {
    "inf": "infinite (e.g. a zero error or a zero denominator)",
    "-inf": "minus infinity (e.g. a zero numerator on a log scale)",
    "nan": "undefined for this input (e.g. no valid pixel, or not measurable)",
}


def _kind(value: Any) -> str | None:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return None


def non_finite_reason(key: str, value: Any) -> str | None:
    """Why ``value`` of output ``key`` is NaN/infinite (None when it is finite)."""
    kind = _kind(value)
    if kind is None:
        return None
    for metric, reasons in _REASONS.items():
        if (key == metric or key.startswith(f"{metric}_")) and kind in reasons:
            return reasons[kind]
    return _GENERIC[kind]


def with_reasons(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` plus ``<key>_reason`` for each NaN/infinite value that has none yet."""
    out = dict(record)
    for key, value in record.items():
        reason = non_finite_reason(str(key), value)
        if reason is not None and f"{key}_reason" not in out and "reason" not in out:
            out[f"{key}_reason"] = reason
    return out


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (strict JSON: no NaN, reasons added)."""
    if isinstance(value, Mapping):
        value = with_reasons(value)
    return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)


#: environment variable naming the default ``--scheduler`` address
SCHEDULER_ENV = "IQX_SCHEDULER"


def scheduler_of(args: argparse.Namespace) -> str | None:
    """The ``--scheduler`` address, else ``$IQX_SCHEDULER``, else None (this machine)."""
    return getattr(args, "scheduler", None) or os.environ.get(SCHEDULER_ENV) or None


def image_bar(args: argparse.Namespace, total: int, label: str, unit: str = "images") -> Any:
    """A :class:`iqx._progress.Progress` bar of ``total`` images for a dataset command.

    Drawn on stderr when it is a terminal and ``--quiet`` was not given, after
    ``$IQX_PROGRESS_DELAY`` seconds (default 0.5: short runs stay silent); otherwise every
    call on it is a counter increment.
    """
    from iqx._progress import Progress

    quiet = bool(getattr(args, "quiet", False))
    return Progress(
        total, label=label, unit=unit, enabled=False if quiet else None, delay=progress_delay()
    )


def progress_delay() -> float:
    """Seconds before a bar appears: ``$IQX_PROGRESS_DELAY``, default 0.5."""
    try:
        return max(0.0, float(os.environ.get("IQX_PROGRESS_DELAY", "0.5")))
    except ValueError:
        return 0.5


@contextlib.contextmanager
def task_bar(args: argparse.Namespace, label: str, *, enabled: bool = True) -> Iterator[None]:
    """A bar of finished dask tasks for single-scene work (:func:`iqx._progress.dask_tasks`);
    nothing when not ``enabled`` (e.g. a dataset, which has a bar of images instead)."""
    from iqx._progress import dask_tasks

    quiet = bool(getattr(args, "quiet", False)) or not enabled
    with dask_tasks(label, quiet=quiet, delay=progress_delay()):
        yield


def read_headers(args: argparse.Namespace, index: Any, label: str) -> None:
    """Read (and cache) the header of every image of an ``ImageIndex`` under a bar.

    ``iqx stats`` and ``iqx sanity`` spend their per-image time here (sizes and
    readability from headers); the index caches each answer, errors included, so the
    command's own pass reads nothing again. None (no images folder): nothing to do.
    """
    if index is None:
        return
    from iqx.annotations._images import has_image_extension
    from iqx.errors import RasterReadError

    names = [n for n in index.names if has_image_extension(n)]
    with image_bar(args, len(names), label) as bar:
        for name in names:
            try:
                index.size(index.images_dir / name)
            except RasterReadError:  # cached: the command reports it in its own words
                pass
            bar.advance()
