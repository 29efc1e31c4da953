"""A detection "model" following IQUAFLOW's contract: it predicts the ground truth.

``--gt`` is a COCO ground-truth file; ``output.json`` gets one detection (score 1) per
annotation, with every box shifted by ``--shift`` pixels (0: perfect predictions).
"""

import argparse
import json
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("--trainds", required=True)
parser.add_argument("--outputpath", required=True)
parser.add_argument("--gt", required=True)
parser.add_argument("--shift", type=float, default=0.0)
args, _ = parser.parse_known_args()

gt = json.loads(Path(args.gt).read_text())
detections = []
for ann in gt["annotations"]:
    x, y, w, h = ann["bbox"]
    detections.append(
        {
            "image_id": ann["image_id"],
            "category_id": ann["category_id"],
            "bbox": [x + args.shift, y + args.shift, w, h],
            "score": 1.0,
        }
    )
out = Path(args.outputpath)
(out / "output.json").write_text(json.dumps(detections))
(out / "results.json").write_text(json.dumps({"n_detections": len(detections)}))
