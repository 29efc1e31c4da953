"""``iqx sanity`` through the real ``iqx.cli.main.main`` (exit codes, outputs, errors)."""

from __future__ import annotations

import json

import pytest

import iqx.cli.main as cli_main


@pytest.fixture
def iqx(monkeypatch):
    # only this test's subcommands: the others are built by other modules
    monkeypatch.setattr(cli_main, "SUBCOMMANDS", ("sanity", "stats"))
    return cli_main.main


def test_sanity_missing_image_exit_1(iqx, shared_data, tmp_path, capsys):
    f = shared_data / "sahi_aerial_coco" / "terrain3_coco.json"
    assert iqx(["sanity", str(f), "--output", str(tmp_path / "o")]) == 1
    out = capsys.readouterr().out
    assert "ERR_JSON_IMG_MISSING" in out and "terrain3.png" in out
    assert (tmp_path / "o" / "sanity_report.txt").is_file()
    assert json.loads((tmp_path / "o" / "terrain3_coco.json").read_text())["images"] == []


def test_sanity_clean_json_format_exit_0(iqx, shared_data, tmp_path, capsys):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset"
    assert (
        iqx(
            [
                "sanity",
                str(ds),
                "-o",
                str(tmp_path / "o"),
                "--repair",
                "buffer0",
                "--format",
                "json",
            ]
        )
        == 0
    )
    rep = json.loads(capsys.readouterr().out)
    assert rep["ok"] is True and rep["repair"] == "buffer0" and rep["problems"] == []


def test_sanity_check_only_writes_nothing(iqx, shared_data, tmp_path):
    ds = shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_inria_dataset"
    assert iqx(["sanity", str(ds), "-o", str(tmp_path / "o"), "--check-only"]) == 1
    assert not (tmp_path / "o").exists()


def test_sanity_missing_folder_exit_2(iqx, tmp_path, capsys):
    assert iqx(["sanity", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iqx: error:") and "nowhere" in err


def test_sanity_bad_repair_choice(iqx, tmp_path):
    with pytest.raises(SystemExit):
        iqx(["sanity", str(tmp_path), "--repair", "glue"])
