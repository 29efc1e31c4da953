"""The STUDY.toml layout the study tests share, rendered from typed arguments.

Tests whose point is the literal file (validation errors named by line, in ``test_config``,
``test_grid_config`` and ``test_declared_bit_depth``) keep their text verbatim instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def study_toml(
    name: str,
    *,
    train: str,
    modifiers: str,
    blind: Sequence[str] | None = None,
    reference: Sequence[str] | None = None,
    target: tuple[str, str] | None = None,
    description: str | None = None,
    tracking_uri: str | None = "mlflow.db",
    max_parallel: int | None = 1,
) -> str:
    """A STUDY.toml: ``[study]``, ``[data]``, ``[modifiers]``, then ``[metrics]`` and
    ``[target]`` when given.

    ``modifiers`` is the body of ``[modifiers]``, verbatim TOML (it may end with a
    ``[modifiers.grid]`` table); ``target`` is ``(metric, requirement)``. A ``None`` leaves
    its key (or table) out.
    """
    study = {
        "name": name,
        "description": description,
        "tracking_uri": tracking_uri,
        "max_parallel": max_parallel,
    }
    metrics = {"blind": blind, "reference": reference}
    tables = [
        ("study", _keys(study)),
        ("data", _keys({"train": train})),
        ("modifiers", modifiers.strip("\n") + "\n"),
        ("metrics", _keys(metrics)),
    ]
    if target is not None:
        tables.append(("target", _keys({"metric": target[0], "requirement": target[1]})))
    return "\n".join(f"[{table}]\n{body}" for table, body in tables if body)


def _keys(values: dict[str, object]) -> str:
    """``key = value`` lines (JSON strings, numbers and lists of strings are TOML too)."""
    return "".join(
        f"{key} = {json.dumps(list(v) if isinstance(v, tuple) else v)}\n"
        for key, v in values.items()
        if v is not None
    )
