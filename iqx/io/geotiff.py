"""Chunk-by-chunk GeoTIFF / Cloud-Optimized GeoTIFF writer.

The scene is never materialised: ``dask.array.store`` computes one chunk at a time and each
store task opens the (pre-created, tiled) temporary GeoTIFF in update mode, writes its
window and closes it. Chunks are aligned to the tile size first, so every tile is written
exactly once. Writers are serialised by a lock: a ``distributed.Lock`` when a distributed
client is active (valid across process workers), else a ``SerializableLock`` (threads).
``cog=True`` then converts the finished tiled GeoTIFF with GDAL's ``COG`` driver (a streaming
``CreateCopy`` that also builds the overviews). Everything happens under a temporary sibling
name ``<name>.iqx-tmp-<uuid>`` renamed onto ``path`` at the end.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, IqxError, RasterWriteError
from iqx.io._atomic import atomic_file, check_overwrite, tmp_sibling, write_error
from iqx.io._common import check_dtype
from iqx.io._rio import TAG_BIT_DEPTH, TAG_BIT_DEPTH_HINT, TAG_HISTORY, georef_profile
from iqx.io._sched import write_lock
from iqx.parallel.backend import as_scene

__all__ = ["COMPRESSIONS", "GeoTIFFWindowWriter", "geotiff_profile", "to_geotiff"]

#: GDAL GTiff compression names (GDAL only *warns* on an unknown name and writes uncompressed)
COMPRESSIONS = (
    "none",
    "deflate",
    "lzw",
    "zstd",
    "packbits",
    "jpeg",
    "webp",
    "lerc",
    "lerc_deflate",
    "lerc_zstd",
    "lzma",
    "jxl",
    "ccittrle",
    "ccittfax3",
    "ccittfax4",
)


def _check_compress(compress: Any) -> str | None:
    if compress is None:
        return None
    if not isinstance(compress, str) or compress.lower() not in COMPRESSIONS:
        raise InvalidParameterError(
            f"unknown GeoTIFF compression {compress!r}; use one of {', '.join(COMPRESSIONS)}"
        )
    return compress


class GeoTIFFWindowWriter:
    """Store target for ``dask.array.store``: ``writer[band, y, x] = block`` writes a window.

    Holds only the path; each assignment opens the file in ``r+`` mode, so it pickles to
    process workers. Callers serialise assignments with a lock.
    """

    def __init__(self, path: str, shape: tuple[int, int, int]):
        self.path = str(path)
        self.shape = shape
        self.ndim = 3

    def __setitem__(self, key: tuple[slice, slice, slice], value: np.ndarray) -> None:
        import rasterio
        from rasterio.errors import RasterioError
        from rasterio.windows import Window

        sb, sy, sx = (slice(*k.indices(n)) for k, n in zip(key, self.shape))
        indexes = list(range(sb.start + 1, sb.stop + 1))
        window = Window(sx.start, sy.start, sx.stop - sx.start, sy.stop - sy.start)
        try:
            with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(self.path, "r+") as dst:
                dst.write(np.asarray(value), indexes=indexes, window=window)
        except (RasterioError, OSError) as exc:
            raise RasterWriteError(f"{self.path}: failed to write window {window} ({exc})") from exc


def geotiff_profile(
    scene: xr.DataArray,
    *,
    compress: str | None = "deflate",
    blocksize: int = 512,
    **creation_options: Any,
) -> dict[str, Any]:
    """The rasterio profile :func:`to_geotiff` creates (georeferencing from ``scene.attrs``)."""
    nb, ny, nx = scene.shape
    compress = _check_compress(compress)
    if blocksize <= 0 or blocksize % 16:
        raise InvalidParameterError(f"blocksize must be a positive multiple of 16, got {blocksize}")
    attrs = scene.attrs
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": nb,
        "dtype": np.dtype(scene.dtype).name,
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "BIGTIFF": "IF_SAFER",
    }
    if compress and str(compress).lower() != "none":
        profile["compress"] = compress
    profile.update(georef_profile(attrs))
    profile.update(creation_options)
    return profile


def _iqx_tags(scene: xr.DataArray) -> dict[str, str]:
    from iqx.bitdepth import declared_bit_depth

    tags = {}
    width = np.dtype(scene.dtype).itemsize * 8
    declared = declared_bit_depth(scene)
    bits = scene.attrs.get("bit_depth")
    if declared is not None and declared.bits != width:
        tags[TAG_BIT_DEPTH] = str(declared.bits)
    elif declared is None and bits is not None and int(bits) != width:
        # an unsourced attribute is a hint, not a declaration: stored as one, read back as one
        tags[TAG_BIT_DEPTH_HINT] = str(int(bits))
    history = scene.attrs.get("iqx_history") or []
    if history:
        tags[TAG_HISTORY] = json.dumps([str(h) for h in history])
    return tags


def _aligned(data: da.Array, blocksize: int) -> da.Array:
    """Rechunk so chunk edges fall on tile edges and all bands share a chunk."""
    ny = max(data.chunks[1])
    nx = max(data.chunks[2])
    cy = max(1, -(-ny // blocksize)) * blocksize
    cx = max(1, -(-nx // blocksize)) * blocksize
    target = (data.shape[0], min(cy, data.shape[1]), min(cx, data.shape[2]))
    if all(len(set(c[:-1])) <= 1 and c[0] == t for c, t in zip(data.chunks, target)):
        return data
    return data.rechunk(target)


def _create_and_store(scene: xr.DataArray, path: Path, profile: dict[str, Any]) -> None:
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(path, "w", **profile) as dst:
            tags = _iqx_tags(scene)
            if tags:
                dst.update_tags(**tags)
    data = scene.data
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=(scene.shape[0], 2048, 2048))
    data = _aligned(data, int(profile["blockysize"]))
    target = GeoTIFFWindowWriter(str(path), tuple(scene.shape))
    da.store(data, target, lock=write_lock("iqx-geotiff"), compute=True)


def to_geotiff(
    scene: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    cog: bool = False,
    compress: str | None = "deflate",
    blocksize: int = 512,
    overwrite: bool = False,
    **creation_options: Any,
) -> Path:
    """Write ``scene`` to a tiled GeoTIFF (or COG) chunk by chunk, atomically.

    Parameters
    ----------
    scene : xarray.DataArray
        ``(band, y, x)`` scene (dask-backed or not). ``attrs["crs"]``, ``["transform"]`` and
        ``["nodata"]`` become the file's georeferencing; ``bit_depth`` (when below the dtype's
        bits) and ``iqx_history`` are kept as ``IQX_BIT_DEPTH`` / ``IQX_HISTORY`` metadata.
    path : path-like
        Output file.
    cog : bool
        Write a Cloud-Optimized GeoTIFF (GDAL ``COG`` driver, with overviews).
    compress : str or None
        GDAL compression (``"deflate"``, ``"zstd"``, ``"lzw"``, ``None`` ...).
    blocksize : int
        Tile edge in pixels (multiple of 16).
    overwrite : bool
        Replace an existing ``path``; otherwise :class:`InvalidParameterError`.
    **creation_options
        Extra GDAL creation options (e.g. ``predictor=2``, ``zlevel=6``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    scene = as_scene(scene)
    path = Path(path)
    check_overwrite(path, overwrite)
    check_dtype(scene.dtype, path, "write")
    profile = geotiff_profile(scene, compress=compress, blocksize=blocksize, **creation_options)
    try:
        _write(scene, path, profile, cog, blocksize, creation_options, overwrite)
    except IqxError as exc:
        if isinstance(exc, RasterWriteError) and str(path) not in str(exc):
            raise write_error(path, exc, "write GeoTIFF") from exc
        raise
    except Exception as exc:
        from rasterio.errors import RasterioError

        if isinstance(exc, OSError | RasterioError):  # ENOSPC, EROFS ...: the destination
            raise write_error(path, exc, "write GeoTIFF") from exc
        raise
    return path


def _write(
    scene: xr.DataArray,
    path: Path,
    profile: dict[str, Any],
    cog: bool,
    blocksize: int,
    creation_options: dict[str, Any],
    overwrite: bool,
) -> None:
    import rasterio.shutil

    with atomic_file(path, overwrite=overwrite) as tmp:
        if not cog:
            _create_and_store(scene, tmp, profile)
        else:
            staging = tmp_sibling(path)
            try:
                staging_profile = {k: v for k, v in profile.items() if k.upper() != "BIGTIFF"}
                staging_profile["BIGTIFF"] = "IF_SAFER"
                _create_and_store(scene, staging, staging_profile)
                cog_options = {"blocksize": blocksize, "BIGTIFF": "IF_SAFER"}
                if "compress" in profile:
                    cog_options["compress"] = profile["compress"]
                for key in ("predictor", "level", "zlevel", "quality", "overviews", "resampling"):
                    for k in (key, key.upper()):
                        if k in creation_options:
                            cog_options[key] = creation_options[k]
                with rasterio.Env(GDAL_PAM_ENABLED="NO"):
                    rasterio.shutil.copy(str(staging), str(tmp), driver="COG", **cog_options)
            finally:
                if staging.exists():
                    staging.unlink()
