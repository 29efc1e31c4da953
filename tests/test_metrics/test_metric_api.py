"""The Metric API: users' array metrics and run metrics register and run like built-ins."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import dask.array as da
import numpy as np
import pytest

import iqx.registry as registry_module
from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.metrics import ArrayMetric, Metric, RunMetric
from iqx.registry import Registry, register_metric
from iqx.testing.laziness import raise_if_dask_computes


@register_metric("test_api_mean_abs_error", summary="Mean absolute difference (test).")
class MeanAbsError(ArrayMetric):
    """Full-reference array metric: mean |test - reference|."""

    id = "test_api_mean_abs_error"
    metric_names = ("mae",)
    requires_reference = True

    def compute(self, image, reference=None):
        return {"mae": abs(image.astype("f8") - reference).mean()}


@register_metric("test_api_brightness")
class Brightness(ArrayMetric):
    """No-reference array metric: mean and max."""

    id = "test_api_brightness"
    metric_names = ("mean", "max")

    def compute(self, image, reference=None):
        return {"mean": image.mean(), "max": image.max()}


@register_metric("test_api_count_predictions")
class CountPredictions(RunMetric):
    """Run metric: number of detections and of ground-truth annotations."""

    id = "test_api_count_predictions"
    metric_names = ("n_pred", "n_gt")

    def apply(self, predictions, gt_path):
        with open(predictions) as f:
            preds = json.load(f)
        with open(gt_path) as f:
            gt = json.load(f)
        return {"n_pred": float(len(preds)), "n_gt": float(len(gt["annotations"]))}


class WrongKeys(RunMetric):
    id = "wrong"
    metric_names = ("a",)

    def apply(self, predictions, gt_path):
        return {"b": 1.0}


def test_array_metric_registered_and_lazy():
    from iqx.registry import metrics

    cls = metrics.get("test_api_mean_abs_error").target
    assert cls is MeanAbsError
    assert metrics.get("test_api_mean_abs_error").summary == "Mean absolute difference (test)."
    ref = da.zeros((2, 30, 30), chunks=10)
    test = da.ones((2, 30, 30), chunks=15)
    with raise_if_dask_computes():
        out = cls()(test, reference=ref)
    assert isinstance(out["mae"].data, da.Array)
    assert float(out["mae"]) == 1.0
    assert out.attrs["metric"] == "test_api_mean_abs_error"
    nr = metrics.get("test_api_brightness").target()(np.arange(12.0).reshape(3, 4))
    assert float(nr["mean"]) == 5.5 and float(nr["max"]) == 11.0


def test_array_metric_errors():
    with pytest.raises(InvalidParameterError, match="needs a reference"):
        MeanAbsError()(np.zeros((4, 4)))
    with pytest.raises(ShapeMismatchError):
        MeanAbsError()(np.zeros((4, 4)), reference=np.zeros((4, 5)))


def test_run_metric_registered(tmp_path):
    from iqx.registry import metrics

    pred = tmp_path / "output.json"
    pred.write_text(json.dumps([{"image_id": 1}, {"image_id": 2}]))
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"annotations": [{}, {}, {}]}))
    metric = metrics.get("test_api_count_predictions").target()
    assert isinstance(metric, Metric)
    assert metric.name == "test_api_count_predictions"
    assert metric.apply(str(pred), str(gt)) == {"n_pred": 2.0, "n_gt": 3.0}
    assert metric(pred, gt) == {"n_pred": 2.0, "n_gt": 3.0}
    with pytest.raises(InvalidParameterError, match=r"missing \['a'\], unexpected \['b'\]"):
        WrongKeys()(pred, gt)


def test_entry_point_plugins(monkeypatch):
    """Plugins in the ``iqx.metrics`` group register under the entry point's name."""
    eps = [
        EntryPoint("plugin_mae", "tests.test_metrics.test_metric_api:MeanAbsError", "iqx.metrics"),
        EntryPoint(
            "plugin_count", "tests.test_metrics.test_metric_api:CountPredictions", "iqx.metrics"
        ),
    ]
    monkeypatch.setattr(
        registry_module, "entry_points", lambda group: eps if group == "iqx.metrics" else []
    )
    fresh = Registry("metric", (), "iqx.metrics")
    assert fresh.get("plugin_mae").target.__name__ == "MeanAbsError"
    assert fresh.get("plugin_count").target.__name__ == "CountPredictions"
    assert fresh.get("plugin_mae").source.startswith("plugin:")


def test_builtins_follow_the_api():
    from iqx.metrics import BBDetectionMetrics

    assert issubclass(BBDetectionMetrics, RunMetric)
    assert BBDetectionMetrics().name == "bbox_detection"
