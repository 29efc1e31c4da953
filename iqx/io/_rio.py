"""Lazy, picklable window reads of any GDAL raster (GeoTIFF/COG, JPEG 2000, PNG, JPEG, TIFF).

Each dask task opens the file itself and reads its window: the graph holds only the path,
so it pickles to process workers and keeps no file handle open between tasks.
"""

from __future__ import annotations

import json
import math
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize

from iqx.errors import RasterReadError, UnsupportedDtypeError
from iqx.io._common import (
    check_dtype,
    check_exists,
    clean_nodata,
    normalize_chunks,
    pixel_coords,
    scene_attrs,
)

__all__ = [
    "RasterWindowReader",
    "clear_handle_cache",
    "expand_palette",
    "georef_profile",
    "open_raster",
    "palette_table",
    "raster_meta",
    "raster_mask_flags",
    "rio_open",
]

#: GDAL's block cache defaults to 5 % of RAM and, with the per-thread handles below kept
#: open, would hold every block read until that size. Chunks are read once, so iqx caps the
#: cache at 128 MB unless the user set ``GDAL_CACHEMAX`` (GDAL reads it once per process, at
#: its first block-cache use).
os.environ.setdefault("GDAL_CACHEMAX", "128")
#: libjpeg *warnings* ("Corrupt JPEG data: premature end of data segment") mean that garbage
#: was decoded as pixels; GDAL only logs them unless this option turns them into errors.
os.environ.setdefault("GDAL_ERROR_ON_LIBJPEG_WARNING", "TRUE")

#: iqx's own GeoTIFF metadata items (default domain)
TAG_BIT_DEPTH = "IQX_BIT_DEPTH"
TAG_HISTORY = "IQX_HISTORY"
#: an unsourced ``bit_depth`` attribute (a lower bound, see iqx.bitdepth), kept as such
TAG_BIT_DEPTH_HINT = "IQX_BIT_DEPTH_HINT"


def palette_table(ds: Any) -> np.ndarray | None:
    """The colour table of a one-band palette raster as a lookup table, else None.

    A palette (colour-mapped) image stores indices into a colour table, not intensities:
    codecs, blur and quality metrics on the indices would be meaningless, and a written
    result would lose the table. iqx reads such an image as the colours it shows, as
    OpenCV's ``imread`` and Pillow's ``convert("RGB")`` do: ``(entries, 3)`` uint8 (RGB), or
    ``(entries, 4)`` (RGBA) when an entry is not opaque. Indices beyond the table map to 0.
    """
    from rasterio.enums import ColorInterp

    if ds.count != 1 or ds.colorinterp[0] != ColorInterp.palette:
        return None
    dtype = np.dtype(ds.dtypes[0])
    if dtype.kind != "u" or dtype.itemsize > 2:
        return None
    try:
        table = ds.colormap(1)
    except ValueError:  # no table after all
        return None
    lut = np.zeros((1 << (8 * dtype.itemsize), 4), np.uint8)
    for index, rgba in table.items():
        lut[index] = rgba
    opaque = all(rgba[3] == 255 for rgba in table.values())
    return np.ascontiguousarray(lut[:, :3]) if opaque else lut


