"""``iqx list``: print the registered modifiers and metrics with their parameters."""

from __future__ import annotations

import argparse
from typing import Any

from iqx.cli._commands import command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "format_parameter", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(
        sub,
        "list_ops",
        description=(
            "List every registered modifier and metric: id, summary, and each parameter "
            "with its default, its range or choices (where the operation documents one) "
            "and a one-line description. --format json adds outputs, units and references."
        ),
    )
    p.add_argument("kind", nargs="?", choices=("modifiers", "metrics"), help="only this kind")
    p.add_argument("--brief", action="store_true", help="ids and summaries only")
    p.set_defaults(func=run)


def format_parameter(par: dict[str, Any]) -> str:
    """One text line for a parameter: ``name=default  range  doc``."""
    default = "(required)" if par.get("required") else repr(par.get("default"))
    text = f"{par['name']}={default}"
    if par.get("range"):
        text += f"  [{par['range']}]"
    elif par.get("type"):
        text += f"  ({par['type']})"
    if par.get("doc"):
        text += f"  {par['doc']}"
    return text


def run(args: argparse.Namespace) -> int:
    from iqx import registry

    # describe() reads a generated table for the built-ins: no kernel is imported
    kinds = {"modifiers": registry.modifiers, "metrics": registry.metrics}
    if args.kind:
        kinds = {args.kind: kinds[args.kind]}
    tables = {k: reg.describe() for k, reg in kinds.items()}
    if args.format == "json":
        print(dumps(tables, indent=2))
        return 0
    for kind, table in tables.items():
        print(f"{kind}:")
        for r in table:
            src = "" if r["source"] == "builtin" else f"  [{r['source']}]"
            print(f"  {r['id']:<22} {r['summary']}{src}")
            if args.brief:
                continue
            for par in r["parameters"]:
                print(f"      {format_parameter(par)}")
    return 0
