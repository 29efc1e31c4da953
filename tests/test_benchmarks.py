"""Smoke-run every asv benchmark once on small inputs (IQX_BENCH_SMALL=1).

This checks that benchmarks still run; it times nothing and asserts no speed.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
MODULES = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def _cases(module):
    for obj in vars(module).values():
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            methods = [m for m in dir(obj) if m.startswith(("time_", "peakmem_", "track_", "mem_"))]
            params = getattr(obj, "params", None)
            if params is None:
                combos = [()]
            else:
                if not isinstance(params[0], list | tuple):
                    params = [params]
                combos = [tuple(c) for c in itertools.product(*[p[:1] for p in params])]
            for meth in methods:
                for combo in combos:
                    yield obj, meth, combo


def _run_timeraw(func) -> None:
    """Run a ``timeraw_`` benchmark the way asv does (fresh interpreter, timeit, stdout)."""
    from asv_runner.benchmarks.timeraw import _SeparateProcessTimer

    assert _SeparateProcessTimer(func).timeit(1) > 0


@pytest.mark.slow
@pytest.mark.parametrize("module_name", MODULES)
def test_benchmark_module_runs(module_name, tmp_path, monkeypatch):
    monkeypatch.setenv("IQX_BENCH_SMALL", "1")
    monkeypatch.setenv("IQX_BENCH_CACHE", str(tmp_path))
    monkeypatch.syspath_prepend(str(BENCH_DIR.parent))
    for mod in [m for m in sys.modules if m.startswith("benchmarks")]:
        del sys.modules[mod]
    module = importlib.import_module(f"benchmarks.{module_name}")
    for name, obj in vars(module).items():
        if name.startswith("timeraw_") and callable(obj):
            _run_timeraw(obj)
        if inspect.isclass(obj) and obj.__module__ == module.__name__:
            for meth in [m for m in dir(obj) if m.startswith("timeraw_")]:
                _run_timeraw(getattr(obj(), meth))
    for cls, meth, combo in _cases(module):
        inst = cls()
        if hasattr(inst, "setup_cache"):
            cache = inst.setup_cache()
            args = (cache, *combo)
        else:
            args = combo
        if hasattr(inst, "setup"):
            inst.setup(*args)
        try:
            getattr(inst, meth)(*args)
        finally:
            if hasattr(inst, "teardown"):
                inst.teardown(*args)
