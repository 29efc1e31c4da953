"""Where heavy and cloud dependencies may be imported (statically or via ``import_optional``).

DESIGN.md: ``iqx.experiment.tracking`` is the only module that imports mlflow; sagemaker and
boto3 stay in the cloud modules; ``import iqx.experiment`` imports none of them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "iqx"

RULES = {
    "mlflow": {"experiment/tracking.py"},
    "sagemaker": {"experiment/sagemaker.py", "experiment/_sagemaker_sdk.py"},
}


def _importers(package: str) -> set[str]:
    pattern = re.compile(
        rf"^\s*(import {package}\b|from {package}\b|.*import_optional\(\s*[\"']{package}\b)",
        re.MULTILINE,
    )
    return {
        p.relative_to(PKG).as_posix()
        for p in PKG.rglob("*.py")
        if pattern.search(p.read_text(encoding="utf-8"))
    }


def test_only_tracking_imports_mlflow():
    assert _importers("mlflow") <= RULES["mlflow"], _importers("mlflow")


def test_sagemaker_stays_in_its_module():
    found = _importers("sagemaker")
    assert all(f.startswith("experiment/") for f in found), found


def test_importing_the_experiment_package_is_light():
    code = (
        "import sys, iqx.experiment\n"
        "from iqx.experiment import ExperimentSetup, PythonScriptTaskExecution\n"
        "heavy = [m for m in ('mlflow', 'sagemaker', 'boto3', 'distributed') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
