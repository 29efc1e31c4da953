"""A small real aircraft detector, trained and evaluated as an iqx/IQUAFLOW training script.

Sliding 16x16 windows described by HOG (4x4-pixel cells, 2x2-cell blocks) and a 4x4 grid of
mean intensities, classified by logistic regression, then non-maximum suppression. It trains
on ``--trainds`` (COCO boxes in its ``annotations.json``) and writes its detections on
``--valds`` to ``output.json`` (a COCO results list, scored by iqx with
:class:`~iqx.metrics.BBDetectionMetrics`) and a few numbers to ``results.json``.

Usage (what iqx runs)::

    python detector_train.py --trainds TRAIN --valds VAL --outputpath OUT [--C 1.0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

WINDOW = 16  # pixels (the planted objects' box)
CELL = 4  # pixels per HOG cell: the window slides by one cell
BLOCKS = WINDOW // CELL - 1  # HOG blocks per window side


def read_gray(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def load(folder: str) -> tuple[dict, dict[int, np.ndarray]]:
    root = Path(folder)
    ann = next(p for p in sorted(root.glob("*.json")) if p.name != "iqx_manifest.json")
    coco = json.loads(ann.read_text())
    images = {im["id"]: read_gray(root / "images" / im["file_name"]) for im in coco["images"]}
    return coco, images


def features(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features of every window (rows) and the windows' top-left corners (pixels)."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy import ndimage
    from skimage.feature import hog

    img = ndimage.gaussian_filter(img, 1.0)  # HOG on pixel noise is noise
    blocks = hog(
        img,
        orientations=9,
        pixels_per_cell=(CELL, CELL),
        cells_per_block=(2, 2),
        feature_vector=False,
    )  # (by, bx, 2, 2, 9)
    by, bx = blocks.shape[:2]
    flat = blocks.reshape(by, bx, -1)
    win = sliding_window_view(flat, (BLOCKS, BLOCKS), axis=(0, 1))  # (ny, nx, 36, B, B)
    ny, nx = win.shape[:2]
    hog_f = win.reshape(ny, nx, -1)
    h, w = img.shape
    cells = img[: h // CELL * CELL, : w // CELL * CELL]
    cells = cells.reshape(h // CELL, CELL, w // CELL, CELL).mean(axis=(1, 3))
    cwin = sliding_window_view(cells, (WINDOW // CELL, WINDOW // CELL))[:ny, :nx]
    cwin = cwin.reshape(ny, nx, -1)
    inten = cwin - cwin.mean(axis=-1, keepdims=True)
    feats = np.concatenate([hog_f, inten * 4.0, cwin.std(axis=-1, keepdims=True)], axis=-1)
    iy, ix = np.mgrid[0:ny, 0:nx]
    corners = np.stack([ix.ravel() * CELL, iy.ravel() * CELL], axis=1)
    return feats.reshape(ny * nx, -1), corners


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``[x, y, w, h]`` box with many."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[0] + box[2], boxes[:, 0] + boxes[:, 2])
    y2 = np.minimum(box[1] + box[3], boxes[:, 1] + boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    return inter / (box[2] * box[3] + boxes[:, 2] * boxes[:, 3] - inter)


def training_set(coco: dict, images: dict[int, np.ndarray], rng: np.random.Generator):
    xs, ys = [], []
    for image_id, img in images.items():
        feats, corners = features(img)
        gt = np.array(
            [a["bbox"] for a in coco["annotations"] if a["image_id"] == image_id], dtype=float
        ).reshape(-1, 4)
        boxes = np.column_stack([corners, np.full((len(corners), 2), WINDOW)]).astype(float)
        best = np.zeros(len(boxes))
        for g in gt:
            best = np.maximum(best, iou(g, boxes))
        pos = np.flatnonzero(best >= 0.5)
        neg = np.flatnonzero(best < 0.2)
        neg = rng.choice(neg, size=min(len(neg), 25 * max(len(pos), 1)), replace=False)
        xs += [feats[pos], feats[neg]]
        ys += [np.ones(len(pos)), np.zeros(len(neg))]
    return np.concatenate(xs), np.concatenate(ys)


def detect(model, img: np.ndarray, threshold: float = 0.02, max_dets: int = 100) -> list:
    feats, corners = features(img)
    scores = model.predict_proba(feats)[:, 1]
    keep = np.flatnonzero(scores >= threshold)
    keep = keep[np.argsort(-scores[keep])]
    boxes = np.column_stack([corners, np.full((len(corners), 2), WINDOW)]).astype(float)
    chosen: list[int] = []
    for i in keep:  # greedy non-maximum suppression
        if chosen and iou(boxes[i], boxes[chosen]).max() > 0.2:
            continue
        chosen.append(int(i))
        if len(chosen) >= max_dets:
            break
    return [(boxes[i].tolist(), float(scores[i])) for i in chosen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainds", required=True)
    parser.add_argument("--valds", required=True)
    parser.add_argument("--outputpath", required=True)
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularization strength")
    parser.add_argument("--seed", type=int, default=None)
    args, _ = parser.parse_known_args()  # tolerate extra iqx arguments (--mlfuri ...)

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    coco, images = load(args.trainds)
    x, y = training_set(coco, images, rng)
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=args.C, max_iter=300, class_weight="balanced")
    )
    model.fit(x, y)
    train_seconds = time.perf_counter() - start

    _val_coco, val_images = load(args.valds)
    detections = []
    for image_id, img in val_images.items():
        for box, score in detect(model, img):
            detections.append({"image_id": image_id, "category_id": 1, "bbox": box, "score": score})
    out = Path(args.outputpath)
    (out / "output.json").write_text(json.dumps(detections))
    results = {
        "train_windows": len(y),
        "train_positives": int(y.sum()),
        "train_accuracy": float(model.score(x, y)),
        "detections_per_image": len(detections) / max(len(val_images), 1),
        "train_seconds": train_seconds,
    }
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
