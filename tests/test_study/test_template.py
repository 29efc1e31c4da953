"""``iqx new-study NAME`` writes a study that runs as generated."""

from __future__ import annotations

import json

import pytest

from iqx.cli.main import main
from iqx.study import load_study

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")


def test_new_study_refuses_an_existing_folder(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("")
    assert main(["new-study", str(tmp_path / "taken")]) == 2
    assert "not empty" in capsys.readouterr().err


@pytest.mark.slow
def test_generated_study_runs(tmp_path, capsys):
    folder = tmp_path / "my-study"
    assert main(["new-study", str(folder), "--format", "json"]) == 0
    written = json.loads(capsys.readouterr().out)
    assert {"STUDY.toml", "train.py", "make_data.py", "README.md", "data"} <= set(written["files"])
    cfg = load_study(folder / "STUDY.toml")  # valid as generated
    assert cfg.name == "my-study" and cfg.task.script == (folder / "train.py").resolve()
    assert cfg.target.metric == "val_error"
    # quick form: fewer settings and one repetition, everything else as generated
    toml = (folder / "STUDY.toml").read_text()
    toml = toml.replace("jpeg.quality = [5, 20, 50, 90]", "jpeg.quality = [5, 90]")
    toml = toml.replace("repetitions = 2", "repetitions = 1")
    (folder / "STUDY.toml").write_text(toml)
    assert main(["study", "run", str(folder / "STUDY.toml"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runs"]["failed"] == 0 and result["runs"]["executed"] == 3
    rows = {r["setting"]: r for r in result["summary"]}
    assert set(rows) == {"original", "jpeg_q5", "jpeg_q90"}
    for row in rows.values():  # the script's results.json and the image metrics
        assert 0 <= row["val_error"] <= 1
        assert row["val_accuracy"] == pytest.approx(1 - row["val_error"])
    assert rows["jpeg_q5"]["img_ssim"] < rows["jpeg_q90"]["img_ssim"] < 1
    assert "val_error" in result["answer"]
    assert (folder / "mlflow.db").is_file() and (folder / "report" / "report.html").is_file()
