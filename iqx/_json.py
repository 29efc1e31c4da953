"""One JSON conversion for the whole package (manifests, reports, CLI output)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["to_jsonable"]


def to_jsonable(value: Any, *, strict: bool = False) -> Any:
    """Make ``value`` strict-JSON-safe.

    Mappings, sequences and sets recurse; NumPy arrays and scalars become Python values;
    paths become strings; NaN and infinities become ``None`` (strict JSON has no NaN).
    Anything else is returned unchanged, or raises ``TypeError`` when ``strict`` is true.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value  # the common leaves first: manifests hold ~40 of them per file
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, strict=strict) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v, strict=strict) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist(), strict=strict)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if strict and not (value is None or isinstance(value, bool | int | float | str)):
        raise TypeError(f"{type(value).__name__} value {value!r} is not JSON-serialisable")
    return value
