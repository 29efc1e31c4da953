"""``iqx study check`` lists every setting (grids and chains too) in text and JSON, under
the names the study's run table uses; progress lines name each setting the same way
(``gaussian_blur_s0.7#quantize_b6``), not by the chain's full repr.

Real data: the WorldView-2 pan chip pan1.tif (uint16, no NBITS) as a one-image dataset.
"""

from __future__ import annotations

import json
import shutil

import pytest

from iqx.cli.main import main

from .conftest import study_toml

pytest.importorskip("mlflow")

STUDY = study_toml(
    "check-and-progress",
    train="chips",
    modifiers="""\
jpeg2000.ratio = [10, 40]
chains = [["gaussian_blur:sigma=1.0", "jpeg2000:ratio=20"]]

[modifiers.grid]
gaussian_blur.sigma = [0.7, 1.5]
quantize.bits = [6, 8]
""",
    blind=[],
    reference=["psnr"],
)

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


def test_check_lists_every_setting_in_text_and_json(study, capsys):
    text, info = _both(capsys, ["study", "check", "STUDY.toml"])
    sweeps = info["sweeps"]
    assert sweeps["jpeg2000"] == {
        "parameter": "ratio",
        "values": [10, 40],
        "series": [],
        "settings": ["jpeg2000_r10", "jpeg2000_r40"],
    }
    grid = sweeps["gaussian_blur+quantize"]
    assert grid["parameter"] == "quantize.bits" and grid["values"] == [6, 8]
    assert grid["series"] == ["gaussian_blur.sigma"]
    assert grid["settings"] == GRID  # all 2 x 2, not only the x axis's [6, 8]
    assert sweeps["gaussian_blur+jpeg2000"]["settings"] == ["gaussian_blur_s1#jpeg2000_r20"]
    names = [n for s in sweeps.values() for n in s["settings"]]
    assert info["settings"] == len(names) + 1 == 8 and info["include_reference"]
    # the text shows the same: the count line, every family and every setting
    assert f"{info['settings']} settings x {info['repetitions']} repetitions" in text
    listed = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    assert listed == names
    for family, sweep in sweeps.items():
        assert f"  {family}" in text and f"{len(sweep['settings'])} setting" in text


def test_progress_names_settings_as_the_table_does(study, capsys):
    _, info = _both(capsys, ["study", "check", "STUDY.toml"])
    names = [n for s in info["sweeps"].values() for n in s["settings"]]
    assert main(["study", "run", "STUDY.toml", "--no-report"]) == 0
    captured = capsys.readouterr()
    table = captured.out.split("\n\n")[1].splitlines()  # header, then one row per setting
    assert sorted(row.split()[1] for row in table[1:]) == sorted(["original", *names])
    # and the families check lists are the run table's (a chain's: its steps joined by +)
    assert {row.split()[0] for row in table[1:]} == {"original", *info["sweeps"]}
    modifying = [
        line.split(" with ", 1)[1]
        for line in captured.err.splitlines()
        if line.startswith("[iqx study] modifying chips with ")
    ]
    assert modifying == names  # short labels, in plan order (before: full chain reprs)
    assert "chain(" not in captured.err and "truncate=" not in captured.err
