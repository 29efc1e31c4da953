"""Reading JSON with clear errors, JSON-safe conversion and atomic JSON/text writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from iqx._json import to_jsonable
from iqx.errors import AnnotationError, PathNotFoundError

__all__ = ["read_json", "to_jsonable", "write_json", "write_text"]


def read_json(path: str | os.PathLike[str], what: str = "annotation file") -> Any:
    """Parse a JSON file.

    Raises
    ------
    PathNotFoundError
        If the file does not exist.
    AnnotationError
        If it is a folder, empty (0 bytes), not UTF-8, or not valid JSON (line and column named).
    """
    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(f"{path}: {what} not found")
    if path.is_dir():
        raise AnnotationError(f"{path}: {what} is a folder, not a file")
    if path.stat().st_size == 0:
        raise AnnotationError(f"{path}: {what} is empty (0 bytes)")
    try:
        with path.open("rb") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise AnnotationError(
            f"{path}: {what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    except UnicodeDecodeError as exc:
        raise AnnotationError(f"{path}: {what} is not UTF-8 text ({exc})") from exc


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (temporary sibling, then ``os.replace``)."""
    from iqx.io._atomic import atomic_file

    path = Path(path)
    with atomic_file(path, overwrite=True) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def write_json(path: str | os.PathLike[str], value: Any, *, indent: int | None = 2) -> Path:
    """Write ``value`` as strict JSON (NaN -> null) to ``path`` atomically."""
    return write_text(path, json.dumps(to_jsonable(value), indent=indent, allow_nan=False))
