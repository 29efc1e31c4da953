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


# layer -> packages it must not import (DESIGN.md import rules)
FORBIDDEN = {
    "kernels": (
        "dask",
        "xarray",
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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


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


def test_nothing_imports_cli():
    bad = []
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts:
            continue
        for name in _imports(path):
            if name == "iqx.cli" or name.startswith("iqx.cli."):
                bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert not bad, "\n".join(bad)
