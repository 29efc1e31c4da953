"""``iqx new-study NAME``: write a ready-to-run study folder (see docs/studies.md)."""

from __future__ import annotations

import argparse

from iqx.cli._commands import command_parser
from iqx.cli._output import dumps

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = command_parser(sub, "new_study")
    p.add_argument("name", help="folder to create (its name is the study's name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from iqx.errors import InvalidParameterError
    from iqx.study import write_template

    if not args.name.strip():
        raise InvalidParameterError("new-study: NAME is empty (give the folder to create)")
    study = write_template(args.name)
    files = sorted(str(p.relative_to(study.parent)) for p in study.parent.iterdir())
    if args.format == "json":
        print(dumps({"study": str(study), "files": files}))
        return 0
    print(f"wrote {study.parent}: {', '.join(files)}")
    print(f"run it:  iqx study run {study}")
    return 0
