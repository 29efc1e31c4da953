"""Hand-built datasets with known faults for the annotation tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

#: (file name, width, height) of the three images of the small COCO dataset
IMAGES = (("a.png", 40, 30), ("b.jpg", 50, 20), ("c.tif", 16, 16))


def _box(ann_id: int, image_id: int, category_id: int, bbox: list[int], polygon: bool = True):
    """A COCO box annotation; ``area`` is the box's and ``polygon`` adds the box's outline
    as its segmentation."""
    x, y, w, h = bbox
    ann = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": bbox,
        "area": w * h,
        "iscrowd": 0,
    }
    if polygon:
        ann["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    return ann


def base_coco() -> dict:
    """A valid COCO dataset over :data:`IMAGES` (2 categories, 4 annotations)."""
    return {
        "info": {"description": "hand-built"},
        "images": [
            {"id": i + 1, "file_name": n, "width": w, "height": h}
            for i, (n, w, h) in enumerate(IMAGES)
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "house"}],
        "annotations": [
            _box(1, 1, 1, [1, 2, 10, 5]),  # area 50, segmentation [[1, 2, 11, 2, 11, 7, 1, 7]]
            _box(2, 1, 2, [20, 10, 4, 8]),
            _box(3, 2, 1, [0, 0, 6, 3]),
            _box(4, 3, 2, [2, 2, 3, 3], polygon=False),
        ],
    }


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name, w, h in IMAGES:
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(folder / name)


@pytest.fixture
def make_coco(tmp_path):
    """``make_coco(mutate=None)`` -> dataset folder with images/ and annotations.json."""
    counter = [0]

    def _make(mutate=None, data=None):
        counter[0] += 1
        root = tmp_path / f"ds{counter[0]}"
        write_images(root / "images")
        d = copy.deepcopy(data if data is not None else base_coco())
        if mutate is not None:
            mutate(d, root)
        (root / "annotations.json").write_text(json.dumps(d))
        return root

    return _make
