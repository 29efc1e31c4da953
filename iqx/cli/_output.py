"""Shared output helpers for subcommands: ``--format text|json`` and JSON encoding."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_format_option", "dumps", "to_jsonable"]


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format {text,json}`` to a subcommand parser."""
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def to_jsonable(value: Any) -> Any:
    """Convert NumPy scalars/arrays, paths and NaN/inf into JSON-safe values (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (strict JSON: no NaN)."""
    return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)
