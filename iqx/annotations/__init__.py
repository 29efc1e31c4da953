"""Annotation files of a dataset: sanity checks, statistics, masks and an HTML report.

Main entry points
-----------------
SanityCheck, sanity_check
    Find problems in COCO / GeoJSON annotations (IQUAFLOW's codes and more) and write a
    sanitized copy plus a report; the input is never edited.
DatasetStats, dataset_stats
    Image sizes (from headers), class histograms, box/polygon geometry statistics, plots and
    an interactive self-contained HTML report.
rasterize
    Burn GeoJSON annotations into ``<images>_mask/`` class masks (IQUAFLOW's Rasterize).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "CODES",
    "DatasetStats",
    "Problem",
    "SanityCheck",
    "SanityReport",
    "check_coco_annotation",
    "dataset_stats",
    "load_coco",
    "load_geojson",
    "rasterize",
    "sanity_check",
    "write_html_report",
]

_LAZY = {
    "CODES": "iqx.annotations.problems",
    "Problem": "iqx.annotations.problems",
    "SanityReport": "iqx.annotations.problems",
    "SanityCheck": "iqx.annotations.sanity",
    "sanity_check": "iqx.annotations.sanity",
    "check_coco_annotation": "iqx.annotations.coco",
    "load_coco": "iqx.annotations.coco",
    "load_geojson": "iqx.annotations.geojson",
    "DatasetStats": "iqx.annotations.stats",
    "dataset_stats": "iqx.annotations.stats",
    "rasterize": "iqx.annotations.masks",
    "write_html_report": "iqx.annotations.report",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'iqx.annotations' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