def expand_palette(indices: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """``(1, y, x)`` palette indices as ``(bands, y, x)`` colours of ``lut`` (see above)."""
    return np.ascontiguousarray(np.moveaxis(lut[indices[0]], -1, 0))


#: beyond this many blocks per band only the last block row is checked for truncation
_MAX_BLOCKS_CHECKED = 20_000


def georef_profile(attrs: Any) -> dict[str, Any]:
    """The rasterio profile entries that geo-reference a scene: ``crs``, ``transform``, ``nodata``.

    Parameters
    ----------
    attrs : mapping
        A scene's attrs: ``crs`` (anything :meth:`rasterio.crs.CRS.from_user_input` takes),
        ``transform`` (6 GDAL/rasterio coefficients), ``nodata``.

    Returns
    -------
    dict
        Only what is set; an identity transform is left out (GDAL would write it as a
        geo-reference the image does not have).
    """
    from affine import Affine
    from rasterio.crs import CRS

    profile: dict[str, Any] = {}
    if attrs.get("crs"):
        profile["crs"] = CRS.from_user_input(attrs["crs"])
    if attrs.get("transform") is not None:
        transform = Affine(*attrs["transform"][:6])
        if transform != Affine.identity():
            profile["transform"] = transform
    if attrs.get("nodata") is not None:
        profile["nodata"] = attrs["nodata"]
    return profile


def rio_open(path: str | Path) -> Any:
    """``rasterio.open(path)`` with GDAL errors turned into :class:`RasterReadError`."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioError

    # iqx gives plain images the identity transform on purpose (and says so in ``attrs``).
    # ``warnings.catch_warnings`` is not thread-safe (chunks are read from several threads at
    # once: one thread leaving the block restores the filters another one relies on), so a
    # filter is also installed for the whole process, and installed again whenever someone
    # else's ``catch_warnings`` block (a test runner's, a notebook's) has taken it away.
    if not any(f[0] == "ignore" and f[2] is NotGeoreferencedWarning for f in warnings.filters):
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            return rasterio.open(path)
    except RasterioError as exc:
        raise RasterReadError(f"{path}: not a readable raster image ({exc})") from exc


#: open datasets kept per thread (GDAL handles are not thread-safe, so never shared)
_HANDLES = threading.local()
_MAX_HANDLES = 16


def _cached_handle(path: str) -> Any:
    """A read-only dataset for ``path`` reused by the calling thread's later tasks.

    Opening a GeoTIFF costs milliseconds (its block table is parsed), which dominates
    small-window reads; each worker thread therefore keeps up to 16 recently used files open.
    The key includes the file's inode, size and mtime, so a file replaced or rewritten (iqx
    writes by rename) is reopened. Nothing of this lives in the dask graph.
    """
    st = os.stat(path)
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
    cache = getattr(_HANDLES, "cache", None)
    if cache is None:
        cache = _HANDLES.cache = OrderedDict()
    ds = cache.get(key)
    if ds is not None:
        cache.move_to_end(key)
        return ds
    ds = rio_open(path)
    cache[key] = ds
    while len(cache) > _MAX_HANDLES:
        cache.popitem(last=False)[1].close()
    return ds


def _forget(path: str) -> None:
    cache = getattr(_HANDLES, "cache", None) or {}
    for key in [k for k in cache if k[0] == path]:
        cache.pop(key).close()


def clear_handle_cache() -> None:
    """Close the datasets the calling thread keeps open for window reads."""
    cache = getattr(_HANDLES, "cache", None)
    while cache:
        cache.popitem()[1].close()


def _check_tiff_blocks(ds: Any, path: Path) -> None:
    """Fail early on a truncated TIFF: every block must end inside the file.

    Reads only the TIFF directory (``BLOCK_OFFSET_*``/``BLOCK_SIZE_*`` items), no pixel.
    """
    size = path.stat().st_size
    by, bx = ds.block_shapes[0]
    nrow, ncol = math.ceil(ds.height / by), math.ceil(ds.width / bx)
    interleave = str(ds.tags(ns="IMAGE_STRUCTURE").get("INTERLEAVE", "PIXEL")).upper()
    bands = [1] if interleave == "PIXEL" else list(range(1, ds.count + 1))
    rows = range(nrow) if nrow * ncol <= _MAX_BLOCKS_CHECKED else [nrow - 1]
    for b in bands:
        for i in rows:
            for j in range(ncol):
                off = ds.get_tag_item(f"BLOCK_OFFSET_{j}_{i}", "TIFF", bidx=b)
                nbytes = ds.get_tag_item(f"BLOCK_SIZE_{j}_{i}", "TIFF", bidx=b)
                if not off or not nbytes:  # sparse block or item unavailable
                    continue
                end = int(off) + int(nbytes)
                if end > size:
                    raise RasterReadError(
                        f"{path}: truncated or corrupt TIFF: block ({i}, {j}) of band {b} "
                        f"ends at byte {end} but the file has {size} bytes"
                    )


def _check_png_trailer(path: Path) -> None:
    """Fail early on a truncated PNG (GDAL would return garbage pixels without an error)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(max(0, size - 64))
        tail = fh.read()
    if b"IEND" not in tail:
        raise RasterReadError(f"{path}: truncated or corrupt PNG (no IEND chunk at the end)")


