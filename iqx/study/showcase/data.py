"""Data of the showcase, generated or shipped with a package (no download).

- :func:`write_digits_datasets`: scikit-learn's bundled 8x8 digits as two IQUAFLOW datasets
  (train, val), each one mosaic PNG of 8x8 tiles (one modified image per dataset instead of
  hundreds of tiny files: Gaussian noise on the mosaic is noise on every digit) and
  ``labels.json`` (the digit of each tile, row-major).
- :func:`write_aerial_datasets`: aerial-like scenes with planted aircraft (and bright
  rectangular distractors) and their COCO annotations, train and val.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OBJECT_SIZE", "TILE", "write_aerial_datasets", "write_digits_datasets"]

#: edge of one digit tile in the mosaics (pixels)
TILE = 8
#: edge of the square box around a planted aircraft (pixels)
OBJECT_SIZE = 16
_STAMP = ".iqx_showcase_params"


def _fresh(folder: Path, params: dict[str, Any]) -> bool:
    stamp = folder / _STAMP
    return stamp.is_file() and json.loads(stamp.read_text()) == params


def _stamp(folder: Path, params: dict[str, Any]) -> None:
    tmp = folder / (_STAMP + ".tmp")
    tmp.write_text(json.dumps(params))
    tmp.replace(folder / _STAMP)


def _save_png(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    tmp = path.with_name(path.name + ".tmp.png")
    Image.fromarray(array).save(tmp, format="PNG")
    tmp.replace(path)


def write_digits_datasets(
    root: str | Path, *, n_digits: int = 1797, val_fraction: float = 0.3, seed: int = 0
) -> tuple[Path, Path]:
    """Write ``root/digits_train`` and ``root/digits_val`` (scikit-learn's 8x8 digits).

    Pixels are scaled from 0-16 to 0-255 (uint8). Existing folders written with the same
    parameters are reused.

    Returns
    -------
    (Path, Path)
        The train and val dataset folders.
    """
    from sklearn.datasets import load_digits

    root = Path(root)
    params = {"n_digits": n_digits, "val_fraction": val_fraction, "seed": seed, "v": 1}
    folders = (root / "digits_train", root / "digits_val")
    if all(_fresh(f, params) for f in folders):
        return folders
    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))[:n_digits]
    images = np.clip(np.rint(digits.images[order] * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    labels = digits.target[order]
    n_val = max(1, round(len(order) * val_fraction))
    for folder, sel in zip(folders, (slice(n_val, None), slice(0, n_val))):
        tiles, y = images[sel], labels[sel]
        cols = 40
        rows = -(-len(tiles) // cols)
        mosaic = np.zeros((rows * TILE, cols * TILE), np.uint8)
        for i, tile in enumerate(tiles):
            r, c = divmod(i, cols)
            mosaic[r * TILE : (r + 1) * TILE, c * TILE : (c + 1) * TILE] = tile
        (folder / "images").mkdir(parents=True, exist_ok=True)
        _save_png(mosaic, folder / "images" / "digits.png")
        doc = {"tile": TILE, "columns": cols, "labels": {"digits.png": [int(v) for v in y]}}
        (folder / "labels.json").write_text(json.dumps(doc))
        _stamp(folder, params)
    return folders


def _aircraft(size: int, angle: float) -> np.ndarray:
    """A bright aircraft silhouette (fuselage, wings, tail) in a ``size`` x ``size`` patch."""
    c = (size - 1) / 2.0
    yy, xx = np.mgrid[0:size, 0:size].astype(float) - c
    u = xx * np.cos(angle) + yy * np.sin(angle)  # along the fuselage
    v = -xx * np.sin(angle) + yy * np.cos(angle)
    body = (np.abs(u) <= 7) & (np.abs(v) <= 1.3)
    wings = (np.abs(u + 1) <= 1.8) & (np.abs(v) <= 7)
    tail = (np.abs(u - 5.5) <= 1.0) & (np.abs(v) <= 3.2)
    return (body | wings | tail).astype(float)


def _scene(size: int, n_objects: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    from scipy import ndimage

    field = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 6) * 60
    img = 100 + field + ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 1.2) * 6
    s = OBJECT_SIZE
    for _ in range(n_objects):  # distractors: bright buildings of similar size
        h, w = rng.integers(5, 14, 2)
        y, x = rng.integers(0, size - 14, 2)
        img[y : y + h, x : x + w] += rng.uniform(25, 45)
    boxes: list[list[int]] = []
    tries = 0
    while len(boxes) < n_objects and tries < 500:
        tries += 1
        y, x = (int(v) for v in rng.integers(2, size - s - 2, 2))
        if any(abs(y - b[1]) < s + 2 and abs(x - b[0]) < s + 2 for b in boxes):
            continue
        shape = _aircraft(s, rng.uniform(0, 2 * np.pi))
        img[y : y + s, x : x + s] += shape * rng.uniform(40, 55)
        boxes.append([x, y, s, s])
    img = ndimage.gaussian_filter(img, 0.7) + rng.normal(0, 2.5, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), boxes


def write_aerial_datasets(
    root: str | Path,
    *,
    n_train: int = 6,
    n_val: int = 4,
    size: int = 256,
    objects_per_image: int = 10,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write ``root/aerial_train`` and ``root/aerial_val``: scenes with planted aircraft.

    Each scene (uint8 PNG, ``size`` x ``size``) has a textured background, bright
    rectangular distractors and ``objects_per_image`` aircraft of random heading, boxed by
    ``OBJECT_SIZE`` x ``OBJECT_SIZE`` COCO annotations (``annotations.json``, category
    ``aircraft``). Existing folders written with the same parameters are reused.

    Returns
    -------
    (Path, Path)
        The train and val dataset folders.
    """
    root = Path(root)
    params = {
        "n_train": n_train,
        "n_val": n_val,
        "size": size,
        "objects": objects_per_image,
        "seed": seed,
        "v": 1,
    }
    folders = (root / "aerial_train", root / "aerial_val")
    if all(_fresh(f, params) for f in folders):
        return folders
    rng = np.random.default_rng(seed)
    for folder, n in zip(folders, (n_train, n_val)):
        (folder / "images").mkdir(parents=True, exist_ok=True)
        images, anns = [], []
        for i in range(n):
            img, boxes = _scene(size, objects_per_image, rng)
            name = f"scene_{i + 1:02d}.png"
            _save_png(img, folder / "images" / name)
            images.append({"id": i + 1, "file_name": name, "width": size, "height": size})
            for box in boxes:
                anns.append(
                    {
                        "id": len(anns) + 1,
                        "image_id": i + 1,
                        "category_id": 1,
                        "bbox": box,
                        "area": box[2] * box[3],
                        "iscrowd": 0,
                    }
                )
        doc = {
            "images": images,
            "annotations": anns,
            "categories": [{"id": 1, "name": "aircraft"}],
        }
        (folder / "annotations.json").write_text(json.dumps(doc))
        _stamp(folder, params)
    return folders
