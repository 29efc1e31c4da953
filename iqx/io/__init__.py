"""Scenes in and out: lazy chunked reads of GDAL rasters and zarr, atomic writers.

- :func:`open_scene`: GeoTIFF/COG, JPEG 2000, PNG, JPEG, TIFF, zarr → lazy ``(band, y, x)``
  DataArray (one file open per dask task; reads no pixel on open).
- :func:`valid_mask`: GDAL mask / nodata / NaN → lazy boolean DataArray.
- :func:`to_geotiff`, :func:`to_zarr`: chunk-by-chunk, atomic, distributed-safe writers.
- :func:`write_image`, :func:`read_image`: one small image, eagerly (dataset modifiers).
"""

import iqx.accessor  # noqa: F401  (registers the .iqx DataArray accessor)
from iqx.io.geotiff import to_geotiff
from iqx.io.images import read_image, write_image
from iqx.io.mask import valid_mask
from iqx.io.scene import open_scene
from iqx.io.zarr import to_zarr

__all__ = ["open_scene", "read_image", "to_geotiff", "to_zarr", "valid_mask", "write_image"]
