"""COCO evaluation: iqx.metrics.BBDetectionMetrics vs a plain pycocotools run, same files.

Uses IQUAFLOW's fixture (coco_detect.json vs ds_coco_dataset/coco_annotations.json) from the
shared data folder when present, else a synthetic COCO set written to the cache folder.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import numpy as np

from benchmarks.common import SMALL, cache_dir


def _synthetic(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    n_img = 20 if SMALL else 500
    images = [
        {"id": i, "file_name": f"{i}.png", "width": 1000, "height": 1000} for i in range(n_img)
    ]
    anns, preds = [], []
    for i in range(n_img):
        for _ in range(20):
            x, y = rng.uniform(0, 900, 2)
            w, h = rng.uniform(8, 100, 2)
            cat = int(rng.integers(1, 4))
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            j = rng.normal(0, 3, 4)
            preds.append(
                {
                    "image_id": i,
                    "category_id": cat,
                    "bbox": [x + j[0], y + j[1], w + j[2], h + j[3]],
                    "score": float(rng.uniform()),
                }
            )
    cats = [{"id": c, "name": str(c)} for c in (1, 2, 3)]
    gt_path, pred_path = root / "gt.json", root / "pred.json"
    gt_path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    pred_path.write_text(json.dumps(preds))
    return pred_path, gt_path


def _files() -> tuple[Path, Path]:
    shared = Path(
        os.environ.get("IQX_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    fx = shared / "iquaflow_fixtures"
    if (fx / "test_ml_models" / "coco_detect.json").is_file() and not os.environ.get(
        "IQX_BENCH_SYNTHETIC_COCO"
    ):
        return (
            fx / "test_ml_models" / "coco_detect.json",
            fx / "test_datasets" / "ds_coco_dataset" / "coco_annotations.json",
        )
    return _synthetic(cache_dir())


class COCOEval:
    """Both sides read the two JSON files and run evaluate/accumulate/summarize."""

    def setup(self) -> None:
        # import outside the timed region: the comparison is the evaluation, not import time
        import pycocotools.cocoeval  # noqa: F401

        from iqx.metrics import BBDetectionMetrics

        self.metric = BBDetectionMetrics()
        self.pred, self.gt = _files()

    def time_iqx_bbox_detection(self) -> None:
        self.metric.apply(self.pred, self.gt)

    def time_pycocotools(self) -> None:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        with contextlib.redirect_stdout(io.StringIO()):
            gt = COCO(str(self.gt))
            ev = COCOeval(gt, gt.loadRes(str(self.pred)), "bbox")
            ev.evaluate()
            ev.accumulate()
            ev.summarize()
