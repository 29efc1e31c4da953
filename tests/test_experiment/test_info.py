"""``ExperimentInfo``: runs dict, get_df semantics, metrics applied back into runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from skimage.metrics import peak_signal_noise_ratio

from iqx.errors import ExperimentError, InvalidParameterError
from iqx.experiment import ExperimentInfo, ExperimentSetup, PythonScriptTaskExecution
from iqx.metrics.detection import BBDetectionMetrics

from .conftest import SCRIPTS, tiny_copy_and_store

LRS = (0.1, 0.3)


def _accuracy(modifier: str, lr: float) -> float:
    """What train_probe.py reports: 1 - lr on the reference, half that on modified sets."""
    return (1.0 if modifier == "reference" else 0.5) * (1 - lr)


@pytest.fixture(scope="module")
def study(tmp_path_factory, _tiny_source):
    """2 datasets x 2 learning rates x 2 repetitions (FINISHED) + 1 FAILED run."""
    data, uri = tiny_copy_and_store(tmp_path_factory, _tiny_source, "info")
    common = dict(cloud_options={"tracking_uri": uri}, max_parallel=1, log_interval=0)
    task = PythonScriptTaskExecution(SCRIPTS / "train_probe.py")
    ExperimentSetup(
        "study",
        task,
        data,
        ["jpeg:quality=30"],
        extra_train_params={"lr": list(LRS)},
        repetitions=2,
        include_reference=True,
        **common,
    ).execute()
    failed = ExperimentSetup(
        "study", task, data, ["jpeg:quality=30"], extra_train_params={"mode": "crash"}, **common
    ).execute()
    assert len(failed.failed) == 1
    return uri, data


def test_runs_dict(study):
    uri, _ = study
    info = ExperimentInfo("study", uri)
    assert len(info.runs) == 9
    # names shared by several runs become name, name_1, ... (oldest first)
    assert {n for n in info.runs if n.startswith("tiny#")} == {
        "tiny#jpeg_q30",
        *(f"tiny#jpeg_q30_{i}" for i in range(1, 5)),
    }
    assert {n for n in info.runs if "#" not in n} == {"tiny", "tiny_1", "tiny_2", "tiny_3"}
    statuses = [r["run_status"] for r in info.runs.values()]
    assert statuses.count("FINISHED") == 8 and statuses.count("FAILED") == 1
    run = info.runs["tiny"]
    assert set(run) == {
        "run_id",
        "run_status",
        "params_dict",
        "metrics_dict",
        "artifact_path",
        "output_pred_path",
    }
    assert run["params_dict"]["ds_name"] == "tiny" and run["metrics_dict"]["loss"] == 0.25
    assert Path(run["output_pred_path"]).is_file()  # local store: a local path
    assert json.loads(Path(run["output_pred_path"]).read_text()) == []


def test_unknown_experiment(study):
    uri, _ = study
    with pytest.raises(ExperimentError, match="no experiment named 'nope'"):
        ExperimentInfo("nope", uri)
    # cloud_options as in ExperimentSetup
    assert len(ExperimentInfo("study", cloud_options={"tracking_uri": uri}).runs) == 9


def test_get_df_flat(study):
    uri, _ = study
    info = ExperimentInfo("study", uri)
    df = info.get_df(["modifier", "quality", "lr", "ds_name"], ["accuracy", "loss", "optimizer"])
    assert list(df.columns) == [
        "name",
        "ds_modifier",
        "ds_quality",
        "ds_lr",
        "ds_name",
        "accuracy",
        "loss",
        "optimizer",
    ]
    assert len(df) == 8  # FINISHED runs only
    for row in df.itertuples():
        assert row.accuracy == pytest.approx(_accuracy(row.ds_modifier, row.ds_lr))
    assert (df["loss"] == 0.25).all()  # the last step of [1, 0.5, 0.25]
    assert (df["optimizer"] == "sgd").all()  # a param, as a metric's fallback
    # numbers in params are numbers; the reference has no quality
    assert df["ds_lr"].dtype == float and set(df["ds_lr"]) == set(LRS)
    assert set(df.loc[df.ds_modifier == "jpeg_q30", "ds_quality"]) == {30}
    assert df.loc[df.ds_modifier == "reference", "ds_quality"].isna().all()
    # a metric no run has: NaN, or no rows with dropna
    assert info.get_df(["modifier"], ["accuracy", "absent"]).empty
    loose = info.get_df(["modifier"], ["accuracy", "absent"], dropna=False)
    assert len(loose) == 8 and loose["absent"].isna().all()
    cast = info.get_df(
        ["modifier", "repetition"],
        ["accuracy"],
        fields_to_float_lst=["ds_repetition"],
        fields_to_int_lst=["accuracy"],
    )
    assert cast["ds_repetition"].dtype == float and cast["accuracy"].dtype == int
    with pytest.raises(InvalidParameterError, match="no column 'x'"):
        info.get_df(["modifier"], ["accuracy"], fields_to_float_lst=["x"])


def test_get_df_grouped(study):
    uri, _ = study
    info = ExperimentInfo("study", uri)
    by_lr = info.get_df(["modifier", "lr"], ["accuracy", "loss"], grouped=["modifier", "lr"])
    assert list(by_lr.columns) == [
        ("accuracy", "mean"),
        ("accuracy", "std"),
        ("loss", "mean"),
        ("loss", "std"),
    ]
    assert by_lr.index.names == ["ds_modifier", "ds_lr"]
    for (modifier, lr), row in by_lr.iterrows():
        assert row[("accuracy", "mean")] == pytest.approx(_accuracy(modifier, lr))
        assert row[("accuracy", "std")] == pytest.approx(0.0)  # deterministic repetitions
    # one group per modifier: mean and sample std over its 4 runs (2 lr x 2 repetitions)
    by_mod = info.get_df(["modifier", "lr"], ["accuracy"], grouped="modifier")
    for modifier, row in by_mod.iterrows():
        values = [_accuracy(modifier, lr) for lr in LRS for _ in range(2)]
        assert row[("accuracy", "mean")] == pytest.approx(np.mean(values))
        assert row[("accuracy", "std")] == pytest.approx(np.std(values, ddof=1))
    # the reference (no quality param) is a group of its own
    by_q = info.get_df(["quality"], ["accuracy"], grouped=["quality"])
    assert len(by_q) == 2 and by_q.index.isna().sum() == 1
    with pytest.raises(InvalidParameterError, match="cannot group by"):
        info.get_df(["modifier"], ["accuracy"], grouped=["lr"])
    with pytest.raises(InvalidParameterError, match="not numbers"):
        info.get_df(["modifier"], ["optimizer"], grouped=["modifier"])


def test_apply_metric_per_run(study):
    uri, _ = study

    class CountPredictions:  # IQUAFLOW's Metric interface, nothing more
        def __init__(self) -> None:
            self.seen: list[str] = []

        def apply(self, predictions: str, gt_path: str) -> dict:
            self.seen.append(predictions)
            return {"n_predictions": len(json.loads(Path(predictions).read_text())), "gt": 7}

    metric = CountPredictions()
    info = ExperimentInfo("study", uri)
    runs = info.apply_metric_per_run(metric, "unused")
    assert len(metric.seen) == 8 and all(p.endswith("output.json") for p in metric.seen)
    for run in runs.values():
        logged = {k: run["metrics_dict"].get(k) for k in ("n_predictions", "gt")}
        if run["run_status"] == "FINISHED":
            assert logged == {"n_predictions": 0.0, "gt": 7.0}
        else:
            assert logged == {"n_predictions": None, "gt": None}
    # logged into MLflow, not only into this object
    again = ExperimentInfo("study", uri).get_df(["modifier"], ["n_predictions", "gt"])
    assert len(again) == 8 and (again["gt"] == 7).all()


def test_image_metrics_come_from_the_run_params(study):
    uri, data = study
    info = ExperimentInfo("study", uri)
    runs = info.apply_image_metrics_per_run(blind=("snr",), reference=("psnr", "ssim"))
    finished = [r for r in runs.values() if r["run_status"] == "FINISHED"]
    modified = [r for r in finished if r["params_dict"]["modifier"] == "jpeg_q30"]
    reference = [r for r in finished if r["params_dict"]["modifier"] == "reference"]
    # PSNR of the images the run was given (ds_path) against the reference, by file name
    ds_path = Path(modified[0]["params_dict"]["ds_path"])
    values = []
    for name in ("scene_01.tif", "scene_02.tif"):
        with (
            rasterio.open(data / "images" / name) as a,
            rasterio.open(ds_path / "images" / name) as b,
        ):
            values.append(peak_signal_noise_ratio(a.read(), b.read(), data_range=255))
    for run in modified:
        assert run["metrics_dict"]["img_psnr"] == pytest.approx(np.mean(values), rel=1e-9)
        assert 0 < run["metrics_dict"]["img_ssim"] < 1
    for run in reference:
        assert "img_psnr" not in run["metrics_dict"]  # infinite: left out
        assert run["metrics_dict"]["img_ssim"] == 1.0
    snrs = {r["metrics_dict"]["img_snr"] for r in modified}
    assert len(snrs) == 1 and np.isfinite(snrs.pop())  # one dataset measured, logged to all


def test_bbox_detection_metric_per_run(tiny_dataset, sqlite_uri, tmp_path):
    gt = {
        "images": [
            {"id": i, "file_name": f"scene_0{i}.tif", "width": 96, "height": 96} for i in (1, 2)
        ],
        "categories": [{"id": 1, "name": "parcel"}],
        "annotations": [
            {
                "id": k + 1,  # COCO ids start at 1 (pycocotools treats 0 as unmatched)
                "image_id": 1 + k % 2,
                "category_id": 1,
                "bbox": [5 + 10 * k, 8, 12, 14],
                "area": 168,
                "iscrowd": 0,
            }
            for k in range(4)
        ],
    }
    gt_path = tmp_path / "coco_gt.json"
    gt_path.write_text(json.dumps(gt))
    ExperimentSetup(
        "det",
        PythonScriptTaskExecution(SCRIPTS / "coco_probe.py"),
        tiny_dataset,
        [None],
        extra_train_params={"gt": str(gt_path), "shift": [0, 40]},
        cloud_options={"tracking_uri": sqlite_uri},
        max_parallel=1,
        log_interval=0,
    ).execute()
    info = ExperimentInfo("det", sqlite_uri)
    info.apply_metric_per_run(BBDetectionMetrics(), gt_path)
    df = info.get_df(["shift"], ["ap_0.5_all", "ap_0.5-0.95_all", "n_detections"])
    by_shift = df.set_index("ds_shift")
    assert by_shift.loc[0, "ap_0.5-0.95_all"] == 1.0  # perfect predictions
    assert by_shift.loc[40, "ap_0.5_all"] == 0.0  # boxes moved off their objects
    assert (df["n_detections"] == 4).all()
    assert isinstance(df, pd.DataFrame)
