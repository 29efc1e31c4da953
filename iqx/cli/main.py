"""Entry point of the ``iqx`` console script.

Each subcommand lives in its own module ``iqx.cli.<name>`` exposing
``add_parser(subparsers)`` (which registers the subcommand and sets ``func``) and a
``run(args) -> int`` function.

Errors are one line on stderr, ``iqx: error: <message>``, never a traceback (``--debug``
shows it): deliberate errors (:class:`~iqx.errors.IqxError`) and the operating system's
(``OSError``: read-only or full disk, permissions ..., with the path it names) exit with
status 2; any other exception is reported as an internal error with status 3.

Warnings are one line too, ``iqx: note: <message>`` on stderr (:mod:`iqx.cli._notes`), and
messages that name an option in its Python spelling (``overwrite=True``) name the command's
(``--overwrite``) instead (:func:`error_message`).

Start-up is kept short: :func:`main` imports only the module of the chosen subcommand;
``iqx --help`` and ``iqx --version`` list the others from the one command table,
:data:`iqx.cli._commands.COMMANDS` (name, module, help line, shared options), without
importing them. Usage errors (unknown option, missing argument) are one line too.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence

from iqx._version import __version__
from iqx.cli._commands import COMMANDS, Parser, add_common_options, finish_parser
from iqx.cli._notes import cli_notes
from iqx.errors import IqxError

__all__ = ["build_parser", "error_message", "main"]

#: subcommand modules, in the order ``iqx --help`` lists them (from the one command table)
SUBCOMMANDS = tuple(c.module for c in COMMANDS)
#: commands whose local dask work shows a bar of finished tasks on a terminal (not --quiet);
#: the dataset commands draw their own bar of images instead (see iqx.cli._output)
TASK_BAR_COMMANDS = frozenset({"demo"})
#: exit status of a deliberate error (bad input, bad parameter, disk full ...)
EXIT_ERROR = 2
#: exit status of an unexpected exception (a bug: please report it with --debug output)
EXIT_INTERNAL = 3


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv``: its first word not starting with ``-``.

    The top-level options (``--help``, ``--version``, ``--debug``) take no value, so the
    first such word is the subcommand (or a typo argparse reports).
    """
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None, *, lazy: bool = False) -> argparse.ArgumentParser:
    """The ``iqx`` argument parser.

    Parameters
    ----------
    command : str, optional
        With ``lazy``: the subcommand whose module is imported to parse its arguments.
    lazy : bool
        If False (default), import every subcommand module (the full parser). If True,
        import only the module of ``command``; the other subcommands are placeholders that
        carry their help line from the command table, enough for ``iqx --help``.
    """
    parser = Parser(
        prog="iqx",
        description="Image-quality studies of satellite imagery at scale.",
    )
    parser.add_argument("--version", action="version", version=f"iqx {__version__}")
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for cmd in COMMANDS:
        if lazy and cmd.name != command:
            sub.add_parser(cmd.name, help=cmd.help)
            continue
        importlib.import_module(f"iqx.cli.{cmd.module}").add_parser(sub)
        finish_parser(sub.choices[cmd.name], cmd)
    return parser


def _os_message(exc: OSError) -> str:
    what = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    paths = [p for p in (exc.filename, exc.filename2) if p]
    if not paths:
        return str(exc) or what
    where = " -> ".join(os.fspath(p) for p in paths)
    return f"{where}: {what}"


def _cli_spelling(exc: BaseException, text: str, args: argparse.Namespace | None) -> str:
    """``text`` with the option ``exc`` asks for spelled as on the command line.

    Errors whose fix is an option (:class:`~iqx.errors.OutputExistsError`,
    :class:`~iqx.errors.ManifestConflictError`: ``overwrite=True``) carry both spellings
    (``api_option``, ``cli_option``). The command's own flag replaces the Python argument
    (and a message giving both, ``--overwrite / overwrite=True``, gives the flag alone); a
    command without that flag (``iqx study run``) tells to delete the output instead.
    """
    api, cli = getattr(exc, "api_option", None), getattr(exc, "cli_option", None)
    if not api or not cli or args is None:
        return text
    both = re.compile(rf"(?:{re.escape(cli)} / )?{re.escape(api)}")
    if hasattr(args, cli.lstrip("-").replace("-", "_")):
        return both.sub(cli, text)
    return re.sub(rf"pass {both.pattern} to replace (it|them)", r"delete \1 to replace \1", text)


def error_message(exc: BaseException, args: argparse.Namespace | None = None) -> str:
    """One line for ``exc``: its message, the notes added on the way, the paths it names.

    With the command's parsed ``args``, an option the message names in its Python spelling
    is named as the command spells it (``--overwrite``, see :func:`_cli_spelling`).
    """
    if isinstance(exc, OSError) and not isinstance(exc, IqxError):
        text = _os_message(exc)
    else:
        text = _cli_spelling(exc, str(exc) or type(exc).__name__, args)
    notes = [n for n in getattr(exc, "__notes__", []) or [] if n not in text]
    if notes:
        text = f"{text} ({'; '.join(notes)})"
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``iqx`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv), lazy=True)
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("IQX_DEBUG") == "1"
    quiet = getattr(args, "quiet", False)
    args.quiet = quiet
    args.debug = debug
    try:
        with cli_notes(debug=debug):
            if args.command in TASK_BAR_COMMANDS:
                from iqx._progress import dask_tasks

                with dask_tasks(args.command, quiet=quiet):
                    return int(args.func(args) or 0)
            return int(args.func(args) or 0)
    except BrokenPipeError:  # e.g. `iqx list | head`
        return 0
    except KeyboardInterrupt:
        print("iqx: interrupted", file=sys.stderr)
        return 130
    except (IqxError, OSError) as exc:
        if debug:
            raise
        print(f"iqx: error: {error_message(exc, args)}", file=sys.stderr)
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
