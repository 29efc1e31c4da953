"""The showcase (``iqx demo``) in quick mode: the answers have the paper's shapes.

The image-quality study of the showcase is checked by ``tests/test_experiment/test_sweep.py``;
these are the two training-script studies. Nothing here is a hard-coded result.
"""

from __future__ import annotations

import itertools
import json

import pytest

from iqx.cli.main import main

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")


@pytest.mark.slow
def test_showcase_training_studies(tmp_path, capsys):
    out = tmp_path / "demo"
    args = ["demo", "--quick", "--output", str(out), "--format", "json"]
    args += ["--only", "noise-vs-classifier,jpeg-vs-detector"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (out / "mlflow.db").is_file()
    studies = doc["studies"]

    # noise vs a classifier: the validation error rises with sigma towards chance (0.9)
    noise = studies["noise-vs-classifier"]
    assert noise["runs"]["failed"] == 0
    rows = [r for r in noise["summary"] if r["family"] == "gaussian_noise"]
    rows.sort(key=lambda r: r["strength"])
    base = next(r for r in noise["summary"] if r["setting"] == "original")
    errors = [base["val_error"]] + [r["val_error"] for r in rows]
    assert all(b >= a - 0.05 for a, b in itertools.pairwise(errors)), errors
    assert errors[-1] > errors[0] + 0.3 and errors[-1] <= 0.95
    assert all(r["n_runs"] == 2 for r in rows)  # repetitions, with their spread
    assert noise["cheapest"]["threshold"] == pytest.approx(base["val_error"] + 0.05)
    assert (out / "reports" / "noise-vs-classifier" / "report.html").is_file()

    # JPEG vs a detector: mAP of the uncompressed end above the most compressed one, and
    # the searched answer meets the stated margin
    det = studies["jpeg-vs-detector"]
    assert det["runs"]["failed"] == 0
    ap = {r["setting"]: r["ap_0.5_all"] for r in det["summary"]}
    assert ap["jpeg_q100"] > ap["jpeg_q5"]
    best = det["cheapest"]
    assert best["setting"] is not None  # found by the search
    assert best["threshold"] == pytest.approx(ap["original"] - 0.15)  # quick-mode margin
    assert best["metric_value"] >= best["threshold"]
    assert "cheapest jpeg setting" in det["answer"]
    assert (out / "reports" / "jpeg-vs-detector" / "front.png").is_file()
