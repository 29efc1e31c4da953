"""Synthetic COCO datasets of many tiny images, for tests and benchmarks.

The images are real PNG files (a handful of distinct sizes, encoded once and copied), so
header reads and statistics run exactly as on a real dataset; generation takes seconds.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SIZES", "write_tiny_coco_dataset"]

#: (width, height) cycled over the images
SIZES = ((32, 24), (24, 32), (40, 40), (64, 16))


def write_tiny_coco_dataset(
    root: str | os.PathLike[str],
    n_images: int,
    *,
    objects_per_image: int = 2,
    n_categories: int = 5,
    seed: int = 0,
) -> dict[str, Any]:
    """Write ``root/images/img_XXXXXX.png`` plus ``root/annotations.json``.

    Image ``i`` has size ``SIZES[i % len(SIZES)]`` and ``objects_per_image`` boxes (with square
    polygon segmentations) of category ``1 + (i + k) % n_categories``.

    Returns
    -------
    dict
        The COCO dataset written.
    """
    from PIL import Image

    root = Path(root)
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    encoded = []
    for w, h in SIZES:
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format="PNG")
        encoded.append(buf.getvalue())
    images, anns = [], []
    for i in range(n_images):
        w, h = SIZES[i % len(SIZES)]
        name = f"img_{i:06d}.png"
        (images_dir / name).write_bytes(encoded[i % len(SIZES)])
        images.append({"id": i + 1, "file_name": name, "width": w, "height": h})
        for k in range(objects_per_image):
            bw, bh = 2 + (i + k) % 7, 3 + (i * 3 + k) % 5
            x, y = (i + 2 * k) % (w - bw), (i + k) % (h - bh)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": 1 + (i + k) % n_categories,
                    "bbox": [x, y, bw, bh],
                    "area": bw * bh,
                    "iscrowd": 0,
                    "segmentation": [[x, y, x + bw, y, x + bw, y + bh, x, y + bh]],
                }
            )
    data = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": c, "name": f"class{c}"} for c in range(1, n_categories + 1)],
    }
    (root / "annotations.json").write_text(json.dumps(data))
    return data
