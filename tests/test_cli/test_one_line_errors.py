"""Issue 9, item 6: every expected CLI error is one line ``iqx: error: <message>``, exit 2.

``--debug`` (before or after the subcommand) shows the traceback instead. The cases were raw
tracebacks before (see the table in ``tests/test_datasets/test_hostile_inputs.py``).
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from iqx.cli.main import main
from iqx.datasets import copy_dataset, open_dataset

DATASETS = ("iquaflow_fixtures", "test_datasets")


def _ds(shared_data, tmp_path, name="ds_coco_dataset") -> Path:
    from tests.test_datasets.conftest import _writable_copy

    return _writable_copy(shared_data.joinpath(*DATASETS, name), tmp_path / "work" / name)


def _one_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("iqx: error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_empty_annotation_file_under_resample_is_copied(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    (ds / "coco_annotations.json").write_bytes(b"")
    assert main(["modify", str(ds), "-m", "resample:factor=0.5"]) == 0
    out = ds.parent / "ds_coco_dataset#resample_f0.5" / "coco_annotations.json"
    assert out.stat().st_size == 0


def test_broken_annotation_file_under_resample(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    (ds / "coco_annotations.json").write_text('{"images": [')
    assert main(["modify", str(ds), "-m", "resample:factor=0.5"]) == 2
    _one_line(capsys, "coco_annotations.json", "not valid JSON")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ('{"id": "jpeg", quality: 70}', "not valid JSON"),
        ('{"quality": 70}', "'id'"),
        ("jpeg:quality=70,quality=80", "twice"),
        ("jpeg:qualty=70", "did you mean quality?"),
        ("nosuchop:x=1", "nosuchop"),
        ("resample:factor=1e6", "limit"),
    ],
)
def test_bad_modifier_specs(shared_data, tmp_path, capsys, spec, needle):
    ds = _ds(shared_data, tmp_path)
    assert main(["modify", str(ds), "-m", spec]) == 2
    _one_line(capsys, needle)
    assert sorted(p.name for p in ds.parent.iterdir()) == ["ds_coco_dataset"]


def test_compare_with_a_blind_metric(shared_data, capsys):
    tif = str(shared_data / "solaris_spacenet" / "pan1.tif")
    assert main(["compare", tif, tif, "--metrics", "snr"]) == 2
    _one_line(capsys, "snr", "blind")


def test_compare_identical_images_reports_why_psnr_is_infinite(shared_data, capsys):
    tif = str(shared_data / "solaris_spacenet" / "pan1.tif")
    assert main(["compare", tif, tif, "--metrics", "psnr", "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out.splitlines()[0])
    assert rec["psnr"] is None and "identical" in rec["psnr_reason"]


def test_reasons_for_nan_ergas():
    from iqx.cli._output import dumps

    rec = json.loads(dumps({"image": "a.tif", "ergas": float("nan"), "psnr": 31.0}))
    assert rec["ergas"] is None and "mean 0" in rec["ergas_reason"]
    assert "psnr_reason" not in rec


def test_jpeg_wider_than_65535(tmp_path, capsys):
    ds = tmp_path / "wide"
    (ds / "images").mkdir(parents=True)
    Image.fromarray(np.full((4, 40000), 128, np.uint8)).save(ds / "images" / "w.jpg")
    assert main(["modify", str(ds), "-m", "resample:factor=2"]) == 2
    _one_line(capsys, "65535")


def test_thirty_step_chain(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    args = ["modify", str(ds)]
    for b in [7, 6] * 15:
        args += ["-m", f"quantize:bits={b}"]
    assert main(args) == 2
    _one_line(capsys, "too long")
    assert sorted(p.name for p in ds.parent.iterdir()) == ["ds_coco_dataset"]


def _nan_point_dataset(shared_data, tmp_path) -> Path:
    ds = _ds(shared_data, tmp_path, "ds_geo_dataset")
    doc = json.loads((ds / "annots.geojson").read_text())
    doc["features"][0]["geometry"] = {"type": "Point", "coordinates": [float("nan"), 1.0]}
    (ds / "annots.geojson").write_text(json.dumps(doc))  # writes the NaN literal
    return ds


@pytest.mark.parametrize(
    "command",
    [
        ["sanity", "--no-file-check", "--check-only"],
        ["stats", "--no-plots"],
        ["modify", "-m", "resample:factor=0.5"],
    ],
)
def test_geojson_point_with_nan_coordinates(shared_data, tmp_path, capsys, command):
    ds = _nan_point_dataset(shared_data, tmp_path)
    rc = main([command[0], str(ds), *command[1:]])
    if rc == 2:
        _one_line(capsys, "annots.geojson")
    else:
        assert rc in (0, 1)
        assert "Traceback" not in capsys.readouterr().err


def test_stats_on_empty_images_folder(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    for p in (ds / "images").iterdir():
        p.unlink()
    rc = main(["stats", str(ds), "--no-plots", "--output", str(tmp_path / "stats")])
    if rc == 2:
        _one_line(capsys, "images")
    else:
        assert rc == 0
        assert "0 images" in capsys.readouterr().out


def test_modify_on_empty_images_folder(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    for p in (ds / "images").iterdir():
        p.unlink()
    assert main(["modify", str(ds), "-m", "jpeg:quality=50"]) == 2
    _one_line(capsys, "empty")


def test_damaged_manifest(shared_data, tmp_path, capsys):
    ds = _ds(shared_data, tmp_path)
    out = copy_dataset(open_dataset(ds)).data_path
    (out / "iqx_manifest.json").write_text('{"config": {"id": "base_modifier"}, "files": 3}')
    assert main(["modify", str(out), "-m", "jpeg:quality=50"]) == 2
    _one_line(capsys, "damaged manifest", "iqx_manifest.json")
    (out / "iqx_manifest.json").write_text("{not json")
    assert main(["modify", str(out), "-m", "jpeg:quality=50"]) == 2
    _one_line(capsys, "iqx_manifest.json")


@pytest.mark.parametrize("code", [errno.EROFS, errno.ENOSPC])
def test_read_only_or_full_destination(shared_data, tmp_path, capsys, monkeypatch, code):
    ds = _ds(shared_data, tmp_path)
    real_mkdir = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if ".iqx-tmp-" in self.name:
            raise OSError(code, "simulated", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert main(["modify", str(ds), "-m", "jpeg:quality=50"]) == 2
    line = _one_line(capsys, "ds_coco_dataset#jpeg_q50")
    assert ("read-only" in line.lower()) if code == errno.EROFS else ("space" in line.lower())


def test_os_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "file"
    bad.write_text("x")
    assert main(["stats", str(bad / "sub")]) == 2
    _one_line(capsys)


def test_debug_shows_the_traceback(tmp_path):
    for argv in (["--debug", "modify"], ["modify", "--debug"]):
        proc = subprocess.run(
            [sys.executable, "-m", "iqx.cli.main", *argv, str(tmp_path / "nope"), "-m", "jpeg"],
            capture_output=True,
            text=True,
        )
        assert proc.returncode != 0
        assert "Traceback" in proc.stderr and "nope" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "iqx.cli.main", "modify", str(tmp_path / "nope"), "-m", "jpeg"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("iqx: error:")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["bogus"], ["invalid choice: 'bogus'", "iqx --help"]),
        (["info"], ["iqx info", "required: path"]),
        (["list", "bogus"], ["iqx list", "invalid choice"]),
        (["modify", "ds"], ["iqx modify", "-m/--modifier"]),
        (["modify", "ds", "-m", "jpeg", "--batch-size", "0"], ["--batch-size must be >= 1"]),
        (["measure", "x.tif", "--workers", "0"], ["--workers must be >= 1"]),
        (["measure", "x.tif", "--chunks", "abc"], ["iqx measure", "invalid int value"]),
        (["compare", "a"], ["iqx compare", "required: test"]),
        (["compare", "a.tif", "b.tif", "--format", "xml"], ["iqx compare", "'xml'"]),
        (["sanity"], ["iqx sanity", "required: path"]),
        (["stats", "nope"], ["nope", "not found"]),
        (["study"], ["iqx study", "ACTION"]),
        (["study", "frobnicate"], ["iqx study", "invalid choice"]),
        (["study", "run"], ["iqx study run", "required: study"]),
        (["study", "run", "nope.toml"], ["nope.toml", "does not exist"]),
        (["study", "check", "nope.toml", "--format", "json"], ["nope.toml"]),
        (
            ["study", "report", "s1", "--tracking-uri", "sqlite:///none.db"],
            ["none.db", "no MLflow"],
        ),
        (["study", "report", "s1"], ["mlflow.db", "no MLflow store"]),
        (["new-study"], ["iqx new-study", "required: name"]),
        (["new-study", " "], ["NAME is empty"]),
        (["demo", "--only", "bogus"], ["--only", "bogus"]),
        (["demo", "--quick", "--extra"], ["unrecognized arguments: --extra"]),
        (["measure", "x.tif", "--scheduler", ""], ["x.tif"]),
    ],
)
def test_every_command_fails_in_one_line(argv, needles, capsys, tmp_path, monkeypatch):
    """Usage errors (argparse) and bad values of every command, including study, new-study
    and demo: non-zero exit, one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    assert code == 2
    _one_line(capsys, *needles)
    assert list(tmp_path.iterdir()) == []  # no store, folder or file created
