"""Validity masks of scenes: GDAL masks for files, ``nodata`` otherwise, NaN never valid."""

from __future__ import annotations

from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr

from iqx.errors import IqxError
from iqx.io._rio import RasterWindowReader, rio_open
from iqx.parallel.backend import as_scene

__all__ = ["valid_mask"]


def _file_mask(scene: xr.DataArray) -> da.Array | np.ndarray | None:
    """GDAL's mask of the scene's source file, chunked like the scene; None if not usable.

    Returns None when the scene has no readable source file of the same shape, or when every
    band's mask is trivially derived from the data (``all_valid`` / ``nodata`` flags), in
    which case the caller computes it from the data without re-reading the file.
    """
    src, driver = scene.attrs.get("source"), scene.attrs.get("driver")
    if not src or not driver or driver == "zarr" or not Path(src).is_file():
        return None
    try:
        with rio_open(src) as ds:
            shape = (ds.count, ds.height, ds.width)
            flags = [{f.name for f in band} for band in ds.mask_flag_enums]
            file_nodata = ds.nodata
    except IqxError:
        return None
    if shape != tuple(scene.shape):
        return None
    trivial = all(f <= {"all_valid"} or f == {"nodata"} for f in flags)
    same_nodata = file_nodata == scene.attrs.get("nodata") or (
        file_nodata is not None
        and scene.attrs.get("nodata") is not None
        and np.isnan(file_nodata)
        and np.isnan(scene.attrs["nodata"])
    )
    if trivial and (same_nodata or all(f <= {"all_valid"} for f in flags)):
        return None
    reader = RasterWindowReader(src, shape, bool, masks=True)
    if isinstance(scene.data, da.Array):
        return da.from_array(
            reader,
            chunks=scene.data.chunks,
            lock=False,
            asarray=False,
            fancy=False,
            meta=np.empty((0, 0, 0), dtype=bool),
            inline_array=True,
        )
    return reader[:, :, :]


def valid_mask(scene: xr.DataArray) -> xr.DataArray:
    """Boolean mask of valid pixels, lazy, with the scene's dims, coords and chunks.

    Rules, in order:

    1. A scene opened from a raster file (``attrs["source"]``, same shape as the file) uses
       GDAL's mask (``read_masks``), which accounts for ``nodata``, internal/external mask
       bands and alpha bands. It is read lazily, window by window, in each dask task.
    2. Otherwise ``attrs["nodata"]``: pixels equal to it are invalid.
    3. Otherwise every pixel is valid.

    Floating-point NaN is always invalid.

    **Alpha bands** (e.g. an RGBA drone mosaic) stay ordinary data bands of the scene. Following
    GDAL, each colour band is valid where ``alpha > 0`` and the alpha band itself is valid
    everywhere; partially transparent pixels (``0 < alpha < 255``) count as valid.

    Parameters
    ----------
    scene : xarray.DataArray
        ``(band, y, x)`` scene.

    Returns
    -------
    xarray.DataArray
        ``bool`` array named ``"valid"``.
    """
    scene = as_scene(scene)
    data = scene.data
    mask = _file_mask(scene)
    if mask is None:
        nodata = scene.attrs.get("nodata")
        if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
            mask = data != np.asarray(nodata).astype(scene.dtype)
        elif isinstance(data, da.Array):
            mask = da.ones(data.shape, dtype=bool, chunks=data.chunks)
        else:
            mask = np.ones(data.shape, dtype=bool)
    if np.issubdtype(scene.dtype, np.floating):
        mask = mask & ~(da.isnan(data) if isinstance(data, da.Array) else np.isnan(data))
    return xr.DataArray(mask, dims=scene.dims, coords=scene.coords, name="valid")
