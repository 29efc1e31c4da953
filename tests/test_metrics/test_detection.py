"""BBDetectionMetrics against pycocotools and IQUAFLOW's upstream expectations.

Provenance:
- IQUAFLOW 1.0.1 ``tests/test_metrics.py::TestExperimentInfo`` expects, for
  ``test_ml_models/coco_detect.json`` scored against
  ``test_datasets/ds_coco_dataset/coco_annotations.json``, the stats
  ``[1, 1, 1, 1, 1, 1, 0.7012..., 0.99503..., 1, 1, 1, 1]`` (shared/reference/iquaflow.md §5).
- The names and their order are IQUAFLOW's ``coco_eval_metrics_names``
  (iquaflow/metrics/detection_metrics.py).
- On sahi's aerial ``terrain_all_coco.json`` the predictions are derived deterministically
  here (jittered boxes, one dropped, one false positive, seeded scores) and the expected
  stats come from a direct pycocotools ``COCO``/``loadRes``/``COCOeval`` run in this file.
"""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest

from iqx.errors import AnnotationError, InvalidParameterError, PathNotFoundError
from iqx.metrics import COCO_METRIC_NAMES, BBDetectionMetrics

IQUAFLOW_NAMES = [
    "ap_0.5-0.95_all",
    "ap_0.5_all",
    "ap_0.75_all",
    "ap_0.5-0.95_small",
    "ap_0.5-0.95_medium",
    "ap_0.5-0.95_large",
    "ar_0.5-0.95_all_det_1",
    "ar_0.5-0.95_all_det_10",
    "ar_0.5-0.95_all",
    "ar_0.5-0.95_small",
    "ar_0.5-0.95_medium",
    "ar_0.5-0.95_large",
]


@pytest.fixture
def coco_files(shared_data):
    root = shared_data / "iquaflow_fixtures"
    return (
        root / "test_ml_models" / "coco_detect.json",
        root / "test_datasets" / "ds_coco_dataset" / "coco_annotations.json",
    )


def _pycocotools_stats(pred_path, gt_path, iou_type="bbox"):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        dt = gt.loadRes(str(pred_path))
        ev = COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return list(ev.stats)


def test_names_are_iquaflows():
    assert list(COCO_METRIC_NAMES) == IQUAFLOW_NAMES
    assert list(BBDetectionMetrics().metric_names) == IQUAFLOW_NAMES


def test_iquaflow_upstream_expectation(coco_files, capfd):
    pred, gt = coco_files
    result = BBDetectionMetrics().apply(pred, gt)
    assert list(result) == IQUAFLOW_NAMES
    expected = [1, 1, 1, 1, 1, 1, 0.7012303556658395, 0.9950372208436726, 1, 1, 1, 1]
    np.testing.assert_allclose([result[k] for k in IQUAFLOW_NAMES], expected, rtol=1e-12)
    np.testing.assert_array_equal([result[k] for k in IQUAFLOW_NAMES], _pycocotools_stats(pred, gt))
    out, err = capfd.readouterr()
    assert "Average Precision" not in out + err
    assert "index created" not in out + err


def test_segm_iou(coco_files):
    pred, gt = coco_files
    result = BBDetectionMetrics(iou_type="segm")(pred, gt)
    np.testing.assert_array_equal(
        [result[k] for k in IQUAFLOW_NAMES], _pycocotools_stats(pred, gt, "segm")
    )


