"""Vectorised shape descriptors of polygon annotations (shapely 2 array functions)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["coco_polygon", "coco_polygons", "shape_features", "summary"]


def coco_polygon(segmentation: Any) -> Any:
    """A shapely (Multi)Polygon from a COCO polygon segmentation, or None (RLE, degenerate)."""
    import shapely

    if not isinstance(segmentation, list) or not segmentation:
        return None
    rings = []
    for flat in segmentation:
        if not isinstance(flat, list) or len(flat) < 6 or len(flat) % 2:
            continue
        rings.append(shapely.Polygon(np.asarray(flat, dtype=float).reshape(-1, 2)))
    if not rings:
        return None
    return rings[0] if len(rings) == 1 else shapely.MultiPolygon(rings)


def coco_polygons(segmentations: Sequence[Any]) -> np.ndarray:
    """Vectorised :func:`coco_polygon` over many segmentations (object array, None for RLE).

    Rings are built in one ``shapely.linearrings`` call; annotations with several rings
    become MultiPolygons.
    """
    import shapely

    n = len(segmentations)
    out = np.full(n, None, dtype=object)
    coords: list[np.ndarray] = []
    ring_ann: list[int] = []
    for i, seg in enumerate(segmentations):
        if not isinstance(seg, list):
            continue
        for flat in seg:
            if isinstance(flat, list) and len(flat) >= 6 and len(flat) % 2 == 0:
                coords.append(np.asarray(flat, dtype=float).reshape(-1, 2))
                ring_ann.append(i)
    if not coords:
        return out
    sizes = np.fromiter((len(c) for c in coords), dtype=np.intp, count=len(coords))
    rings = shapely.linearrings(
        np.concatenate(coords), indices=np.repeat(np.arange(len(coords)), sizes)
    )
    polys = shapely.polygons(rings)
    ann = np.asarray(ring_ann)
    single = np.bincount(ann, minlength=n) == 1
    first = np.ones(len(ann), dtype=bool)
    first[1:] = ann[1:] != ann[:-1]
    take = single[ann] & first
    out[ann[take]] = polys[take]
    multi = ~single[ann]
    if multi.any():
        groups = ann[multi]
        uniq, inverse = np.unique(groups, return_inverse=True)
        out[uniq] = shapely.multipolygons(polys[multi], indices=inverse)
    return out


def shape_features(geoms: Sequence[Any] | np.ndarray) -> dict[str, np.ndarray]:
    """Per-geometry descriptors (NaN where a geometry is missing or empty).

    Returns
    -------
    dict of ndarray
        ``area``, ``perimeter``, ``compactness`` (Polsby-Popper 4πA/P², 1 for a disc),
        ``bbox_width``, ``bbox_height``, ``mrr_length`` / ``mrr_width`` (long and short side
        of shapely's minimum rotated rectangle), ``mrr_angle`` (direction of the long side,
        degrees counter-clockwise from the +x axis of the coordinate frame, in [0, 180)),
        ``mrr_area``, ``elongation`` (mrr_length / mrr_width), ``centroid_x``, ``centroid_y``,
        ``valid`` (shapely validity, as float 0/1).
    """
    import shapely

    arr = np.asarray(geoms, dtype=object)
    n = len(arr)
    ok = ~(shapely.is_missing(arr) | shapely.is_empty(arr)) if n else np.zeros(0, bool)
    out = {
        k: np.full(n, np.nan)
        for k in (
            "area",
            "perimeter",
            "compactness",
            "bbox_width",
            "bbox_height",
            "mrr_length",
            "mrr_width",
            "mrr_angle",
            "mrr_area",
            "elongation",
            "centroid_x",
            "centroid_y",
            "valid",
        )
    }
    if not ok.any():
        return out
    g = arr[ok]
    area = shapely.area(g)
    perim = shapely.length(g)
    bounds = shapely.bounds(g)
    cent = shapely.get_coordinates(shapely.centroid(g))
    with np.errstate(divide="ignore", invalid="ignore"):
        compact = np.where(perim > 0, 4.0 * math.pi * area / perim**2, np.nan)
    rect = shapely.minimum_rotated_rectangle(g)
    length = np.zeros(len(g))
    width = np.zeros(len(g))
    angle = np.full(len(g), np.nan)
    is_rect = (shapely.get_type_id(rect) == 3) & (shapely.get_num_coordinates(rect) == 5)
    if is_rect.any():
        pts = shapely.get_coordinates(rect[is_rect]).reshape(-1, 5, 2)
        e1 = pts[:, 1] - pts[:, 0]
        e2 = pts[:, 2] - pts[:, 1]
        l1, l2 = np.hypot(*e1.T), np.hypot(*e2.T)
        long_edge = np.where((l1 >= l2)[:, None], e1, e2)
        length[is_rect] = np.maximum(l1, l2)
        width[is_rect] = np.minimum(l1, l2)
        angle[is_rect] = np.degrees(np.arctan2(long_edge[:, 1], long_edge[:, 0])) % 180.0
    degenerate = ~is_rect  # collapsed to a line or a point
    if degenerate.any():
        length[degenerate] = shapely.length(rect[degenerate])
    with np.errstate(divide="ignore", invalid="ignore"):
        elong = np.where(width > 0, length / width, np.nan)
    cols = {
        "area": area,
        "perimeter": perim,
        "compactness": compact,
        "bbox_width": bounds[:, 2] - bounds[:, 0],
        "bbox_height": bounds[:, 3] - bounds[:, 1],
        "mrr_length": length,
        "mrr_width": width,
        "mrr_angle": np.where(angle >= 180.0 - 1e-9, 0.0, angle),
        "mrr_area": length * width,
        "elongation": elong,
        "centroid_x": cent[:, 0],
        "centroid_y": cent[:, 1],
        "valid": shapely.is_valid(g).astype(float),
    }
    for k, v in cols.items():
        out[k][ok] = v
    return out


def summary(values: Any, bins: int = 10) -> dict[str, Any]:
    """Count, mean, std, min, median, max and a ``bins``-bin histogram of the finite values.

    The histogram is ``numpy.histogram(values, bins)`` (IQUAFLOW's DsStats used 10 bins), so
    ``counts`` sum to ``count``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {
            "count": 0,
            "mean": None,
            "std": None,
            "min": None,
            "median": None,
            "max": None,
            "histogram": {"bin_edges": [], "counts": []},
        }
    counts, edges = np.histogram(v, bins=bins)
    return {
        "count": int(v.size),
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "median": float(np.median(v)),
        "max": float(v.max()),
        "histogram": {"bin_edges": edges.tolist(), "counts": counts.astype(int).tolist()},
    }
