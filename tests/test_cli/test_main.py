"""The ``iqx`` command frame: --version, list, error reporting."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import iqx
from iqx.cli.main import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert iqx.__version__ in capsys.readouterr().out


def test_list_json_has_both_registries(capsys):
    assert main(["list", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"modifiers", "metrics"} <= set(data)
    ids = {r["id"] for r in data["modifiers"]}
    assert {"jpeg", "quantize", "gaussian_blur"} <= ids
    assert {"snr", "sharpness", "ssim", "psnr"} <= {r["id"] for r in data["metrics"]}


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "iqx.cli.main", "list", "metrics"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "snr" in out.stdout


def test_iqx_error_is_one_line_exit_2(capsys, tmp_path):
    assert main(["measure", str(tmp_path / "missing.tif")]) == 2
    err = capsys.readouterr().err
    assert "missing.tif" in err and "Traceback" not in err


def test_unknown_metric_is_rejected(capsys, tmp_path):
    assert main(["measure", str(tmp_path), "--metrics", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
