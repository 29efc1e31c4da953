"""Reading a task's output folder the way IQUAFLOW did, minus its faults.

A training script writes into ``--outputpath``:

- ``results.json``: a JSON object. Lists become metric steps (``[v0, v1, ...]`` are steps
  0, 1, ...; ``[[step, value], ...]`` give the steps explicitly); numbers become metrics
  (IQUAFLOW logged them as string params: :attr:`ResultsPolicy.scalars_as_params` restores
  that); strings and booleans become params; anything else is reported, not silently dropped.
- ``output.json`` (predictions, e.g. COCO detections, or the list of generated images) and
  every other file: artifacts.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import TaskFailedError

__all__ = ["ParsedResults", "ResultsPolicy", "parse_output_folder"]

RESULTS_FILE = "results.json"
OUTPUT_FILE = "output.json"


@dataclass(frozen=True)
class ResultsPolicy:
    """How ``results.json`` is logged.

    Attributes
    ----------
    scalars_as_params : bool
        Log numbers as params, as IQUAFLOW did (default: metrics, so they can be plotted
        and compared).
    require_output : bool
        A run whose output folder is empty fails (``"the script wrote nothing"``).
    """

    scalars_as_params: bool = False
    require_output: bool = True


@dataclass
class ParsedResults:
    """Metrics, params and notes read from one output folder."""

    metrics: dict[str, float | list[tuple[int, float]]] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _steps(name: str, values: list[Any]) -> list[tuple[int, float]]:
    if isinstance(values[0], list | tuple):
        steps = []
        for item in values:
            if (
                not isinstance(item, list | tuple)
                or len(item) != 2
                or not _is_number(item[0])
                or not _is_number(item[1])
            ):
                raise TaskFailedError(
                    f"results.json: {name!r} mixes [step, value] pairs with other items: {item!r}"
                )
            steps.append((int(item[0]), float(item[1])))
        return steps
    if not all(_is_number(v) for v in values):
        bad = next(v for v in values if not _is_number(v))
        raise TaskFailedError(f"results.json: {name!r} holds a non-number {bad!r}")
    return [(i, float(v)) for i, v in enumerate(values)]


def parse_output_folder(folder: str | Path, policy: ResultsPolicy | None = None) -> ParsedResults:
    """Parse ``folder/results.json`` and list the folder's files.

    Raises
    ------
    TaskFailedError
        ``results.json`` is not valid JSON or not an object, holds malformed lists, or the
        folder is empty while ``policy.require_output``.
    """
    policy = policy or ResultsPolicy()
    folder = Path(folder)
    out = ParsedResults()
    out.files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    if not out.files and policy.require_output:
        raise TaskFailedError(f"the task wrote nothing to its output folder {folder}")
    path = folder / RESULTS_FILE
    if not path.is_file():
        return out
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TaskFailedError(f"results.json is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise TaskFailedError(f"results.json must hold a JSON object, not {type(data).__name__}")
    for name, value in data.items():
        if _is_number(value):
            if not math.isfinite(float(value)):
                out.params[name] = str(value) if policy.scalars_as_params else None
                if not policy.scalars_as_params:
                    out.metrics[name] = float(value)
            elif policy.scalars_as_params:
                out.params[name] = value
            else:
                out.metrics[name] = float(value)
        elif isinstance(value, str | bool):
            out.params[name] = value
        elif isinstance(value, list | tuple) and value:
            out.metrics[name] = _steps(name, list(value))
        else:
            out.ignored.append(name)
    out.params = {k: v for k, v in out.params.items() if v is not None}
    return out
