"""``iqx study check`` names a chain's family as the run table does: its steps joined by
``+`` (``gaussian_blur+jpeg``), not ``chain``; chains of different steps are different
families, and a chain of a grid's steps joins the grid's family (one family in the tables).
"""

from __future__ import annotations

import json

import pytest

from iqx.cli.main import main
from iqx.study.config import family_of, parse_study
from iqx.study.results import _family_and_params

from .conftest import study_toml

STUDY = study_toml(
    "chains",
    tracking_uri=None,
    max_parallel=None,
    train="data",
    modifiers="""\
jpeg.quality = [30, 60]
chains = [
    ["gaussian_blur:sigma=1.0", "jpeg:quality=50"],
    ["gaussian_blur:sigma=2.0", "jpeg:quality=50"],
    ["quantize:bits=6", "jpeg2000:ratio=10"],
    ["gaussian_blur:sigma=0.5", "quantize:bits=4"],
]

[modifiers.grid]
gaussian_blur.sigma = [0.7, 1.5]
quantize.bits = [6, 8]
""",
)


@pytest.fixture
def study(tmp_path):
    (tmp_path / "data" / "images").mkdir(parents=True)
    path = tmp_path / "STUDY.toml"
    path.write_text(STUDY)
    return path


def test_every_setting_is_in_the_family_the_table_gives_it(study):
    cfg = parse_study(study.read_text(), study)
    families = [s.family for s in cfg.sweeps]
    assert families == ["jpeg", "gaussian_blur+quantize", "gaussian_blur+jpeg", "quantize+jpeg2000"]
    for sweep in cfg.sweeps:
        for setting in sweep.settings:
            assert _family_and_params(setting)[0] == family_of(setting) == sweep.family
    by = {s.family: s for s in cfg.sweeps}
    assert len(by["gaussian_blur+jpeg"].settings) == 2
    assert len(by["gaussian_blur+quantize"].settings) == 4 + 1  # the grid and the chain
    assert len(cfg.modifier_settings()) == 2 + 5 + 2 + 1


def test_check_prints_the_table_names(study, capsys):
    assert main(["study", "check", str(study), "--format", "json"]) == 0
    sweeps = json.loads(capsys.readouterr().out)["sweeps"]
    assert "chain" not in sweeps
    assert sweeps["gaussian_blur+jpeg"]["settings"] == [
        "gaussian_blur_s1#jpeg_q50",
        "gaussian_blur_s2#jpeg_q50",
    ]
    assert sweeps["quantize+jpeg2000"]["settings"] == ["quantize_b6#jpeg2000_r10"]
    assert main(["study", "check", str(study)]) == 0
    text = capsys.readouterr().out
    assert "  gaussian_blur+jpeg: 2 settings" in text and "  chain" not in text


def test_a_search_still_refuses_a_chain_family(study):
    text = study.read_text() + '\n[target]\nmetric = "psnr"\nrequirement = ">= 30"\n'
    text += 'search = true\nmodifier = "gaussian_blur+jpeg"\n'
    with pytest.raises(Exception, match="one family, not chains or grids"):
        parse_study(text, study)