def _jittered_predictions(gt: dict, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    preds = []
    for i, ann in enumerate(gt["annotations"]):
        if i == 3:  # one missed object
            continue
        x, y, w, h = ann["bbox"]
        jit = rng.normal(0, 0.08, size=4) * [w, h, w, h]
        preds.append(
            {
                "image_id": ann["image_id"],
                "category_id": ann["category_id"],
                "bbox": [
                    float(x + jit[0]),
                    float(y + jit[1]),
                    float(w + jit[2]),
                    float(h + jit[3]),
                ],
                "score": float(rng.uniform(0.3, 1.0)),
            }
        )
    first = gt["annotations"][0]
    preds.append(  # a confident false positive
        {
            "image_id": first["image_id"],
            "category_id": first["category_id"],
            "bbox": [1.0, 1.0, 30.0, 30.0],
            "score": 0.99,
        }
    )
    return preds


def test_sahi_aerial_equals_pycocotools(shared_data, tmp_path, capsys):
    gt_path = shared_data / "sahi_aerial_coco" / "terrain_all_coco.json"
    gt = json.loads(gt_path.read_text())
    pred_path = tmp_path / "output.json"
    pred_path.write_text(json.dumps(_jittered_predictions(gt)))
    result = BBDetectionMetrics().apply(str(pred_path), str(gt_path))
    expected = _pycocotools_stats(pred_path, gt_path)
    np.testing.assert_array_equal([result[k] for k in IQUAFLOW_NAMES], expected)
    assert 0 < result["ap_0.5_all"] < 1
    assert capsys.readouterr().out == ""


def test_no_detections_scores_zero(coco_files, tmp_path):
    _, gt = coco_files
    empty = tmp_path / "output.json"
    empty.write_text("[]")
    result = BBDetectionMetrics().apply(empty, gt)
    assert all(v == 0.0 for v in result.values())


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("[{", "not valid JSON"),
        ('{"a": 1}', "must hold a JSON list"),
        ('[{"image_id": 1}]', "detection #0 has no category_id, score, bbox"),
        (
            '[{"image_id": 1, "category_id": 1, "score": 1, "bbox": [1, 2]}]',
            r"bbox must be \[x, y, w, h\]",
        ),
    ],
)
def test_broken_predictions(coco_files, tmp_path, content, match):
    _, gt = coco_files
    bad = tmp_path / "output.json"
    bad.write_text(content)
    with pytest.raises(AnnotationError, match=match) as info:
        BBDetectionMetrics().apply(bad, gt)
    assert str(bad) in str(info.value)


def test_unknown_images_and_categories(coco_files, tmp_path):
    pred, gt = coco_files
    detections = json.loads(pred.read_text())
    bad_img = [dict(d) for d in detections]
    bad_img[0]["image_id"] = 999999999
    path = tmp_path / "bad_img.json"
    path.write_text(json.dumps(bad_img))
    with pytest.raises(
        AnnotationError, match=r"bad_img\.json.*image id.*coco_annotations.*999999999"
    ):
        BBDetectionMetrics().apply(path, gt)
    bad_cat = [dict(d) for d in detections]
    bad_cat[2]["category_id"] = 4242
    path = tmp_path / "bad_cat.json"
    path.write_text(json.dumps(bad_cat))
    with pytest.raises(AnnotationError, match=r"bad_cat\.json.*category id.*4242"):
        BBDetectionMetrics().apply(path, gt)


def test_broken_ground_truth(coco_files, tmp_path):
    pred, _ = coco_files
    gt = tmp_path / "gt.json"
    gt.write_text("")
    with pytest.raises(AnnotationError, match=r"ground-truth file .*gt\.json is empty"):
        BBDetectionMetrics().apply(pred, gt)
    gt.write_text('{"images": []}')
    with pytest.raises(AnnotationError, match="no annotations, categories"):
        BBDetectionMetrics().apply(pred, gt)
    with pytest.raises(PathNotFoundError, match=r"nope\.json"):
        BBDetectionMetrics().apply(pred, tmp_path / "nope.json")
    with pytest.raises(InvalidParameterError):
        BBDetectionMetrics(iou_type="keypoints")


def test_registered():
    from iqx.registry import metrics

    reg = metrics.get("bbox_detection")
    assert reg.target is BBDetectionMetrics
    assert list(reg.outputs) == IQUAFLOW_NAMES
