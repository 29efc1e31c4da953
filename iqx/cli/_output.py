"""Shared output helpers for subcommands: ``--format text|json`` and JSON encoding."""

from __future__ import annotations

import argparse
import json
from typing import Any

from iqx._json import to_jsonable

__all__ = ["add_format_option", "dumps", "to_jsonable"]


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--format {text,json}`` to a subcommand parser."""
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def dumps(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` of :func:`to_jsonable` (strict JSON: no NaN)."""
    return json.dumps(to_jsonable(value), allow_nan=False, **kwargs)
