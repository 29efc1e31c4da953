"""Progress lines name each setting as the study's tables and ``iqx study check`` do
(``gaussian_blur_s0.7#quantize_b6``), not by the chain's full repr.

Real data: the WorldView-2 pan chip pan1.tif (uint16, no NBITS) as a one-image dataset.
"""

from __future__ import annotations

import json
import shutil

import pytest

from iqx.cli.main import main

pytest.importorskip("mlflow")

STUDY = """\
[study]
name = "check-and-progress"
tracking_uri = "mlflow.db"
max_parallel = 1

[data]
train = "chips"

[modifiers]
jpeg2000.ratio = [10, 40]
chains = [["gaussian_blur:sigma=1.0", "jpeg2000:ratio=20"]]

[modifiers.grid]
gaussian_blur.sigma = [0.7, 1.5]
quantize.bits = [6, 8]

[metrics]
blind = []
reference = ["psnr"]
"""

GRID = [
    "gaussian_blur_s0.7#quantize_b6",
    "gaussian_blur_s0.7#quantize_b8",
    "gaussian_blur_s1.5#quantize_b6",
    "gaussian_blur_s1.5#quantize_b8",
]


@pytest.fixture
def study(shared_data, tmp_path, monkeypatch):
    (tmp_path / "chips" / "images").mkdir(parents=True)
    shutil.copyfile(
        shared_data / "solaris_spacenet" / "pan1.tif", tmp_path / "chips" / "images" / "pan1.tif"
    )
    (tmp_path / "STUDY.toml").write_text(STUDY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _both(capsys, argv):
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert main([*argv, "--format", "json"]) == 0
    return text, json.loads(capsys.readouterr().out)


def test_progress_names_settings_as_the_table_does(study, capsys):
    _, info = _both(capsys, ["study", "check", "STUDY.toml"])
    names = [n for s in info["sweeps"].values() for n in s["settings"]]
    assert main(["study", "run", "STUDY.toml", "--no-report"]) == 0
    captured = capsys.readouterr()
    table = captured.out.split("\n\n")[1].splitlines()  # header, then one row per setting
    assert sorted(row.split()[1] for row in table[1:]) == sorted(["original", *names])
    modifying = [
        line.split(" with ", 1)[1]
        for line in captured.err.splitlines()
        if line.startswith("[iqx study] modifying chips with ")
    ]
    assert modifying == names  # short labels, in plan order (before: full chain reprs)
    assert "chain(" not in captured.err and "truncate=" not in captured.err