def raster_mask_flags(path: str | Path) -> list[list[str]]:
    """GDAL mask flags of every band (e.g. ``[["nodata"], ["per_dataset", "alpha"]]``)."""
    with rio_open(path) as ds:
        return [[f.name for f in flags] for flags in ds.mask_flag_enums]


class RasterWindowReader:
    """Array-like over a raster file: ``reader[band, y, x]`` opens the file and reads a window.

    Parameters
    ----------
    path : str
        The raster file.
    shape : tuple of int
        ``(band, y, x)`` shape of the file.
    dtype : numpy.dtype
        Data type of the bands (bool with ``masks=True``).
    masks : bool
        Read GDAL's validity masks (``read_masks(...) > 0``) instead of the pixels.
    """

    ndim = 3

    def __init__(
        self,
        path: str,
        shape: tuple[int, int, int],
        dtype: Any,
        masks: bool = False,
        palette: np.ndarray | None = None,
    ):
        self.path = str(path)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(bool) if masks else np.dtype(dtype)
        self.masks = masks
        self.palette = palette

    def __repr__(self) -> str:
        kind = "masks" if self.masks else "pixels"
        return f"RasterWindowReader({self.path!r}, {kind}, shape={self.shape}, dtype={self.dtype})"

    def _slices(self, key: Any) -> tuple[list[slice], list[bool]]:
        if not isinstance(key, tuple):
            key = (key,)
        key = key + (slice(None),) * (3 - len(key))
        slices, squeeze = [], []
        for k, n in zip(key, self.shape):
            if isinstance(k, int | np.integer):
                k = int(k) + n if k < 0 else int(k)
                slices.append(slice(k, k + 1, 1))
                squeeze.append(True)
            elif isinstance(k, slice):
                slices.append(slice(*k.indices(n)))
                squeeze.append(False)
            else:
                raise TypeError(f"unsupported index {k!r}")
        return slices, squeeze

    def __getitem__(self, key: Any) -> np.ndarray:
        from rasterio.errors import RasterioError
        from rasterio.windows import Window

        (sb, sy, sx), squeeze = self._slices(key)
        bands = list(range(self.shape[0]))[sb]
        rows = range(self.shape[1])[sy]
        cols = range(self.shape[2])[sx]
        if not bands or not rows or not cols:
            out = np.empty((len(bands), len(rows), len(cols)), dtype=self.dtype)
        else:
            r0, c0 = min(rows), min(cols)
            window = Window(c0, r0, max(cols) - c0 + 1, max(rows) - r0 + 1)
            # a palette file has one band of indices; its colour bands are looked up
            indexes = [1] if self.palette is not None else [b + 1 for b in bands]
            try:
                ds = _cached_handle(self.path)
                if self.masks:
                    out = ds.read_masks(indexes, window=window) > 0
                else:
                    out = ds.read(indexes, window=window)
                if self.palette is not None:
                    full = (
                        np.repeat(out, self.shape[0], axis=0)
                        if self.masks
                        else expand_palette(out, self.palette)
                    )
                    out = full[bands[0] : bands[-1] + 1]
            except RasterReadError:
                raise
            except (RasterioError, OSError) as exc:
                _forget(self.path)
                raise RasterReadError(
                    f"{self.path}: failed to read window rows {r0}:{r0 + window.height}, "
                    f"cols {c0}:{c0 + window.width} ({exc}); the file may be truncated or corrupt"
                ) from exc
            if sy.step != 1 or sx.step != 1:
                out = out[:, sy.start - r0 :: sy.step, sx.start - c0 :: sx.step]
        idx = tuple(0 if s else slice(None) for s in squeeze)
        return out[idx]


