"""STUDY.toml: ``[modifiers.grid]`` (a product of several families' sweeps, chained in
order), NIIRS as a blind metric and ``target = "niirs >= 5"`` as one string; every problem
named with its line."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iqx.study.config import StudyConfigError, parse_study
from iqx.study.results import _family_and_params, _series, answer_from_table

GRID = """\
target = "niirs >= 5"

[study]
name = "grid"

[data]
train = "data"

[modifiers]
gaussian_noise.sigma = [2, 4]

[modifiers.grid]
sensor.D = [0.35, 0.7, 1.1]
sensor.f = 12.32
sensor.p_x = 8e-6
sensor.altitude = 770e3
jpeg.quality = [10, 90]
jpeg.subsampling = ["4:4:4", "4:2:0"]

[metrics]
blind = ["niirs", "snr"]
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "data" / "images").mkdir(parents=True)
    return tmp_path


def _problems(text, folder):
    with pytest.raises(StudyConfigError) as info:
        parse_study(text, folder / "STUDY.toml")
    return info.value.problems


def test_grid_is_the_product_chained_in_order(folder):
    cfg = parse_study(GRID, folder / "STUDY.toml")
    grid = next(s for s in cfg.sweeps if "+" in s.family)
    assert grid.family == "sensor+jpeg"
    assert grid.parameter == "jpeg.quality" and grid.values == (10, 90)
    assert grid.series == ("sensor.D", "jpeg.subsampling")
    assert grid.fixed == {"sensor.f": 12.32, "sensor.p_x": 8e-6, "sensor.altitude": 770e3}
    assert len(grid.settings) == 3 * 2 * 2
    combos = set()
    for s in grid.settings:
        assert s["id"] == "chain"
        sensor, jpeg = s["modifiers"]
        assert sensor["id"] == "sensor" and jpeg["id"] == "jpeg"  # the order written
        assert sensor["f"] == 12.32 and sensor["altitude"] == 770e3
        combos.add((sensor["D"], jpeg["quality"], jpeg["subsampling"]))
    assert len(combos) == 12
    assert len(cfg.modifier_settings()) == 2 + 12
    assert cfg.metrics.blind == ("niirs", "snr")
    assert (cfg.target.metric, cfg.target.requirement) == ("niirs", ">= 5")


def test_grid_problems_are_named_with_their_lines(folder):
    bad = GRID.replace("sensor.D = [0.35, 0.7, 1.1]", "sensor.D = [0.35, -1]")  # line 13
    bad = bad.replace('[metrics]\nblind = ["niirs", "snr"]', '[metrics]\nblind = ["snr"]')
    problems = _problems(bad, folder)
    assert (13, "[modifiers.grid.sensor.D] sensor: D must be a number > 0, got -1") in problems
    assert any(n == 21 and "NIIRS target needs blind" in m for n, m in problems), problems

    unknown = GRID.replace("jpeg.quality = [10, 90]", "jepg.quality = [10, 90]")  # line 17
    problems = _problems(unknown, folder)
    assert problems[0][0] == 17 and "unknown key 'jepg'" in problems[0][1]
    assert "did you mean 'jpeg'" in problems[0][1]

    empty = GRID.replace("jpeg.quality = [10, 90]", "jpeg.quality = []")
    assert _problems(empty, folder) == [(17, "[modifiers.grid.jpeg.quality] empty list of values")]

    one = GRID.replace('jpeg.quality = [10, 90]\njpeg.subsampling = ["4:4:4", "4:2:0"]\n', "")
    ((line, message),) = _problems(one, folder)
    assert line == 12 and "two or more families" in message

    fixed = GRID.replace("[0.35, 0.7, 1.1]", "0.35").replace("[10, 90]", "90")
    fixed = fixed.replace('["4:4:4", "4:2:0"]', '"4:4:4"')
    ((line, message),) = _problems(fixed, folder)
    assert line == 12 and "nothing swept" in message


def test_search_refuses_a_grid_and_string_targets_are_checked(folder):
    search = GRID.replace('target = "niirs >= 5"\n', "") + (
        '[target]\nmetric = "niirs"\nrequirement = ">= 5"\nsearch = true\n'
        'modifier = "sensor+jpeg"\n'
    )
    problems = _problems(search, folder)
    assert any("not chains or grids" in m for _, m in problems), problems
    bad = GRID.replace('target = "niirs >= 5"', 'target = "niirs about 5"')
    ((line, message),) = _problems(bad, folder)
    assert line == 1 and "'about 5' not understood" in message


def test_run_table_reads_a_chain_as_one_family_with_series():
    config = {
        "id": "chain",
        "modifiers": [{"id": "sensor", "D": 0.35, "f": 12.32}, {"id": "jpeg", "quality": 30}],
    }
    family, params = _family_and_params(json.dumps(config))
    assert family == "sensor+jpeg"
    assert params == {"sensor.D": 0.35, "sensor.f": 12.32, "jpeg.quality": 30}
    frame = pd.DataFrame({"family": ["original", "sensor+jpeg", "sensor+jpeg", "jpeg"]})
    mods = [
        {},
        {"sensor.D": 0.35, "sensor.f": 12.32, "jpeg.quality": 30},
        {"sensor.D": 1.1, "sensor.f": 12.32, "jpeg.quality": 10},
        {"quality": 50},
    ]
    labels = _series(frame, mods, {"sensor+jpeg": "jpeg.quality", "jpeg": "quality"})
    assert labels == ["", "sensor.D=0.35", "sensor.D=1.1", ""]


def test_answer_states_the_niirs_interval_and_the_equation_error():
    runs = pd.DataFrame(
        {
            "status": ["FINISHED"] * 4,
            "setting": ["original", "q90", "q30", "q10"],
            "family": ["original", "jpeg", "jpeg", "jpeg"],
            "strength": [float("nan"), 90, 30, 10],
            "bits_per_pixel": [8.0, 1.2, 0.4, 0.2],
            "niirs": [5.3, 5.2, 5.04, 4.8],
            "niirs_se": [0.01, 0.02, 0.03, 0.05],
        }
    )
    out = answer_from_table(runs, "niirs", ">= 5", parameters={"jpeg": "quality"})
    assert out["setting"] == "q30" and out["metric_se"] == pytest.approx(0.03)
    assert "niirs = 5.04 ± 0.059 (95 % CI of the measurement" in out["answer"]
    assert "± 0.3 NIIRS" in out["answer"]
