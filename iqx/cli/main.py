"""Entry point of the ``iqx`` console script.

Each subcommand lives in its own module ``iqx.cli.<name>`` exposing
``add_parser(subparsers)`` (which registers the subcommand and sets ``func``) and a
``run(args) -> int`` function.

Errors are one line on stderr, ``iqx: error: <message>``, never a traceback (``--debug``
shows it): deliberate errors (:class:`~iqx.errors.IqxError`) and the operating system's
(``OSError``: read-only or full disk, permissions ..., with the path it names) exit with
status 2; any other exception is reported as an internal error with status 3.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from iqx._version import __version__
from iqx.errors import IqxError

__all__ = ["build_parser", "error_message", "main"]

#: subcommand modules, in the order ``iqx --help`` lists them
SUBCOMMANDS = ("info", "list_ops", "modify", "measure", "compare", "sanity", "stats", "demo")
#: exit status of a deliberate error (bad input, bad parameter, disk full ...)
EXIT_ERROR = 2
#: exit status of an unexpected exception (a bug: please report it with --debug output)
EXIT_INTERNAL = 3


def build_parser() -> argparse.ArgumentParser:
    """The full ``iqx`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="iqx",
        description="Image-quality studies of satellite imagery at scale.",
    )
    parser.add_argument("--version", action="version", version=f"iqx {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the full traceback of an error instead of one line",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"iqx.cli.{name}")
        module.add_parser(sub)
    # `iqx modify ... --debug` works as well as `iqx --debug modify ...`
    for action in sub.choices.values():
        action.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the full traceback of an error",
        )
    return parser


def _os_message(exc: OSError) -> str:
    what = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    paths = [p for p in (exc.filename, exc.filename2) if p]
    if not paths:
        return str(exc) or what
    where = " -> ".join(os.fspath(p) for p in paths)
    return f"{where}: {what}"


def error_message(exc: BaseException) -> str:
    """One line for ``exc``: its message, the notes added on the way, the paths it names."""
    if isinstance(exc, OSError) and not isinstance(exc, IqxError):
        text = _os_message(exc)
    else:
        text = str(exc) or type(exc).__name__
    notes = [n for n in getattr(exc, "__notes__", []) or [] if n not in text]
    if notes:
        text = f"{text} ({'; '.join(notes)})"
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``iqx`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("IQX_DEBUG") == "1"
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `iqx list | head`
        return 0
    except KeyboardInterrupt:
        print("iqx: interrupted", file=sys.stderr)
        return 130
    except (IqxError, OSError) as exc:
        if debug:
            raise
        print(f"iqx: error: {error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        if debug:
            raise
        print(
            f"iqx: error: internal error: {type(exc).__name__}: {error_message(exc)} "
            "(run with --debug for the traceback and please report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
