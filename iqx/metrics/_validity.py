"""One validity contract for metrics: ``attrs["nodata"]``, NaN/inf and a user mask.

A pixel is invalid where it is NaN or infinite, or equals the scene's ``attrs["nodata"]``
(compared after casting to the scene's dtype, as GDAL does), or where the user's ``mask``
(``True`` = valid) is false.

The mask rule (:func:`check_mask`, used by the full-reference metrics, sharpness and SNR):
the mask is **boolean** (what ``image != 0`` or ``numpy.isfinite`` give), ``(y, x)`` or
``(band, y, x)`` with 1 band or as many as the image; it is broadcast to every band and
stays lazy when dask-backed. Anything else is refused with an error naming the problem:
another dtype raises :class:`~iqx.errors.InvalidParameterError` (an integer or float mask is
ambiguous: 0/1, 0/255 GDAL mask bands and label rasters all exist, and checking the values
of a lazy mask would read it), a wrong shape :class:`MaskShapeError`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.parallel import as_scene, is_dask

__all__ = ["MaskShapeError", "check_mask", "scene_nodata"]


class MaskShapeError(InvalidParameterError, ShapeMismatchError):
    """A mask whose shape does not fit its image: a bad parameter of a blind metric and a
    shape mismatch of a pair, so either ``except`` catches it."""


def scene_nodata(scene: xr.DataArray) -> float | None:
    """``attrs["nodata"]`` cast to the scene's dtype, or ``None`` (also for a NaN nodata).

    A NaN nodata adds nothing: NaN is always invalid.
    """
    value = scene.attrs.get("nodata")
    if value is None:
        return None
    value = float(np.asarray(value).astype(scene.dtype))
    return None if math.isnan(value) else value


def check_mask(mask: Any, shape: tuple[int, int, int]) -> Any:
    """A user mask checked against a ``(band, y, x)`` image and broadcast to its shape.

    Parameters
    ----------
    mask : array-like or xarray.DataArray of bool
        ``True`` = valid; ``(y, x)`` or ``(band, y, x)`` with 1 or ``shape[0]`` bands.
    shape : tuple of int
        The image's ``(band, y, x)`` shape.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        A read-only broadcast view (dask stays lazy).

    Raises
    ------
    InvalidParameterError
        The mask is not boolean.
    MaskShapeError
        Its shape does not fit the image (an :class:`~iqx.errors.InvalidParameterError`
        and a :class:`~iqx.errors.ShapeMismatchError`).
    """
    scene = as_scene(mask)
    if scene.dtype != bool:
        raise InvalidParameterError(f"mask must be boolean (True = valid), got {scene.dtype}")
    if scene.shape[1:] != tuple(shape[1:]) or scene.shape[0] not in (1, shape[0]):
        raise MaskShapeError(
            f"mask has shape {scene.shape} (band, y, x); expected (1 or {shape[0]}, "
            f"{shape[1]}, {shape[2]})"
        )
    m = scene.data
    # a dask mask stays lazy (NumPy's dispatch calls dask's broadcast_to)
    return np.broadcast_to(m if is_dask(m) else np.asarray(m), tuple(shape))
