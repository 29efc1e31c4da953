"""Start-up: ``import iqx`` and the ``iqx`` command, against ``import xarray`` in the same run.

Each ``timeraw_`` benchmark runs in a fresh interpreter and times only its statement (the
interpreter's own start is the same for all and left out). Targets (issue 10):
``iqx --help`` and ``iqx --version`` below ``import xarray``; ``iqx list`` below twice it.
``iqx`` is called as the console script does, ``iqx.cli.main.main(argv)``, with its output
kept in memory (asv reads the time from the child's stdout).
"""

from __future__ import annotations

#: run before the timed statement (not timed): what the console script has anyway
_SETUP = """
import contextlib
import io
"""


def _cli(*argv: str) -> tuple[str, str]:
    """``(statement, setup)`` timing ``iqx argv`` from the import of its entry point on."""
    stmt = f"""
with contextlib.redirect_stdout(io.StringIO()):
    try:
        from iqx.cli.main import main
        main({list(argv)!r})
    except SystemExit:
        pass
"""
    return stmt, _SETUP


class StartUp:
    """Fresh-interpreter import and command times; ``timeraw_import_xarray`` is the anchor."""

    def timeraw_import_xarray(self):
        """The anchor: what a library built on xarray pays at least once."""
        return "import xarray"

    def timeraw_import_iqx(self):
        """``import iqx`` must not pull rasterio, imagecodecs, mlflow, sagemaker or boto3."""
        return "import iqx"

    def timeraw_cli_help(self):
        """``iqx --help``: no subcommand module, no numpy/xarray/dask (target < anchor)."""
        return _cli("--help")

    def timeraw_cli_version(self):
        """``iqx --version`` (target < anchor)."""
        return _cli("--version")

    def timeraw_cli_list(self):
        """``iqx list``: the generated operation table, no kernels (target < 2 x anchor)."""
        return _cli("list")
