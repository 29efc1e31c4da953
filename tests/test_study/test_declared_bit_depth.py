"""``[data] bit_depth`` declares the sensor's bits per sample for a whole study.

Real data: the WorldView-2 pan chip ``pan1.tif`` (uint16, no NBITS tag; its maximum, read
with rasterio, is 1848, so it *measures* 11 bits). The study declares 12 bits, a value the
pixels cannot give, so each number below shows where it came from: the modifiers are applied
with the declared depth (recorded in the copy's manifest), the unmodified baseline costs 12
bits per pixel (not the measured 11) and PSNR's peak is ``2**12 - 1`` (checked against
NumPy on the files the study wrote). Validation: an integer in 1..32, at most the width of
the images' dtype, errors naming the file, the line and the key.
"""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
import rasterio

from iqx.datasets.manifest import read_manifest
from iqx.study import load_study, run_study
from iqx.study.config import StudyConfigError, parse_study

pytest.importorskip("mlflow")

STUDY = """\
[study]
name = "declared-depth"
tracking_uri = "mlflow.db"
max_parallel = 1

[data]
train = "chips"
bit_depth = 12

[modifiers]
jpeg.quality = [50]

[metrics]
blind = []
reference = ["psnr"]
"""


@pytest.fixture
def folder(shared_data, tmp_path):
    images = tmp_path / "chips" / "images"
    images.mkdir(parents=True)
    src = shared_data / "solaris_spacenet" / "pan1.tif"
    shutil.copyfile(src, images / "pan1.tif")
    with rasterio.open(src) as f:
        assert f.dtypes[0] == "uint16" and int(f.read().max()).bit_length() == 11
        assert not f.tags(ns="IMAGE_STRUCTURE").get("NBITS")
    (tmp_path / "STUDY.toml").write_text(STUDY)
    return tmp_path


def test_declared_depth_reaches_modify_bits_per_pixel_and_psnr(folder, monkeypatch):
    monkeypatch.chdir(folder)
    cfg = load_study(folder / "STUDY.toml")
    assert cfg.data.bit_depth == 12
    result = run_study(cfg, report=False)
    assert result.failed == 0
    runs = result.runs.set_index("setting")
    assert runs.loc["original", "bits_per_pixel"] == pytest.approx(12.0)  # measured: 11
    copy = folder / "chips#jpeg_q50"
    assert read_manifest(copy)["config"]["bit_depth"] == 12  # modify got the depth
    # PSNR of the study against NumPy with the declared peak 2**12 - 1
    with rasterio.open(folder / "chips" / "images" / "pan1.tif") as f:
        ref = f.read().astype(np.float64)
    with rasterio.open(next((copy / "images").iterdir())) as f:
        test = f.read().astype(np.float64)
    mse = float(np.mean((ref - test) ** 2))
    expected = 10 * math.log10(4095.0**2 / mse)
    assert runs.loc["jpeg_q50", "psnr"] == pytest.approx(expected, abs=1e-6)
    assert abs(expected - 10 * math.log10(2047.0**2 / mse)) > 5  # the 11-bit peak differs


def test_declared_depth_changes_the_run_keys(folder):
    from iqx.experiment.measure import MeasureTask
    from iqx.experiment.setup import ExperimentSetup
    from iqx.study.runner import _dataset

    cfg = parse_study(STUDY, folder / "STUDY.toml")
    undeclared = parse_study(STUDY.replace("bit_depth = 12\n", ""), folder / "STUDY.toml")

    def keys(c):
        task = MeasureTask(blind=(), reference=("psnr",), bit_depth=c.data.bit_depth)
        setup = ExperimentSetup(
            c.name, task, _dataset(c.data.train, c), c.modifier_settings(), include_reference=True
        )
        return [s.key for s in setup.plan()]

    assert undeclared.data.bit_depth is None
    assert not set(keys(cfg)) & set(keys(undeclared))  # a finished run is not reused


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("0", "must be an integer number of bits in 1..32"),
        ("33", "must be an integer number of bits in 1..32"),
        ("11.5", "must be an integer number of bits in 1..32"),
        ('"11"', "got '11'"),
        ("true", "got True"),
        ("17", "17 bits do not fit the uint16 samples of"),
    ],
)
def test_bad_values_are_named_with_file_line_and_key(folder, value, needle):
    text = STUDY.replace("bit_depth = 12", f"bit_depth = {value}")
    with pytest.raises(StudyConfigError) as err:
        parse_study(text, folder / "STUDY.toml")
    message = str(err.value)
    assert message.startswith(f"{folder / 'STUDY.toml'}: 1 problem: line 8: [data.bit_depth] ")
    assert needle in message
    if value == "17":
        assert "pan1.tif ([data] train: at most 16)" in message


def test_the_cli_check_reports_it(folder, capsys):
    from iqx.cli.main import main

    assert main(["study", "check", str(folder / "STUDY.toml"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["bit_depth"] == 12
    assert main(["study", "check", str(folder / "STUDY.toml")]) == 0
    assert "  bit depth: 12 bits per sample (declared in [data])" in capsys.readouterr().out
    text = STUDY.replace("bit_depth = 12", "bit_depth = 40")
    (folder / "STUDY.toml").write_text(text)
    assert main(["study", "check", str(folder / "STUDY.toml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iqx: error: ") and "line 8: [data.bit_depth]" in err
    assert json.dumps(40) in err
