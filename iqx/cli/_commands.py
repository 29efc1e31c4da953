"""The one table of ``iqx`` commands: name, module, help line and common options.

``iqx --help`` lists :data:`COMMANDS` without importing any command module (start-up stays
tiny: this module imports only :mod:`argparse` and :mod:`dataclasses`); the parser of the
chosen command is built by its module's ``add_parser(sub)``, which calls
:func:`command_parser` so that its help line and its common options (``--format``,
``--scheduler``, ``--quiet``, ``--debug``) come from the same table.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, NoReturn

__all__ = [
    "COMMANDS",
    "Command",
    "Parser",
    "add_common_options",
    "add_format_option",
    "add_scheduler_option",
    "by_module",
    "by_name",
    "command_parser",
    "finish_parser",
]


@dataclass(frozen=True)
class Command:
    """One ``iqx`` command.

    Attributes
    ----------
    name : str
        What the user types (``iqx <name>``).
    module : str
        The module ``iqx.cli.<module>`` holding ``add_parser(sub)`` and ``run(args)``.
    help : str
        The one-line help ``iqx --help`` shows.
    format : bool
        It prints results: ``--format {text,json}`` is added to its parser (``iqx study``
        adds it to each of its actions instead).
    dataset : bool
        It runs dataset-level work: ``--scheduler ADDRESS`` is added.
    """

    name: str
    module: str
    help: str
    format: bool = True
    dataset: bool = False


#: every command, in the order ``iqx --help`` lists them
COMMANDS: tuple[Command, ...] = (
    Command("info", "info", "describe a scene (raster, zarr) or a dataset folder"),
    Command("list", "list_ops", "list registered modifiers and metrics with their parameters"),
    Command(
        "modify", "modify", "write <dataset>#<modifier> with every image modified", dataset=True
    ),
    Command("measure", "measure", "blind quality metrics of a raster or a dataset", dataset=True),
    Command(
        "compare",
        "compare",
        "full-reference metrics (psnr, ssim, ...) of a test raster/dataset vs a reference",
        dataset=True,
    ),
    Command(
        "sanity", "sanity", "check COCO/GeoJSON annotations; write sanitized copies and a report"
    ),
    Command("stats", "stats", "dataset statistics: stats.json, PNG plots, optional HTML report"),
    Command(
        "study",
        "study",
        "run a study declared in STUDY.toml, or rebuild its report",
        format=False,
    ),
    Command(
        "new-study",
        "new_study",
        "write a ready-to-run study folder (STUDY.toml, train.py, data, README)",
    ),
    Command(
        "demo",
        "demo",
        "the showcase: three real image-quality studies end to end (no downloads, minutes)",
    ),
)


def by_name(name: str) -> Command | None:
    """The command typed as ``name`` (None if there is none)."""
    return next((c for c in COMMANDS if c.name == name), None)


def by_module(module: str) -> Command:
    """The command implemented by ``iqx.cli.<module>``."""
    return next(c for c in COMMANDS if c.module == module)


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line: ``iqx: error: <prog>: <message>``.

    argparse's default prints the whole usage block first; the full usage stays one
    ``--help`` away (named in the line). Exit status 2, as argparse.
    """

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"iqx: error: {self.prog}: {text} (see `{self.prog} --help`)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--debug`` and ``--quiet`` (accepted before or after the command)."""
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


def add_format_option(parser: argparse.ArgumentParser) -> None:
    """``--format {text,json}``."""
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="output format (default: text; json: strict JSON, NaN written as null)",
    )


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS``: run the dataset work on a dask.distributed cluster."""
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on the dask.distributed cluster at ADDRESS (e.g. tcp://10.0.0.5:8786) "
        "instead of this machine's cores, or on this machine's 'threads' or 'processes' "
        "(default: $IQX_SCHEDULER if set, else threads, processes for many small images)",
    )


def command_parser(
    sub: argparse._SubParsersAction, module: str, **kwargs: Any
) -> argparse.ArgumentParser:
    """The subparser of the command implemented by ``iqx.cli.<module>``.

    Its name and help line come from :data:`COMMANDS`; the options its kind shares
    (``--scheduler``, ``--format``) are added by :func:`finish_parser` once the module has
    added its own.
    """
    cmd = by_module(module)
    return sub.add_parser(cmd.name, help=cmd.help, **kwargs)


def finish_parser(parser: argparse.ArgumentParser, cmd: Command) -> None:
    """Add the options every command of its kind shares, after the command's own ones."""
    if cmd.dataset:
        add_scheduler_option(parser)
    if cmd.format:
        add_format_option(parser)
    add_common_options(parser)
