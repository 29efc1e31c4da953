"""Warnings on the command line: one clean line each, ``iqx: note: <message>`` on stderr.

The library warns through :mod:`warnings` (a Python API user filters, records or raises them
as usual); Python's default display of a warning is two lines naming a source file and
line of iqx, noise to a command-line user. :func:`cli_notes` shows each warning as one line
instead, through the command's progress bar when one is drawn (``Progress.echo``), so the
note and the bar share the terminal cleanly. ``--debug`` keeps Python's display.
This module imports nothing heavy (the ``iqx`` start-up stays short).
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["NOTE_PREFIX", "cli_notes", "note_line"]

#: how a note starts (errors start with ``iqx: error: ``)
NOTE_PREFIX = "iqx: note: "


def note_line(message: Any) -> str:
    """``iqx: note: <message>`` on one line (the message's whitespace collapsed)."""
    return NOTE_PREFIX + " ".join(str(message).split())


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextlib.contextmanager
def cli_notes(echo: Callable[[str], Any] | None = None, *, debug: bool = False) -> Iterator[None]:
    """Show the warnings raised inside the block as :func:`note_line` lines.

    Parameters
    ----------
    echo : callable, optional
        Prints one line (default: to stderr), e.g. ``lambda t: bar.echo(t, file=sys.stderr)``
        to print beside a progress bar.
    debug : bool
        Keep Python's own display (category, file and line of the warning).

    Notes
    -----
    Which warnings are shown is left to the :mod:`warnings` filters (a repeated warning of
    the same place and text is shown once); only their display changes.
    """
    if debug:
        yield
        return
    out = echo or _to_stderr

    def show(message: Any, category: Any, filename: str, lineno: int, file=None, line=None):
        out(note_line(message))

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
