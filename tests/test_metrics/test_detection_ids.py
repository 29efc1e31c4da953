"""Ground-truth annotation ids do not change COCO scores (pycocotools treats id 0 as "no match").

Provenance: pycocotools ``COCOeval.evaluateImg`` stores matched ground-truth ids in ``dtm``
with 0 meaning unmatched, so a matched ground truth of id 0 counts as a miss. Perfect
detections must score AP = 1 whatever the ids.
"""

from __future__ import annotations

import json

import pytest

from iqx.metrics.detection import coco_evaluate


@pytest.mark.parametrize("ids", [[0, 1, 2], [5, 5, 5], [None, None, None]])
def test_perfect_detections_score_one_whatever_the_ids(tmp_path, ids):
    boxes = [[10, 10, 20, 20], [50, 40, 15, 25], [5, 60, 30, 10]]
    anns = []
    for k, (box, i) in enumerate(zip(boxes, ids)):
        ann = {"image_id": 1, "category_id": 1, "bbox": box, "area": box[2] * box[3]}
        ann["iscrowd"] = 0
        if i is not None:
            ann["id"] = i
        anns.append(ann)
        _ = k
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100, "file_name": "a.png"}],
        "annotations": anns,
        "categories": [{"id": 1, "name": "car"}],
    }
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    preds = [{"image_id": 1, "category_id": 1, "bbox": b, "score": 0.9} for b in boxes]
    stats = coco_evaluate(preds, path)
    assert stats[0] == pytest.approx(1.0)  # AP 0.5:0.95
    assert stats[1] == pytest.approx(1.0)  # AP 0.5
