"""A dataset cube ``(image, band, y, x)`` as one zarr v3 store (written by ``iqx.to_zarr``).

The store holds the variable ``images`` chunked over many whole images per chunk, and the
per-image coordinates of the cube: ``image`` (file names), ``crs``, ``nodata`` and the
variable ``transform`` ``(image, affine)`` (the cube's 6-tuples). The group attribute ``iqx_kind = "dataset_cube"`` tells
:func:`iqx.open_dataset` to return the lazy cube instead of a folder dataset. Every chunk is
written (a missing chunk is lost data and raises on open, as for scene stores).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, RasterReadError
from iqx.io._atomic import check_overwrite
from iqx.io._common import check_dtype, check_exists

__all__ = ["CUBE_KIND", "is_cube_store", "open_cube_zarr", "write_cube_zarr"]

CUBE_KIND = "dataset_cube"
_VAR = "images"
_DIMS = ("image", "band", "y", "x")


def is_cube_store(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a zarr store written from a dataset cube."""
    import json

    meta = Path(path) / "zarr.json"
    if not meta.is_file():
        return False
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (doc.get("attributes") or {}).get("iqx_kind") == CUBE_KIND


def write_cube_zarr(
    cube: xr.DataArray,
    path: str | os.PathLike[str],
    *,
    images_per_chunk: int | None = None,
    codec: str | None = "blosc-lz4-bitshuffle",
    overwrite: bool = False,
) -> Path:
    """Write a cube (see :func:`iqx.datasets.open_cube`) to one zarr v3 store, atomically.

    Parameters
    ----------
    cube : xarray.DataArray
        ``(image, band, y, x)``, lazy or not; its dask chunks are computed chunk by chunk.
    path : path-like
        Output folder.
    images_per_chunk : int, optional
        Images per zarr chunk (default: the cube's image chunks, else all images up to
        about 64 MB per chunk).
    codec, overwrite
        As for :func:`iqx.io.to_zarr`.
    """
    from iqx.io.zarr import _compressors, write_store

    path = Path(path)
    if cube.dims != _DIMS:
        raise InvalidParameterError(f"expected dims {_DIMS}, got {cube.dims}")
    check_overwrite(path, overwrite)
    check_dtype(cube.dtype, path, "write")
    n, nb, ny, nx = cube.shape
    if images_per_chunk is None:
        if cube.chunks is not None:
            images_per_chunk = max(cube.chunks[0])
        else:
            per = nb * ny * nx * np.dtype(cube.dtype).itemsize
            images_per_chunk = max(1, min(n, (64 * 2**20) // max(per, 1)))
    k = max(1, min(int(images_per_chunk), max(n, 1)))
    data = cube.chunk({"image": k, "band": -1, "y": -1, "x": -1})
    coords = {
        name: data.coords[name]
        for name in ("image", "band", "transform", "crs", "nodata")
        if name in data.coords
    }
    for name in ("crs", "image"):  # variable-length strings
        if name in coords:
            coords[name] = coords[name].copy(
                data=np.array([str(v) for v in coords[name].values], dtype=object)
            )
    transform = coords.pop("transform", None)
    var = xr.DataArray(data.data, dims=_DIMS, coords=coords)
    var.attrs = {
        key: _json(value)
        for key, value in cube.attrs.items()
        if key in ("bit_depth", "bit_depth_source", "driver", "iqx_history")
    }
    ds = var.to_dataset(name=_VAR)
    if transform is not None:  # one 6-tuple per image -> an (image, affine) array
        ds["transform"] = (("image", "affine"), np.array(list(transform.values), dtype=float))
    ds.attrs["iqx_kind"] = CUBE_KIND
    encoding = {_VAR: {"chunks": (k, nb, ny, nx), "compressors": _compressors(codec)}}
    return write_store(ds, path, encoding, overwrite=overwrite, what="write zarr cube")


def _json(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def open_cube_zarr(path: str | os.PathLike[str], *, images_per_chunk: int | None = None) -> Any:
    """Open a cube store lazily: the ``(image, band, y, x)`` DataArray that was written."""
    p = check_exists(path)
    try:
        ds = xr.open_zarr(p, consolidated=False, decode_cf=False, chunks={})
    except Exception as exc:
        raise RasterReadError(f"{p}: not a readable zarr store ({exc})") from exc
    if _VAR not in ds or ds[_VAR].dims != _DIMS:
        raise RasterReadError(f"{p}: no {_DIMS} variable {_VAR!r}; not an iqx dataset cube")
    var = ds[_VAR]
    if images_per_chunk is not None:
        var = var.chunk({"image": int(images_per_chunk)})
    import zarr

    arr = zarr.open_array(str(p), path=_VAR, mode="r")
    if int(arr.nchunks_initialized) != int(arr.nchunks):
        raise RasterReadError(
            f"{p}: zarr cube is missing {int(arr.nchunks) - int(arr.nchunks_initialized)} of "
            f"{int(arr.nchunks)} chunks (data were lost)"
        )
    attrs = dict(var.attrs)
    out = xr.DataArray(
        var.data,
        dims=_DIMS,
        coords={
            "image": np.asarray(var["image"].values, dtype=object),
            "band": var["band"].values,
            "y": np.arange(var.sizes["y"]),
            "x": np.arange(var.sizes["x"]),
            **{
                c: ("image", np.asarray(ds[c].values))
                for c in ("crs", "nodata")
                if c in ds.variables
            },
        },
        attrs={
            "bit_depth": attrs.get("bit_depth"),
            "bit_depth_source": attrs.get("bit_depth_source"),
            "driver": attrs.get("driver"),
            "iqx_history": list(attrs.get("iqx_history") or []),
            "source": str(p),
        },
        name="images",
    )
    if "transform" in ds:
        rows = np.empty(out.sizes["image"], dtype=object)
        rows[:] = [tuple(float(v) for v in r) for r in np.asarray(ds["transform"].values)]
        out = out.assign_coords(transform=("image", rows))
    if "crs" in out.coords:
        out = out.assign_coords(
            crs=("image", np.array([str(v) for v in out["crs"].values], dtype=object))
        )
    return out
