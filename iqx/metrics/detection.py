"""COCO detection metrics of a training run's predictions (pycocotools' COCOeval).

:class:`BBDetectionMetrics` is IQUAFLOW's metric of the same name: ``apply(predictions,
gt_path)`` scores a COCO results file (a JSON list of detections, IQUAFLOW's
``output.json``) against a COCO ground-truth file and returns the 12 ``COCOeval.stats``
under IQUAFLOW's names (:data:`COCO_METRIC_NAMES`, in ``stats`` order):

=====  ==========================  ==================================================
index  name                        COCOeval summary line
=====  ==========================  ==================================================
0      ``ap_0.5-0.95_all``         AP @[IoU=0.50:0.95 | area=all | maxDets=100]
1      ``ap_0.5_all``              AP @[IoU=0.50 | area=all | maxDets=100]
2      ``ap_0.75_all``             AP @[IoU=0.75 | area=all | maxDets=100]
3      ``ap_0.5-0.95_small``       AP @[IoU=0.50:0.95 | area=small | maxDets=100]
4      ``ap_0.5-0.95_medium``      AP @[IoU=0.50:0.95 | area=medium | maxDets=100]
5      ``ap_0.5-0.95_large``       AP @[IoU=0.50:0.95 | area=large | maxDets=100]
6      ``ar_0.5-0.95_all_det_1``   AR @[IoU=0.50:0.95 | area=all | maxDets=1]
7      ``ar_0.5-0.95_all_det_10``  AR @[IoU=0.50:0.95 | area=all | maxDets=10]
8      ``ar_0.5-0.95_all``         AR @[IoU=0.50:0.95 | area=all | maxDets=100]
9      ``ar_0.5-0.95_small``       AR @[IoU=0.50:0.95 | area=small | maxDets=100]
10     ``ar_0.5-0.95_medium``      AR @[IoU=0.50:0.95 | area=medium | maxDets=100]
11     ``ar_0.5-0.95_large``       AR @[IoU=0.50:0.95 | area=large | maxDets=100]
=====  ==========================  ==================================================

``-1`` means "no ground truth in that area range" (COCOeval's convention). pycocotools'
printing is suppressed. Inputs are validated before pycocotools sees them, so broken files
raise :class:`~iqx.errors.AnnotationError` naming the file and the problem instead of an
``AssertionError`` or ``KeyError`` deep inside pycocotools.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from iqx.errors import AnnotationError, InvalidParameterError, PathNotFoundError
from iqx.metrics._base import RunMetric
from iqx.registry import register_metric

__all__ = ["COCO_METRIC_NAMES", "BBDetectionMetrics", "coco_evaluate"]

#: serialises pycocotools' chatty evaluation (see :func:`coco_evaluate`)
_QUIET_LOCK = threading.Lock()

#: IQUAFLOW's names of ``COCOeval.stats``, in order (iquaflow/metrics/detection_metrics.py)
COCO_METRIC_NAMES: tuple[str, ...] = (
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
)

_LIST_SHOWN = 5


def _read_json(path: str | Path, role: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise PathNotFoundError(f"{role} file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise AnnotationError(f"{role} file {path} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"{role} file {path} is not valid JSON: {exc}") from None


def _few(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in list(values)[:_LIST_SHOWN])
    more = len(values) - _LIST_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _check_gt(gt: Any, path: Path, iou_type: str) -> None:
    if not isinstance(gt, dict):
        raise AnnotationError(
            f"ground-truth file {path} must hold a COCO object (dict), got {type(gt).__name__}"
        )
    missing = [k for k in ("images", "annotations", "categories") if k not in gt]
    if missing:
        raise AnnotationError(f"ground-truth file {path} has no {', '.join(missing)} list")
    if not gt["images"]:
        raise AnnotationError(f"ground-truth file {path} lists no images")
    for i, ann in enumerate(gt["annotations"]):
        keys = ("image_id", "category_id", "bbox") + (
            ("segmentation",) if iou_type == "segm" else ()
        )
        lacking = [k for k in keys if k not in ann]
        if lacking:
            raise AnnotationError(
                f"ground-truth file {path}: annotation #{i} has no {', '.join(lacking)}"
            )


def _check_predictions(preds: Any, path: Path, gt: dict, gt_path: Path, iou_type: str) -> None:
    if isinstance(preds, dict) and "annotations" in preds:
        raise AnnotationError(
            f"predictions file {path} holds a COCO dataset object; expected a COCO results "
            "list [{image_id, category_id, bbox, score}, ...]"
        )
    if not isinstance(preds, list):
        raise AnnotationError(
            f"predictions file {path} must hold a JSON list of detections, got "
            f"{type(preds).__name__}"
        )
    need = ("image_id", "category_id", "score") + (
        ("segmentation",) if iou_type == "segm" else ("bbox",)
    )
    for i, det in enumerate(preds):
        if not isinstance(det, dict):
            raise AnnotationError(f"predictions file {path}: detection #{i} is not an object")
        lacking = [k for k in need if k not in det]
        if lacking:
            raise AnnotationError(
                f"predictions file {path}: detection #{i} has no {', '.join(lacking)}"
            )
        if iou_type == "bbox":
            box = det["bbox"]
            if not (isinstance(box, list | tuple) and len(box) == 4):
                raise AnnotationError(
                    f"predictions file {path}: detection #{i} bbox must be [x, y, w, h], got {box!r}"
                )
    image_ids = {img["id"] for img in gt["images"]}
    unknown_images = sorted({d["image_id"] for d in preds} - image_ids, key=str)
    if unknown_images:
        raise AnnotationError(
            f"predictions file {path} references {len(unknown_images)} image id(s) not in "
            f"{gt_path}: {_few(unknown_images)}"
        )
    cat_ids = {c["id"] for c in gt["categories"]}
    unknown_cats = sorted({d["category_id"] for d in preds} - cat_ids, key=str)
    if unknown_cats:
        raise AnnotationError(
            f"predictions file {path} references {len(unknown_cats)} category id(s) not in "
            f"{gt_path}: {_few(unknown_cats)}"
        )


def coco_evaluate(
    predictions: str | Path | list[dict],
    gt_path: str | Path,
    *,
    iou_type: Literal["bbox", "segm"] = "bbox",
) -> list[float]:
    """Run pycocotools' COCOeval quietly and return its 12 ``stats``.

    Parameters
    ----------
    predictions : path or list of dict
        COCO results file (JSON list of detections) or the list itself.
    gt_path : path
        COCO ground-truth file.
    iou_type : {"bbox", "segm"}
        Box IoU, or mask IoU from the polygons/RLE ``segmentation`` of both files.

    Raises
    ------
    PathNotFoundError
        If a file does not exist.
    AnnotationError
        Empty or broken JSON, missing keys, detections on unknown images or categories.
    """
    if iou_type not in ("bbox", "segm"):
        raise InvalidParameterError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt_path = Path(gt_path)
    gt = _read_json(gt_path, "ground-truth")
    _check_gt(gt, gt_path, iou_type)
    if isinstance(predictions, list):
        preds, pred_path = predictions, Path("<predictions list>")
    else:
        pred_path = Path(predictions)
        preds = _read_json(pred_path, "predictions")
    _check_predictions(preds, pred_path, gt, gt_path, iou_type)

    # COCOeval marks "unmatched" with id 0, so a ground-truth annotation whose id is 0 (or
    # missing, or repeated) silently lowers AP; ids do not affect scores: number them 1..N
    gt = {**gt, "annotations": [{**a, "id": i} for i, a in enumerate(gt["annotations"], 1)]}
    quiet = io.StringIO()
    # redirect_stdout swaps sys.stdout for the whole process: one evaluation at a time, so
    # concurrent threads neither lose their own output nor restore the wrong stream
    with _QUIET_LOCK, contextlib.redirect_stdout(quiet):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if preds:
            coco_dt = coco_gt.loadRes(copy.deepcopy(preds))  # loadRes edits dicts in place
        else:  # no detections at all: every AP/AR is 0 where there is ground truth
            coco_dt = COCO()
            coco_dt.dataset = {
                "images": list(gt["images"]),
                "categories": list(gt["categories"]),
                "annotations": [],
            }
            coco_dt.createIndex()
        evaluator = COCOeval(coco_gt, coco_dt, iou_type)
        evaluator.params.imgIds = sorted(coco_gt.getImgIds())
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return [float(v) for v in evaluator.stats]


@register_metric(
    "bbox_detection",
    summary="COCO detection AP/AR of a run's predictions (pycocotools COCOeval).",
    outputs=COCO_METRIC_NAMES,
    units={name: "1" for name in COCO_METRIC_NAMES},
    references=("Lin et al. (2014), Microsoft COCO", "pycocotools.cocoeval.COCOeval"),
)
class BBDetectionMetrics(RunMetric):
    """Bounding-box (or mask) COCO metrics of a run's predictions, as in IQUAFLOW.

    Parameters
    ----------
    iou_type : {"bbox", "segm"}
        ``"bbox"`` (default, IQUAFLOW's behaviour) or ``"segm"`` for mask IoU where both
        files carry polygons or RLE.

    Examples
    --------
    >>> metric = BBDetectionMetrics()                            # doctest: +SKIP
    >>> metric.apply("run/output.json", "ds/coco_annotations.json")["ap_0.5_all"]  # doctest: +SKIP
    1.0
    """

    id: ClassVar[str] = "bbox_detection"
    metric_names: ClassVar[tuple[str, ...]] = COCO_METRIC_NAMES

    def __init__(self, iou_type: Literal["bbox", "segm"] = "bbox") -> None:
        if iou_type not in ("bbox", "segm"):
            raise InvalidParameterError(f"iou_type must be 'bbox' or 'segm', got {iou_type!r}")
        self.iou_type = iou_type

    def apply(self, predictions: str | Path, gt_path: str | Path) -> dict[str, float]:
        """Score ``predictions`` (COCO results JSON) against ``gt_path`` (COCO JSON).

        Returns
        -------
        dict
            The 12 ``COCOeval.stats`` under :data:`COCO_METRIC_NAMES`.
        """
        stats = coco_evaluate(predictions, gt_path, iou_type=self.iou_type)
        return dict(zip(self.metric_names, stats, strict=True))
