"""``open_scene``: one entry point for every raster format iqx reads; and
``open_or_read_scene`` for per-image dataset work, which reads a small image whole."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import xarray as xr

from iqx.io._common import check_exists
from iqx.io._rio import open_raster
from iqx.io.zarr import is_zarr_store, open_zarr_scene

__all__ = ["SMALL_SCENE_SAMPLES", "open_or_read_scene", "open_scene"]

#: images of at most this many samples are read whole by :func:`open_or_read_scene`: a dask
#: graph per metric cost ~20 of the ~38 ms a 28×28 image took to measure, and ~10 ms per
#: metric per pair to compare (measured); 4 M samples are 8 MB of uint16
SMALL_SCENE_SAMPLES = 1 << 22


def open_scene(
    path: str | os.PathLike[str], *, chunks: Any = None, bit_depth: int | None = None
) -> xr.DataArray:
    """Open a raster lazily as a dask-backed ``(band, y, x)`` DataArray. Reads no pixel.

    Parameters
    ----------
    path : path-like
        A GDAL-readable file (GeoTIFF/COG, JPEG 2000, PNG, JPEG, plain TIFF ...) or a zarr
        store written by :func:`iqx.io.to_zarr`.
    chunks : None, int, tuple or dict
        None: aligned to the file's internal tiling (multiples of the block size, about
        1024² pixels per band, all bands together; small images are a single chunk). An int
        (y and x), ``(y, x)``, ``(band, y, x)`` or ``{"band":, "y":, "x":}``; ``-1`` = full.
    bit_depth : int, optional
        Bits per sample of the data (e.g. 11 for WorldView-2 in uint16). Wins over the
        file's metadata and over the depth measured from the pixels (see
        :mod:`iqx.bitdepth`); it sets PSNR/SSIM's ``data_range``, the JPEG precision, the
        source depth of ``quantize`` and the clipping range of the noise modifiers.

    Returns
    -------
    xarray.DataArray
        Coords ``band`` (1..n) and pixel-centre ``y``/``x`` from the affine transform (the
        identity transform for non-georeferenced images). attrs: ``crs`` (WKT or None),
        ``transform`` (6-tuple), ``nodata``, ``bit_depth`` and ``bit_depth_source`` (the
        declared depth: ``"user"`` for ``bit_depth=``, ``"metadata"`` for GDAL ``NBITS`` or
        iqx's ``IQX_BIT_DEPTH``; None when undeclared, the depth is then measured from the
        pixels on first need, never here), ``source``, ``driver`` and ``iqx_history``.

    Raises
    ------
    PathNotFoundError
        ``path`` does not exist.
    RasterReadError
        Not a raster, truncated or corrupt (pixel reads also raise it, naming the file).
    UnsupportedDtypeError
        Complex or mixed-dtype rasters.

    Notes
    -----
    Each dask task opens the file and reads its own window: the graph pickles to process
    workers (``dask.distributed``) and holds no open file handle. A truncated TIFF is
    detected on open from its block table, without reading pixels.
    """
    p = check_exists(path)
    if bit_depth is not None:
        from iqx.bitdepth import check_bit_depth

        bit_depth = check_bit_depth(bit_depth)
    if is_zarr_store(p):
        scene = open_zarr_scene(p, chunks=chunks, bit_depth=bit_depth)
    else:
        scene = open_raster(p, chunks=chunks, bit_depth=bit_depth)
    if bit_depth is not None:
        check_bit_depth(bit_depth, scene.dtype)
    return scene


def open_or_read_scene(
    path: str | os.PathLike[str], *, chunks: Any = None, bit_depth: int | None = None
) -> xr.DataArray:
    """The scene one task works on: read whole as NumPy when small, else :func:`open_scene`.

    An image of at most :data:`SMALL_SCENE_SAMPLES` samples, with ``chunks=None``, is read
    with one file open (a plain PNG's shape comes from its header, without GDAL); it has the
    coords, attrs and values of the lazy scene, and metrics on it build no dask graph.
    Larger images, explicit ``chunks`` and zarr stores give the lazy scene.

    Parameters and errors are those of :func:`open_scene`.
    """
    from iqx.io._png import plain_png_bytes
    from iqx.io.images import plain_png_scene, read_image_scene

    if chunks is None:
        plain = plain_png_bytes(path)
        if plain is not None and math.prod(plain[1:]) <= SMALL_SCENE_SAMPLES:
            if bit_depth is not None:
                from iqx.bitdepth import check_bit_depth

                bit_depth = check_bit_depth(bit_depth)
            scene = plain_png_scene(Path(path), plain, bit_depth)
            if scene is not None:
                return scene
    scene = open_scene(path, chunks=chunks, bit_depth=bit_depth)
    if chunks is None and scene.size <= SMALL_SCENE_SAMPLES:
        if is_zarr_store(Path(path)):
            return scene.compute()
        return read_image_scene(path, bit_depth=bit_depth)[0]
    return scene
