"""``find_cheapest``: the search's answer against the brute force over the full grid.

The brute-force ground truth is computed in the tests themselves: JPEG quality 1-100 in
process (the same modifier and metric code, cross-checked against every probed run), and
quantize bits through a full-grid experiment of the same task.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from iqx.errors import InvalidParameterError
from iqx.experiment import ExperimentSetup, MeasureTask, PythonScriptTaskExecution, find_cheapest
from iqx.experiment.image_sweep import cheapest_setting
from iqx.experiment.requirement import Requirement
from iqx.experiment.search import CheapestResult

from .conftest import SCRIPTS


@pytest.fixture(scope="module")
def jpeg_curve(_tiny_source) -> pd.DataFrame:
    """SSIM and bits per pixel of the tiny dataset at every JPEG quality 1..100."""
    from iqx.datasets import open_dataset
    from iqx.datasets.compare import compare_images
    from iqx.modifiers import data_volume, jpeg

    ds = open_dataset(_tiny_source)
    images = [ds.open_image(p.name).load() for p in ds.image_files]
    rows = {}
    for q in range(1, 101):
        mod = jpeg(quality=q)
        ssim = [compare_images(im, mod(im), metrics=["ssim"])["ssim"] for im in images]
        vols = [data_volume(im, mod) for im in images]
        bits = sum(8.0 * v["compressed_bytes"] for v in vols)
        rows[q] = {"ssim": float(np.mean(ssim)), "bpp": bits / sum(v["pixels"] for v in vols)}
    return pd.DataFrame.from_dict(rows, orient="index")


def _brute_force(curve: pd.DataFrame, threshold: float) -> int | None:
    ok = curve[curve["ssim"] >= threshold]
    return None if ok.empty else int(ok.sort_values(["bpp"]).index[0])


def _search(tiny_dataset, sqlite_uri, requirement, **kw) -> CheapestResult:
    return find_cheapest(
        tiny_dataset,
        "jpeg",
        "ssim",
        requirement,
        tracking_uri=sqlite_uri,
        workdir=tiny_dataset.parent,
        **kw,
    )


def _check_probes(result: CheapestResult, curve: pd.DataFrame) -> None:
    """Every probed run measured what the in-process brute force computes."""
    for _, row in result.probes.dropna(subset=["quality"]).iterrows():
        q = int(row["quality"])
        assert row["ssim"] == pytest.approx(curve.loc[q, "ssim"], abs=1e-9)
        assert row["bits_per_pixel"] == pytest.approx(curve.loc[q, "bpp"], rel=1e-9)


def test_jpeg_quality_vs_ssim_matches_brute_force_and_resumes(tiny_dataset, sqlite_uri, jpeg_curve):
    threshold = 0.94
    expected = _brute_force(jpeg_curve, threshold)
    assert expected is not None and 1 < expected < 100

    result = _search(tiny_dataset, sqlite_uri, f">= {threshold}")
    assert result.value == expected
    assert result.setting == f"jpeg_q{expected}"
    assert result.setting_config["quality"] == expected
    assert result.bits_per_pixel == pytest.approx(jpeg_curve.loc[expected, "bpp"])
    assert result.metric_value >= threshold
    _check_probes(result, jpeg_curve)
    # the final bracket: the cheaper neighbour was measured and fails
    assert not jpeg_curve.loc[expected - 1, "ssim"] >= threshold
    assert expected - 1 in set(result.probes["quality"].dropna().astype(int))
    # far fewer runs than the full grid (100 qualities + the baseline)
    assert result.n_runs_full_grid == 101
    assert result.n_runs <= 12
    assert result.n_executed == result.n_runs
    assert result.monotone and not result.violations
    assert result.baseline == pytest.approx(1.0)
    # rate-quality front: every probe with bits and the metric; the answer is on the front
    assert {"bits_per_pixel", "ssim", "pareto", "step"} <= set(result.probes)
    assert result.setting in set(result.front["setting"])
    assert result.front["bits_per_pixel"].is_monotonic_increasing
    assert f"quality={expected}" in result.answer and "101" in result.answer
    assert f"jpeg_q{expected}" in repr(result)

    # resume: the same search executes nothing and answers the same
    again = _search(tiny_dataset, sqlite_uri, f">= {threshold}")
    assert again.n_executed == 0
    assert (again.value, again.n_runs) == (result.value, result.n_runs)

    # another threshold in the same experiment reuses the probes already run
    other = _search(tiny_dataset, sqlite_uri, ">= 0.95")
    assert other.value == _brute_force(jpeg_curve, 0.95)
    assert other.n_executed < other.n_runs


def test_relative_requirement_against_the_baseline(tiny_dataset, sqlite_uri, jpeg_curve):
    result = _search(tiny_dataset, sqlite_uri, "within 2% of baseline")
    assert result.baseline == pytest.approx(1.0)  # SSIM of the unmodified set
    assert result.threshold == pytest.approx(0.98)
    assert result.value == _brute_force(jpeg_curve, 0.98)
    assert "within 2% of baseline" in result.answer
    absolute = _search(tiny_dataset, sqlite_uri, "within 0.03 of baseline")
    assert absolute.threshold == pytest.approx(0.97)
    assert absolute.value == _brute_force(jpeg_curve, 0.97)


def test_impossible_requirement_is_answered_cleanly(tiny_dataset, sqlite_uri, jpeg_curve):
    assert jpeg_curve["ssim"].max() < 0.9999
    result = _search(tiny_dataset, sqlite_uri, ">= 0.9999")
    assert not result.found
    assert result.value is None and result.setting is None and result.bits_per_pixel is None
    assert result.n_runs == 2  # the baseline and the richest setting
    assert result.answer.startswith("No jpeg setting")
    assert "none meets" in repr(result)


def test_quantize_bits_vs_psnr_matches_the_full_grid(tiny_dataset, sqlite_uri):
    task = MeasureTask(blind=(), reference=("psnr", "ssim"))
    grid = ExperimentSetup(
        "full-grid",
        task,
        tiny_dataset,
        [f"quantize:bits={b}" for b in range(1, 8)],
        include_reference=True,
        max_parallel=1,
        cloud_options={"tracking_uri": sqlite_uri},
        workdir=tiny_dataset.parent,
    )
    grid.execute()
    table = grid.run_table()
    psnr = table.set_index("mod_bits")["psnr"].dropna()
    threshold = float((psnr.iloc[2] + psnr.iloc[3]) / 2)  # between 3 and 4 bits
    truth = cheapest_setting(table, {"psnr": f">= {threshold}"})
    assert truth["setting"] == "quantize_b4"

    result = find_cheapest(
        tiny_dataset,
        "quantize",
        "psnr",
        f">= {threshold}",
        task=task,
        tracking_uri=sqlite_uri,
        workdir=tiny_dataset.parent,
    )
    assert result.setting == truth["setting"] and result.value == 4
    bpp = table.set_index("setting").loc["quantize_b4", "bits_per_pixel"]
    assert result.bits_per_pixel == pytest.approx(bpp)
    assert result.baseline is None  # PSNR of identical images is infinite: not logged
    assert result.n_runs_full_grid == 8 and result.n_runs < 8


@pytest.mark.slow
def test_noisy_training_metric_uses_repetitions(tiny_dataset, sqlite_uri, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    noise = 0.01
    result = find_cheapest(
        tiny_dataset,
        "jpeg",
        "score",
        ">= 0.9",
        task=PythonScriptTaskExecution(SCRIPTS / "train_noisy.py"),
        extra_train_params={"state": str(state), "noise": noise},
        bounds=(30, 70),
        repetitions=2,
        max_repetitions=6,
        tracking_uri=sqlite_uri,
        workdir=tiny_dataset.parent,
    )
    truth = math.ceil(20 * math.log(10))  # 1 - exp(-q/20) >= 0.9 from q = 47
    assert abs(result.value - truth) <= 3
    probes = result.probes.set_index("setting")
    assert probes["n_runs"].min() == 2
    # probes near the threshold were repeated; the answer and its neighbour confirmed
    assert (probes["n_runs"] > 2).any()
    assert probes.loc[result.setting, "n_runs"] == 6
    assert 0.003 < probes["std"].mean() < 0.03
    assert result.n_runs < result.n_runs_full_grid == 41 * 2 + 2


@pytest.mark.slow
def test_non_monotone_metric_is_reported_and_scanned(tiny_dataset, sqlite_uri, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    kwargs = {
        "task": PythonScriptTaskExecution(SCRIPTS / "train_noisy.py"),
        "extra_train_params": {"state": str(state), "shape": "dip"},
        "bounds": (24, 50),
        "tracking_uri": sqlite_uri,
        "workdir": tiny_dataset.parent,
    }
    # score = 1 - exp(-q/20), minus 0.5 for 30 <= q < 45: passes 0.75 at 28, 29 and >= 45
    reported = find_cheapest(
        tiny_dataset, "jpeg", "score", ">= 0.75", on_violation="report", **kwargs
    )
    assert not reported.monotone and reported.violations
    assert reported.value == 45  # what bisection alone finds
    assert "not monotone" in reported.answer
    scanned = find_cheapest(tiny_dataset, "jpeg", "score", ">= 0.75", **kwargs)
    assert scanned.value == 28
    assert "scan" in set(scanned.probes["step"])
    assert "not monotone" in scanned.answer


def test_bad_input_is_refused_before_any_run(tiny_dataset, sqlite_uri, tmp_path):
    def call(*args, **kw):
        kw.setdefault("tracking_uri", sqlite_uri)
        return find_cheapest(tiny_dataset, *args, **kw)

    with pytest.raises(InvalidParameterError, match="not understood"):
        call("jpeg", "ssim", "about 0.9")
    with pytest.raises(InvalidParameterError, match="bounds"):
        call("gaussian_noise", "ssim", ">= 0.9")
    with pytest.raises(InvalidParameterError, match="cheap_end"):
        call("resample", "ssim", ">= 0.9", parameter="factor", bounds=(0.1, 1.0))
    with pytest.raises(InvalidParameterError, match="fixed"):
        call("jpeg", "ssim", ">= 0.9", extra_train_params={"lr": [0.1, 0.01]})
    with pytest.raises(InvalidParameterError, match="sets"):
        call("jpeg", "ssim", ">= 0.9", repetitions=1, include_reference=False)
    # nothing was run: no experiment besides MLflow's Default, no modified copy
    from iqx.experiment import Tracker

    names = [e.name for e in Tracker(sqlite_uri).client.search_experiments()]
    assert names == ["Default"]
    assert not [p for p in tiny_dataset.parent.iterdir() if "#" in p.name]


def test_metric_not_logged_names_the_metrics_that_were(tiny_dataset, sqlite_uri):
    with pytest.raises(InvalidParameterError, match=r"'accuracy'.*ssim"):
        find_cheapest(
            tiny_dataset,
            "jpeg",
            "accuracy",
            ">= 0.9",
            task=MeasureTask(blind=(), reference=("ssim",)),
            tracking_uri=sqlite_uri,
            workdir=tiny_dataset.parent,
        )


@pytest.mark.parametrize(
    ("spec", "baseline", "op", "threshold"),
    [
        (0.9, None, ">=", 0.9),
        ("<= 0.1", None, "<=", 0.1),
        ("> 3", None, ">", 3.0),
        ("within 0.02 of baseline", 0.8, ">=", 0.78),
        ("within 2% of the baseline", 0.8, ">=", 0.784),
        ("within 2 %", -10.0, ">=", -10.2),
        (">= baseline - 0.05", 0.5, ">=", 0.45),
        ("<= baseline + 10%", 2.0, "<=", 2.2),
        (">= 90% of baseline", 0.6, ">=", 0.54),
    ],
)
def test_requirement_spellings(spec, baseline, op, threshold):
    req = Requirement.parse(spec)
    assert req.op == op
    assert req.relative == (baseline is not None)
    assert req.threshold(baseline) == pytest.approx(threshold)


def test_within_for_a_lower_is_better_metric_and_missing_baseline():
    req = Requirement.parse("within 0.1 of baseline", higher_is_better=False)
    assert (req.op, req.threshold(1.0)) == ("<=", pytest.approx(1.1))
    assert req.met(1.05, 1.1) and not req.met(1.2, 1.1)
    with pytest.raises(InvalidParameterError, match="baseline"):
        req.threshold(None)


def test_cheapest_setting_accepts_requirement_strings():
    table = pd.DataFrame(
        {
            "setting": ["original", "b", "c"],
            "bits_per_pixel": [8.0, 2.0, 1.0],
            "ssim": [1.0, 0.985, 0.97],
            "mse": [0.0, 2.0, 5.0],
        }
    )
    assert cheapest_setting(table, {"ssim": "within 2% of baseline"})["setting"] == "b"
    assert cheapest_setting(table, {"mse": "<= 5"})["setting"] == "c"
    assert cheapest_setting(table, {"mse": "< 5"})["setting"] == "b"
