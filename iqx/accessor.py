"""The ``.iqx`` DataArray accessor: a stateless convenience over iqx's public functions.

It keeps no state and only forwards to public functions, so ``scene.iqx.snr()`` is exactly
``iqx.metrics.snr(scene)``. It is registered by the packages users import --
:mod:`iqx.io` (hence :func:`iqx.open_scene`), :mod:`iqx.metrics` and :mod:`iqx.modifiers`
each import this module -- as rioxarray does from its own ``__init__``; ``import iqx`` and
:mod:`iqx.parallel` leave xarray alone. This module imports nothing but xarray at import
time: the layers it forwards to are imported in the methods, so it sits above them without
an import cycle.

Examples
--------
>>> import numpy as np, iqx.modifiers, iqx.parallel
>>> scene = iqx.parallel.as_scene(np.zeros((8, 8), dtype=np.uint8))
>>> scene.iqx.modify("quantize:bits=4").dtype
dtype('uint8')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xarray as xr

__all__ = ["IqxAccessor"]


@xr.register_dataarray_accessor("iqx")
class IqxAccessor:
    """Methods available as ``scene.iqx.<name>(...)`` on any ``(band, y, x)`` DataArray."""

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def modify(self, modifier: Any) -> xr.DataArray:
        """Apply a modifier (object, config dict, ``"id:k=v"`` spec or list for a chain)."""
        from iqx.modifiers import as_modifier

        return as_modifier(modifier)(self._obj)

    def metric(self, id: str, *args: Any, **kwargs: Any) -> Any:
        """Evaluate the registered metric ``id`` on this scene (extra args are forwarded)."""
        from iqx.registry import metrics

        return metrics.get(id).target(self._obj, *args, **kwargs)

    def snr(self, **kwargs: Any) -> xr.Dataset:
        """:func:`iqx.metrics.snr` of this scene."""
        from iqx.metrics import snr

        return snr(self._obj, **kwargs)

    def sharpness(self, **kwargs: Any) -> Any:
        """:func:`iqx.metrics.sharpness` of this scene."""
        from iqx.metrics import sharpness

        return sharpness(self._obj, **kwargs)

    def valid_mask(self) -> xr.DataArray:
        """:func:`iqx.io.valid_mask` of this scene."""
        from iqx.io import valid_mask

        return valid_mask(self._obj)

    def to_geotiff(self, path: str | Path, **kwargs: Any) -> Path:
        """:func:`iqx.io.to_geotiff` of this scene."""
        from iqx.io import to_geotiff

        return to_geotiff(self._obj, path, **kwargs)

    def to_zarr(self, path: str | Path, **kwargs: Any) -> Path:
        """:func:`iqx.io.to_zarr` of this scene."""
        from iqx.io import to_zarr

        return to_zarr(self._obj, path, **kwargs)
