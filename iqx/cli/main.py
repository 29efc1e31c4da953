"""Entry point of the ``iqx`` console script.

Each subcommand lives in its own module ``iqx.cli.<name>`` exposing
``add_parser(subparsers)`` (which registers the subcommand and sets ``func``) and a
``run(args) -> int`` function. Errors derived from :class:`~iqx.errors.IqxError` are printed
as one line on stderr with exit status 2; nothing else is swallowed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from iqx._version import __version__
from iqx.errors import IqxError

__all__ = ["build_parser", "main"]

#: subcommand modules, in the order ``iqx --help`` lists them
SUBCOMMANDS = ("info", "list_ops", "modify", "measure", "compare", "sanity", "stats", "demo")


def build_parser() -> argparse.ArgumentParser:
    """The full ``iqx`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="iqx",
        description="Image-quality studies of satellite imagery at scale.",
    )
    parser.add_argument("--version", action="version", version=f"iqx {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"iqx.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``iqx`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except IqxError as exc:
        print(f"iqx {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `iqx list | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