def _bit_depth(ds: Any, dtype: np.dtype) -> int | None:
    """The file's declared depth (GDAL ``NBITS`` or iqx's item), None when it declares none.

    ``NBITS`` of a floating-point raster means half precision, not a value range: ignored.
    """
    if dtype.kind not in "ui":
        return None
    for tags in (ds.tags(1, ns="IMAGE_STRUCTURE"), ds.tags(ns="IMAGE_STRUCTURE"), ds.tags()):
        for key in ("NBITS", TAG_BIT_DEPTH):
            if tags.get(key):
                try:
                    return int(tags[key])
                except ValueError:
                    pass
    return None


def _history(ds: Any) -> list[str]:
    raw = ds.tags().get(TAG_HISTORY)
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def raster_meta(
    ds: Any, p: Path, bit_depth: int | None
) -> tuple[tuple[int, int, int], np.dtype, Any, dict[str, Any]]:
    """``(shape, dtype, block shape, attrs)`` of an open dataset, with iqx's checks.

    Raises for mixed or unsupported dtypes and for truncated TIFF/PNG files (no pixel read).
    """
    if len(set(ds.dtypes)) != 1:
        raise UnsupportedDtypeError(f"{p}: bands have different dtypes {ds.dtypes}")
    dtype = check_dtype(ds.dtypes[0], p, "open")
    if ds.driver == "GTiff":
        _check_tiff_blocks(ds, p)
    elif ds.driver == "PNG":
        _check_png_trailer(p)
    shape = (ds.count, ds.height, ds.width)
    block = ds.block_shapes[0] if ds.block_shapes else None
    nodata = clean_nodata(ds.nodata, dtype)
    lut = palette_table(ds)
    if lut is not None:  # read as the colours shown (see palette_table)
        shape, dtype, nodata = (lut.shape[1], ds.height, ds.width), np.dtype(np.uint8), None
        if bit_depth is not None and bit_depth > 8:
            raise UnsupportedDtypeError(
                f"{p}: a palette image reads as 8-bit colours; bit_depth={bit_depth} cannot apply"
            )
    attrs = scene_attrs(
        crs=ds.crs.to_wkt() if ds.crs else None,
        transform=tuple(ds.transform)[:6],
        nodata=nodata,
        # a palette's NBITS counts index bits, not colour bits
        bit_depth=bit_depth if bit_depth is not None or lut is not None else _bit_depth(ds, dtype),
        bit_depth_source="user" if bit_depth is not None else "metadata",
        source=str(p),
        driver=ds.driver,
        history=_history(ds),
    )
    if attrs["bit_depth"] is None:
        hint = ds.tags().get(TAG_BIT_DEPTH_HINT)
        if hint and str(hint).isdigit():
            attrs["bit_depth"] = int(hint)  # unsourced: the bit-depth rule's lower bound
    return shape, dtype, block, attrs


def open_raster(
    path: str | Path, *, chunks: Any = None, bit_depth: int | None = None
) -> xr.DataArray:
    """Open a GDAL-readable raster as a lazy ``(band, y, x)`` scene (see ``open_scene``)."""
    p = check_exists(path)
    if p.is_dir():
        raise RasterReadError(f"{p}: is a folder, not a raster file (nor a zarr store)")
    with rio_open(p) as ds:
        shape, dtype, block, attrs = raster_meta(ds, p, bit_depth)
        palette = palette_table(ds)
    transform = attrs["transform"]
    cb, cy, cx = normalize_chunks(chunks, shape, block, p)
    stat = p.stat()
    reader = RasterWindowReader(str(p), shape, dtype, palette=palette)
    name = "iqx-read-" + tokenize(str(p.resolve()), stat.st_mtime_ns, stat.st_size, (cb, cy, cx))
    data = da.from_array(
        reader,
        chunks=(cb, cy, cx),
        lock=False,
        asarray=False,
        fancy=False,
        name=name,
        meta=np.empty((0, 0, 0), dtype=dtype),
        inline_array=True,
    )
    y, x = pixel_coords(transform, shape[1], shape[2])
    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={"band": np.arange(1, shape[0] + 1), "y": y, "x": x},
        name=p.stem,
        attrs=attrs,
    )
