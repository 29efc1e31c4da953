"""``iqx stats`` through the real ``iqx.cli.main.main``."""

from __future__ import annotations

import json

import pytest

import iqx.cli.main as cli_main


@pytest.fixture
def iqx(monkeypatch):
    monkeypatch.setattr(cli_main, "SUBCOMMANDS", ("sanity", "stats"))
    return cli_main.main


def test_stats_json_and_html(iqx, shared_data, tmp_path, capsys):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset"
    out = tmp_path / "o"
    assert iqx(["stats", str(ds), "-o", str(out), "--format", "json", "--html", "--no-plots"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["images"]["mean_height"] == pytest.approx(496.2)
    assert json.loads((out / "stats.json").read_text())["dataset"] == "ds_coco_dataset"
    assert (out / "report.html").is_file() and not (out / "plots").exists()


def test_stats_text(iqx, shared_data, tmp_path, capsys):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    assert iqx(["stats", str(ds), "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "10 images" in out and "15 annotations" in out
    assert list((tmp_path / "o" / "plots").glob("*.png"))


def test_stats_empty_annotation_file_exit_2(iqx, shared_data, tmp_path, capsys):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_inria_dataset"
    assert iqx(["stats", str(ds), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "annotations.json" in err and "empty" in err


def test_stats_missing_folder_exit_2(iqx, tmp_path, capsys):
    assert iqx(["stats", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
