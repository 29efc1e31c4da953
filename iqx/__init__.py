"""iqx: image-quality studies of satellite imagery at scale.

``import iqx`` is light: the heavy or optional dependencies (rasterio, imagecodecs, mlflow,
sagemaker, boto3) and the submodules are imported on first use.

Main entry points
-----------------
open_scene, to_geotiff, to_zarr, valid_mask
    Lazy chunked scenes (``xarray.DataArray`` with dims ``band, y, x``) and atomic writers.
open_dataset, modify
    IQUAFLOW-layout datasets and their ``<name>#<modifier>`` modified copies.
modifiers, metrics
    Registered degradations and quality metrics.
"""

from __future__ import annotations

import importlib
from typing import Any

from iqx._version import __version__
from iqx.errors import IqxError

__all__ = [
    "IqxError",
    "__version__",
    "annotations",
    "datasets",
    "errors",
    "io",
    "metrics",
    "modifiers",
    "modify",
    "open_dataset",
    "open_scene",
    "parallel",
    "registry",
    "testing",
    "to_geotiff",
    "to_zarr",
    "valid_mask",
]

_LAZY_ATTRS = {
    "open_scene": "iqx.io",
    "to_geotiff": "iqx.io",
    "to_zarr": "iqx.io",
    "valid_mask": "iqx.io",
    "open_dataset": "iqx.datasets",
    "modify": "iqx.datasets.modify",
}
_SUBMODULES = {
    "annotations",
    "datasets",
    "errors",
    "io",
    "kernels",
    "metrics",
    "modifiers",
    "parallel",
    "registry",
    "testing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        value = getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"iqx.{name}")
    else:
        raise AttributeError(f"module 'iqx' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))
