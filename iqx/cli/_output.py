"""Shared output helpers for subcommands: ``--format text|json`` and JSON encoding.

Strict JSON has no NaN or infinity, so such values are written as ``null``; a bare ``null``
would not say why, so every non-finite value of a record gets a sibling ``<key>_reason``
(:func:`with_reasons`), e.g. ``{"psnr": null, "psnr_reason": "identical images: ..."}``.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from iqx._json import to_jsonable

__all__ = ["add_format_option", "dumps", "non_finite_reason", "to_jsonable", "with_reasons"]

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


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format {text,json}`` to a subcommand parser."""
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


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
