"""Entry point of the ``iqx`` console script.

Each subcommand lives in its own module ``iqx.cli.<name>`` exposing
``add_parser(subparsers)`` (which registers the subcommand and sets ``func``) and a
``run(args) -> int`` function.

Errors are one line on stderr, ``iqx: error: <message>``, never a traceback (``--debug``
shows it): deliberate errors (:class:`~iqx.errors.IqxError`) and the operating system's
(``OSError``: read-only or full disk, permissions ..., with the path it names) exit with
status 2; any other exception is reported as an internal error with status 3.

Start-up is kept short: :func:`main` imports only the module of the chosen subcommand;
``iqx --help`` and ``iqx --version`` list the others from :data:`SUMMARIES` without
importing them (``tests/test_cli/test_startup.py`` checks the table against the modules).
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
SUBCOMMANDS = (
    "info",
    "list_ops",
    "modify",
    "measure",
    "compare",
    "sanity",
    "stats",
    "study",
    "new_study",
    "demo",
)
#: ``{module: (command, help line)}``: what ``iqx --help`` shows of a subcommand without
#: importing its module. A module missing here is imported on every call (slower start-up);
#: a test checks that each entry matches what the module's ``add_parser`` registers.
SUMMARIES = {
    "info": ("info", "describe a scene (raster, zarr) or a dataset folder"),
    "list_ops": ("list", "list registered modifiers and metrics with their parameters"),
    "modify": ("modify", "write <dataset>#<modifier> with every image modified"),
    "measure": ("measure", "blind quality metrics of a raster or a dataset"),
    "compare": (
        "compare",
        "full-reference metrics (psnr, ssim, ...) of a test raster/dataset vs a reference",
    ),
    "sanity": ("sanity", "check COCO/GeoJSON annotations; write sanitized copies and a report"),
    "stats": ("stats", "dataset statistics: stats.json, PNG plots, optional HTML report"),
    "study": ("study", "run a study declared in STUDY.toml, or rebuild its report"),
    "new_study": (
        "new-study",
        "write a ready-to-run study folder (STUDY.toml, train.py, data, README)",
    ),
    "demo": (
        "demo",
        "the showcase: three real image-quality studies end to end (no downloads, minutes)",
    ),
}
#: commands whose local dask work shows a bar of finished tasks on a terminal (not --quiet)
LONG_COMMANDS = frozenset({"modify", "measure", "compare", "demo"})
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
        import only the module of ``command`` (and modules missing from
        :data:`SUMMARIES`); the other subcommands are placeholders that carry their help
        line, enough for ``iqx --help``.
    """
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
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bar (there is none either when stderr is not a terminal)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        if lazy and name in SUMMARIES and SUMMARIES[name][0] != command:
            sub.add_parser(SUMMARIES[name][0], help=SUMMARIES[name][1])
            continue
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
        action.add_argument(
            "--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help="no progress bar"
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
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv), lazy=True)
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False) or os.environ.get("IQX_DEBUG") == "1"
    quiet = getattr(args, "quiet", False)
    try:
        if args.command in LONG_COMMANDS:
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
