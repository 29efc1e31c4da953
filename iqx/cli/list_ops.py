"""``iqx list``: print the registered modifiers and metrics."""

from __future__ import annotations

import argparse

from iqx.cli._output import add_format_option, dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered modifiers and metrics")
    p.add_argument("kind", nargs="?", choices=("modifiers", "metrics"), help="only this kind")
    add_format_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx import registry

    kinds = {"modifiers": registry.modifiers, "metrics": registry.metrics}
    if args.kind:
        kinds = {args.kind: kinds[args.kind]}
    if args.format == "json":
        print(dumps({k: [r.as_dict() for r in reg] for k, reg in kinds.items()}, indent=2))
        return 0
    for kind, reg in kinds.items():
        print(f"{kind}:")
        for r in reg:
            src = "" if r.source == "builtin" else f"  [{r.source}]"
            print(f"  {r.id:<22} {r.summary}{src}")
    return 0
