"""Lazy imports of optional or heavy dependencies, with errors naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from iqx.errors import MissingExtraError

__all__ = ["import_optional"]

#: module name -> extra that installs it
_EXTRAS = {
    "imagecodecs": "codecs",
    "mlflow": "mlflow",
    "sagemaker": "sagemaker",
    "boto3": "cloud",
    "botocore": "cloud",
    "s3fs": "cloud",
}


def import_optional(name: str, feature: str = "") -> ModuleType:
    """Import ``name`` or raise :class:`~iqx.errors.MissingExtraError` naming its extra."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        raise MissingExtraError(top, _EXTRAS.get(top, "all"), feature) from exc
