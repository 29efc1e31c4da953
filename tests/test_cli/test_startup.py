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
from iqx.cli._commands import COMMANDS

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


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c.name)
def test_each_module_registers_its_table_entry(cmd):
    """A command's name and help line are the table's (the placeholder ``iqx --help``
    shows without importing the module is what the module registers)."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(f"iqx.cli.{cmd.module}").add_parser(sub)
    (action,) = sub._choices_actions
    assert (action.dest, action.help) == (cmd.name, cmd.help)


def test_shared_options_come_from_the_table():
    """``--format`` on every command printing results (on each action of ``study``),
    ``--scheduler`` on the dataset commands, ``--debug``/``--quiet`` everywhere."""
    full = cli_main.build_parser()
    (sub,) = [a for a in full._actions if isinstance(a, argparse._SubParsersAction)]
    for cmd in COMMANDS:
        parser = sub.choices[cmd.name]
        options = {o for a in parser._actions for o in a.option_strings}
        assert {"--debug", "--quiet"} <= options, cmd.name
        assert ("--scheduler" in options) == cmd.dataset, cmd.name
        if cmd.format:
            assert "--format" in options, cmd.name
        else:
            (actions,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
            for name, action_parser in actions.choices.items():
                opts = {o for a in action_parser._actions for o in a.option_strings}
                assert {"--format", "--debug"} <= opts, f"{cmd.name} {name}"
    assert [c.name for c in COMMANDS] == list(sub.choices)


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
