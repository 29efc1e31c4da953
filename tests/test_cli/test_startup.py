"""Start-up of the ``iqx`` command: what each command imports (never how long it takes).

``iqx --help`` and ``iqx --version`` must import no subcommand module and none of the heavy
libraries; ``iqx list`` reads the generated operation table (no kernel, no dask). The times
are measured by ``benchmarks/bench_import.py`` (asv ``timeraw_``), not here.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

import pytest

from iqx.cli import main as cli_main

#: never imported by ``iqx --help`` / ``iqx --version``
HEAVY = ("numpy", "xarray", "dask", "pandas", "numba", "scipy", "mlflow", "rasterio", "zarr")
#: never imported by ``iqx list`` (it may use numpy for JSON output, nothing heavier)
KERNELS = (
    "xarray", "dask", "pandas", "numba", "scipy", "mlflow", "rasterio", "zarr",
    "iqx.kernels", "iqx.modifiers", "iqx.metrics", "iqx.parallel",
)  # fmt: skip


def _modules_after(*argv: str) -> set[str]:
    """Names in ``sys.modules`` after ``iqx argv`` in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from iqx.cli.main import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def _hits(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The ``names`` that are in ``modules`` themselves or as a parent package."""
    return sorted(n for n in names if any(m == n or m.startswith(f"{n}.") for m in modules))


@pytest.mark.parametrize("argv", [("--help",), ("--version",), ()])
def test_help_and_version_import_nothing_heavy(argv):
    mods = _modules_after(*argv)
    assert not _hits(mods, HEAVY), f"iqx {' '.join(argv)} imported {_hits(mods, HEAVY)}"
    subcommands = (*(f"iqx.cli.{m}" for m in cli_main.SUBCOMMANDS), "iqx.cli._inputs")
    assert not _hits(mods, subcommands), f"iqx {' '.join(argv)} imported {_hits(mods, subcommands)}"


@pytest.mark.parametrize("argv", [("list",), ("list", "--format", "json"), ("list", "--help")])
def test_list_imports_no_kernel(argv):
    mods = _modules_after(*argv)
    assert not _hits(mods, KERNELS), f"iqx {' '.join(argv)} imported {_hits(mods, KERNELS)}"


def test_every_subcommand_has_a_static_summary():
    missing = [m for m in cli_main.SUBCOMMANDS if m not in cli_main.SUMMARIES]
    assert not missing, (
        f"add {missing} to iqx.cli.main.SUMMARIES (command, help line) so that "
        "`iqx --help` does not import them"
    )


@pytest.mark.parametrize("module_name", cli_main.SUBCOMMANDS)
def test_static_summary_matches_the_module(module_name):
    """The placeholder ``iqx --help`` shows is what the module itself registers."""
    if module_name not in cli_main.SUMMARIES:
        pytest.skip("not in SUMMARIES (reported by the test above)")
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(f"iqx.cli.{module_name}").add_parser(sub)
    (action,) = sub._choices_actions
    assert (action.dest, action.help) == cli_main.SUMMARIES[module_name]


def test_lazy_and_full_parsers_list_the_same_commands():
    full = cli_main.build_parser()
    lazy = cli_main.build_parser(None, lazy=True)
    assert full.format_help() == lazy.format_help()


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["--debug", "list", "--brief"], "list"),
        (["modify", "-m", "jpeg"], "modify"),
        (["--version"], None),
        (["--", "x"], None),
    ],
)
def test_command_of(argv, command):
    assert cli_main._command_of(argv) == command
