"""Package-level promises: light import, version, exception tree, import rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import iqx
from iqx import errors

PKG = Path(iqx.__file__).resolve().parent
HEAVY = ("rasterio", "mlflow", "sagemaker", "boto3", "imagecodecs")


def test_import_iqx_is_light():
    code = (
        "import sys, iqx\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import iqx pulled in: {out.stdout.strip()}"


def test_version_is_set():
    assert isinstance(iqx.__version__, str) and iqx.__version__.count(".") >= 2


def test_every_error_derives_from_iqxerror():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.IqxError)


def test_missing_extra_error_names_the_extra():
    from iqx._compat import import_optional

    try:
        import_optional("iqx_surely_not_installed_pkg", "testing")
    except errors.MissingExtraError as exc:
        assert "pip install 'iqx[all]'" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected MissingExtraError")


# layer -> packages it must not import (DESIGN.md import rules); function-level imports,
# relative imports and ``importlib.import_module("...")``/``import_optional("...")`` count
FORBIDDEN = {
    "kernels": (
        "dask",
        "xarray",
        "iqx.accessor",
        "iqx.parallel",
        "iqx.io",
        "iqx.datasets",
        "iqx.modifiers",
        "iqx.metrics",
        "iqx.annotations",
        "iqx.experiment",
        "iqx.cli",
    ),
    "parallel": (
        "iqx.accessor",
        "iqx.io",
        "iqx.datasets",
        "iqx.modifiers",
        "iqx.metrics",
        "iqx.annotations",
        "iqx.experiment",
        "iqx.cli",
    ),
    "modifiers": (
        "dask",
        "distributed",
        "iqx.io",
        "iqx.datasets",
        "iqx.annotations",
        "iqx.experiment",
        "iqx.cli",
    ),
    "metrics": (
        "dask",
        "distributed",
        "iqx.datasets",
        "iqx.annotations",
        "iqx.experiment",
        "iqx.cli",
    ),
}

# (file relative to the package, forbidden import it may still use) -- temporary exceptions
ALLOWED: set[tuple[str, str]] = set()


#: calls whose first argument is the name of a module they import
_IMPORT_CALLS = {"import_module", "import_optional", "__import__"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    """The absolute module of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    pkg = _module_name(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    pkg = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(pkg + ([node.module] if node.module else []))


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` may import, wherever the import stands.

    ``ast.walk`` visits the whole tree, so imports inside functions and methods count as
    much as module-level ones; so do relative imports and string-named imports through
    ``importlib.import_module``, ``__import__`` or :func:`iqx._compat.import_optional`.
    """
    tree = ast.parse(path.read_text() if source is None else source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, node)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if called in _IMPORT_CALLS and isinstance(arg, ast.Constant):
                if isinstance(arg.value, str):
                    names.add(arg.value)
    return names


def test_import_scanner_sees_every_kind_of_import():
    src = (
        "import importlib\n"
        "from iqx._compat import import_optional\n"
        "def f():\n"
        "    import iqx.metrics\n"
        "    from iqx.io import open_scene\n"
        "    importlib.import_module('iqx.modifiers')\n"
        "    import_optional('rasterio', 'io')\n"
        "class C:\n"
        "    def m(self):\n"
        "        from ..datasets import modify\n"
    )
    path = PKG / "parallel" / "_scanner_probe.py"  # never written: only the name is used
    found = _imports(path, src)
    for name in ("iqx.metrics", "iqx.io", "iqx.modifiers", "rasterio", "iqx.datasets"):
        assert name in found, name


def test_layer_import_rules():
    bad = []
    for layer, forbidden in FORBIDDEN.items():
        for path in (PKG / layer).rglob("*.py"):
            rel = path.relative_to(PKG).as_posix()
            for name in _imports(path):
                for f in forbidden:
                    if (name == f or name.startswith(f + ".")) and (rel, f) not in ALLOWED:
                        bad.append(f"{rel} imports {name}")
    assert not bad, "\n".join(bad)


def _module_level_imports(path: Path, known: set[str]) -> set[str]:
    """iqx modules imported when ``path`` is imported (not inside functions or TYPE_CHECKING)."""
    name = _module_name(path)
    out: set[str] = set()

    def visit(stmts: list[ast.stmt]) -> None:
        for node in stmts:
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(path, node)
                for a in node.names:  # ``from pkg import submodule`` imports the submodule
                    sub = f"{base}.{a.name}"
                    out.add(sub if sub in known else base)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body)
                    visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(ast.parse(path.read_text()).body)
    # a module's own packages are being imported already when it runs
    return {m for m in out if m in known and m != name and not name.startswith(m + ".")}


def test_no_import_cycle():
    """The module-level import graph of every iqx module is acyclic (Tarjan's SCCs)."""
    paths = {_module_name(p): p for p in PKG.rglob("*.py")}
    known = set(paths)
    graph = {m: _module_level_imports(p, known) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_accessor_is_registered_by_the_user_facing_packages():
    """``import iqx`` and ``import iqx.parallel`` leave xarray alone; io/metrics/modifiers
    register ``.iqx``."""
    probe = (
        "import sys, xarray as xr, {mod}\n"
        "print(hasattr(xr.DataArray, 'iqx'), 'iqx.accessor' in sys.modules)"
    )
    for mod, expected in (
        ("iqx", "False False"),
        ("iqx.parallel", "False False"),
        ("iqx.io", "True True"),
        ("iqx.metrics", "True True"),
        ("iqx.modifiers", "True True"),
    ):
        out = subprocess.run(
            [sys.executable, "-c", probe.format(mod=mod)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.strip() == expected, mod


def test_nothing_imports_cli():
    bad = []
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts:
            continue
        for name in _imports(path):
            if name == "iqx.cli" or name.startswith("iqx.cli."):
                bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, "\n".join(bad)
