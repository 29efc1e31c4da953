"""Every command that prints results has ``--format json``: it parses (strict JSON) and
carries the same values as the default text output of the same run.

``iqx study run``/``report`` and ``iqx demo`` train models for minutes; their JSON is tested
in tests/test_study (``test_study_run.py``, ``test_template.py``, ``test_showcase.py``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from iqx.cli._commands import COMMANDS
from iqx.cli.main import main

DATASETS = ("iquaflow_fixtures", "test_datasets")


def _both(capsys, argv: list[str], code: int = 0) -> tuple[str, str]:
    """(text output, JSON output) of the same command."""
    assert main(argv) == code, capsys.readouterr().err
    text = capsys.readouterr().out
    assert main([*argv, "--format", "json"]) == code, capsys.readouterr().err
    return text, capsys.readouterr().out


@pytest.fixture(scope="module")
def work(tmp_path_factory, shared_data) -> Path:
    from iqx.experiment.sample_dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("fmt")
    write_sample_dataset(root / "ds", n_images=2, size=96)
    shutil.copytree(shared_data.joinpath(*DATASETS, "ds_coco_dataset"), root / "coco")
    for p in (root / "coco").rglob("*"):
        p.chmod(0o644 if p.is_file() else 0o755)
    shutil.copyfile(shared_data / "solaris_spacenet" / "pan1.tif", root / "pan1.tif")
    return root


def test_every_result_command_offers_json():
    """The table says which commands print results; the parser tests check the option."""
    assert {c.name for c in COMMANDS if c.format} == {
        "info", "list", "modify", "measure", "compare", "sanity", "stats", "new-study", "demo"
    }  # fmt: skip


def test_info(work, capsys):
    text, js = _both(capsys, ["info", str(work / "pan1.tif")])
    info = json.loads(js)
    lines = dict(line.split(None, 1) for line in text.splitlines())
    for key in ("driver", "dtype", "bit_depth", "bit_depth_source", "crs", "nbytes"):
        assert lines[key].strip() == str(info[key]), key
    assert info["shape"] == {"band": 1, "y": 600, "x": 600}  # PROVENANCE.md: pan1 600x600


def test_list(capsys):
    text, js = _both(capsys, ["list", "metrics", "--brief"])
    table = json.loads(js)["metrics"]
    for row in table:
        assert f"  {row['id']:<22} {row['summary']}" in text


def test_modify_measure_compare(work, capsys):
    text, js = _both(capsys, ["modify", str(work / "ds"), "-m", "jpeg:quality=50"])
    result = json.loads(js)
    assert text.splitlines()[0] == result["output"]
    totals = result["totals"]
    assert f"{totals['n_files']} images, {totals['compressed_bytes']} compressed bytes" in text
    out = result["output"]

    text, js = _both(capsys, ["measure", out, "--metrics", "snr"])
    rows = [json.loads(line) for line in js.splitlines()]
    assert [r["image"] for r in rows] == ["scene_01.tif", "scene_02.tif"]
    for r in rows:
        assert f"{r['image']}: snr {r['snr']:.2f} +- {r['snr_std']:.2f}" in text
        hb, ha = ("-" if r[k] is None else f"{r[k]:.2f}" for k in ("snr_hb", "snr_ha"))
        assert f"IQUAFLOW hb {hb}, ha {ha}" in text
        assert r["snr_hb"] is not None or r["snr_hb_reason"]

    text, js = _both(capsys, ["compare", str(work / "ds"), out, "--summary"])
    rows = [json.loads(line) for line in js.splitlines()]
    assert rows[-1]["summary"] is True and rows[-1]["n_images"] == 2
    for r in rows[:-1]:
        assert f"{r['image']}: psnr={r['psnr']:.6g}, ssim={r['ssim']:.6g}" in text
    assert f"mean over 2 images: psnr={rows[-1]['psnr']:.6g}" in text


def test_measure_one_scene_sharpness_table(work, capsys):
    text, js = _both(capsys, ["measure", str(work / "pan1.tif"), "--metrics", "sharpness"])
    (row,) = [json.loads(line) for line in js.splitlines()]
    for d in ("x", "y", "other", "all"):
        line = next(s for s in text.splitlines() if s.split()[:1] == [d])
        assert line.split()[1] == str(row[f"n_edges_{d}"])


def test_sanity_and_stats(work, tmp_path, capsys):
    argv = ["sanity", str(work / "coco"), "--check-only"]
    assert main(argv) in (0, 1)
    text = capsys.readouterr().out
    code = main([*argv, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert (code == 0) == report["ok"]
    for f in report["files"]:
        assert f"{f['input']} [{f['format']}]" in text
        for key, value in f["counts"].items():
            assert f"    {key}: {value}" in text
    assert ("no problems found" in text) == (report["problems"] == [])

    out = tmp_path / "stats"
    assert main(["stats", str(work / "coco"), "-o", str(out), "--no-plots"]) == 0
    text = capsys.readouterr().out
    assert (
        main(["stats", str(work / "coco"), "-o", str(out), "--no-plots", "--format", "json"]) == 0
    )
    stats = json.loads(capsys.readouterr().out)
    assert text.splitlines()[0].startswith(
        f"dataset {stats['dataset']}: {stats['images']['count']} images"
    )
    for f in stats["annotation_files"]:
        assert f"{f['file']} [{f['format']}]: {f['n_annotations']} annotations" in text


def test_new_study_and_check(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["new-study", "a"]) == 0
    text = capsys.readouterr().out
    assert main(["new-study", "b", "--format", "json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["study"].endswith("STUDY.toml") and text.startswith("wrote a: ")
    assert text.split(": ", 1)[1].splitlines()[0] == ", ".join(made["files"])
    text, js = _both(capsys, ["study", "check", "a/STUDY.toml"])
    info = json.loads(js)
    assert f"{info['settings']} settings x {info['repetitions']} repetitions" in text
