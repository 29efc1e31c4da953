"""NIIRS as a study target: measured by the experiment layer, found by cheapest_setting."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from iqx.errors import InvalidParameterError
from iqx.experiment.image_sweep import cheapest_setting
from iqx.experiment.measure import MeasureTask, blind_table
from iqx.experiment.target import parse_target


@pytest.fixture(scope="module")
def geo_dataset(tmp_path_factory):
    from iqx.experiment.sample_dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("niirs_ds") / "geo"
    write_sample_dataset(root, n_images=2, size=384, seed=4)  # UTM 31N, 0.5 m
    return root


def test_blind_table_measures_niirs_on_request(geo_dataset):
    frame = blind_table(geo_dataset, ("niirs",))
    assert list(frame.columns) == [
        "niirs",
        "niirs_se",
        "niirs_gsd_m",
        "niirs_rer_x",
        "niirs_rer_y",
        "niirs_snr",
    ]
    assert (frame["niirs_gsd_m"] == 0.5).all()  # the sample scenes' georeferencing
    assert len(frame) == 2
    assert frame["niirs"].between(3.0, 7.0).all()  # 0.5 m GSD: about NIIRS 5
    assert (frame["niirs_se"] > 0).all()
    # the default families are unchanged (no NIIRS, no extra cost)
    assert "niirs" not in blind_table(geo_dataset, ("snr",)).columns


def test_measure_task_and_setup_accept_niirs(geo_dataset, tmp_path):
    from iqx.experiment.setup import ExperimentSetup

    assert MeasureTask(blind=("niirs",)).blind == ("niirs",)
    assert MeasureTask().blind == ("snr", "sharpness")
    setup = ExperimentSetup(
        "niirs-accepted",
        MeasureTask(blind=(), reference=("ssim",)),
        geo_dataset,
        [],
        include_reference=True,
        image_metrics=("niirs",),
        workdir=tmp_path,
    )
    assert setup.image_metrics == ("niirs",)
    with pytest.raises(InvalidParameterError):
        MeasureTask(blind=("niirs5",))


def test_niirs_sweep_and_cheapest_setting(geo_dataset, tmp_path):
    from iqx.experiment.image_sweep import sweep

    table = sweep(
        geo_dataset,
        ["gaussian_blur:sigma=1.5"],
        reference_metrics=(),
        blind=("niirs",),
        tracking_uri=f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}",
        workdir=tmp_path,
    )
    assert "niirs" in table.columns
    by = table.set_index("setting")["niirs"]
    assert by["original"] > by.drop("original").max()  # blur lowers NIIRS
    blurred = by.drop("original")
    name, req = parse_target(f"niirs >= {blurred.iloc[0] - 0.01:.4f}")
    assert cheapest_setting(table, {name: req})["setting"] == blurred.index[0]
    # a target only the original meets: no modified setting qualifies
    assert cheapest_setting(table, {"niirs": f">= {by['original'] - 0.01:.4f}"})["setting"] is None


def test_cheapest_setting_reads_a_niirs_target():
    table = pd.DataFrame(
        {
            "setting": ["original", "q80", "q40", "q10"],
            "bits_per_pixel": [8.0, 2.0, 1.0, 0.3],
            "niirs": [5.4, 5.2, 5.02, 4.6],
        }
    )
    name, req = parse_target("niirs >= 5")
    assert name == "niirs" and req.op == ">=" and math.isclose(req.threshold(), 5.0)
    assert cheapest_setting(table, {name: req})["setting"] == "q40"
    assert cheapest_setting(table, {"niirs": ">= 5"})["setting"] == "q40"
    assert cheapest_setting(table, {"niirs": "within 0.3 of baseline"})["setting"] == "q80"


@pytest.mark.parametrize("bad", ["", ">= 5", "within 2% of baseline", "niirs", 5])
def test_parse_target_refuses_a_missing_metric_or_requirement(bad):
    with pytest.raises(InvalidParameterError):
        parse_target(bad)
