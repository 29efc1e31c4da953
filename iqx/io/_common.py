"""Helpers shared by the readers and writers: paths, dtypes, chunks, coordinates, attrs."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from iqx.errors import InvalidParameterError, PathNotFoundError, UnsupportedDtypeError

__all__ = [
    "DEFAULT_CHUNK_PIXELS",
    "SUPPORTED_DTYPES",
    "check_dtype",
    "check_exists",
    "clean_nodata",
    "default_chunks",
    "normalize_chunks",
    "pixel_coords",
    "scene_attrs",
]

#: target pixels (per band) of a default chunk: about 1024 x 1024
DEFAULT_CHUNK_PIXELS = 1024 * 1024

#: dtypes iqx reads and writes (complex, bool and object arrays are rejected)
SUPPORTED_DTYPES = frozenset(
    np.dtype(t).name
    for t in ("uint8", "int8", "uint16", "int16", "uint32", "int32", "int64", "uint64")
) | frozenset(("float32", "float64"))


def check_exists(path: str | os.PathLike[str]) -> Path:
    """``Path(path)``, or :class:`PathNotFoundError` naming it when it does not exist."""
    p = Path(path)
    if not p.exists():
        raise PathNotFoundError(f"{p}: no such file or folder")
    return p


def check_dtype(dtype: Any, path: str | os.PathLike[str] | None, what: str) -> np.dtype:
    """Return ``np.dtype(dtype)`` or raise :class:`UnsupportedDtypeError` naming the file."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in SUPPORTED_DTYPES:
        where = f"{path}: " if path is not None else ""
        raise UnsupportedDtypeError(
            f"{where}cannot {what} data of dtype {dtype}; supported: {sorted(SUPPORTED_DTYPES)}"
        )
    return dt


def _grow(block: int, target: int, total: int) -> int:
    """A multiple of ``block`` close to ``target`` (at least one block), capped at ``total``."""
    block = max(1, min(block, total))
    n = max(1, round(target / block))
    return min(total, n * block)


def default_chunks(
    shape: tuple[int, int, int], block: tuple[int, int] | None
) -> tuple[int, int, int]:
    """Default ``(band, y, x)`` chunk shape aligned to the file's internal ``block`` (y, x).

    All bands go in one chunk; ``x`` grows to a multiple of the block width near 1024 pixels,
    then ``y`` to a multiple of the block height so a chunk holds about 1024² pixels. Small
    images get a single chunk.
    """
    nb, ny, nx = shape
    by, bx = block if block else (min(ny, 512), min(nx, 512))
    if ny * nx <= DEFAULT_CHUNK_PIXELS:
        return nb, ny, nx
    side = int(math.sqrt(DEFAULT_CHUNK_PIXELS))
    cx = _grow(bx, side, nx)
    cy = _grow(by, DEFAULT_CHUNK_PIXELS / cx, ny)
    return nb, cy, cx


def normalize_chunks(
    chunks: Any, shape: tuple[int, int, int], block: tuple[int, int] | None, path: Any = None
) -> tuple[int, int, int]:
    """Turn the ``chunks`` argument of the readers into a ``(band, y, x)`` chunk shape.

    Accepts None (:func:`default_chunks`), an int (y and x), a ``(y, x)`` or ``(band, y, x)``
    tuple, or a dict with keys among ``band``, ``y``, ``x``. ``-1`` or None in a position
    means the full extent.
    """
    nb, ny, nx = shape
    if chunks is None:
        return default_chunks(shape, block)
    base = dict(zip(("band", "y", "x"), default_chunks(shape, block)))
    if isinstance(chunks, bool):
        raise InvalidParameterError(f"{path}: invalid chunks={chunks!r}")
    if isinstance(chunks, int | np.integer):
        base.update(y=int(chunks), x=int(chunks))
    elif isinstance(chunks, Mapping):
        unknown = set(chunks) - {"band", "y", "x"}
        if unknown:
            raise InvalidParameterError(
                f"{path}: unknown chunk dims {sorted(unknown)}; use 'band', 'y', 'x'"
            )
        base.update(chunks)
    elif isinstance(chunks, Sequence) and len(chunks) in (2, 3):
        keys = ("y", "x") if len(chunks) == 2 else ("band", "y", "x")
        base.update(zip(keys, chunks))
    else:
        raise InvalidParameterError(
            f"{path}: invalid chunks={chunks!r}; use None, an int, (y, x), (band, y, x) or a dict"
        )
    out = []
    for key, total in zip(("band", "y", "x"), (nb, ny, nx)):
        value = base[key]
        if value is None or value == -1:
            value = total
        if not isinstance(value, int | np.integer) or value <= 0:
            raise InvalidParameterError(f"{path}: invalid chunk size {key}={value!r}")
        out.append(min(int(value), total))
    return out[0], out[1], out[2]


def pixel_coords(transform: Sequence[float], ny: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre ``y`` and ``x`` coordinates of a north-up affine ``transform``.

    For rotated or sheared transforms (``b`` or ``d`` non-zero) the coordinates are those of
    the first column / first row; the exact georeferencing stays in ``attrs["transform"]``.
    """
    a, b, c, d, e, f = (float(v) for v in transform[:6])
    cols = np.arange(nx, dtype=np.float64) + 0.5
    rows = np.arange(ny, dtype=np.float64) + 0.5
    x = c + a * cols + b * 0.5
    y = f + e * rows + d * 0.5
    return y, x


def scene_attrs(
    *,
    crs: str | None,
    transform: Sequence[float],
    nodata: Any,
    bit_depth: int | None,
    source: str,
    driver: str,
    history: Sequence[str] = (),
    bit_depth_source: str | None = None,
) -> dict[str, Any]:
    """The attrs every scene carries (see :func:`iqx.io.open_scene`).

    ``bit_depth`` is the *declared* depth (None when neither the user nor the file gives
    one; :func:`iqx.bitdepth.resolve_bit_depth` then measures it on first need) and
    ``bit_depth_source`` says who declared it (``"user"`` or ``"metadata"``).
    """
    declared = bit_depth is not None
    return {
        "crs": crs,
        "transform": tuple(float(v) for v in transform[:6]),
        "nodata": nodata,
        "bit_depth": int(bit_depth) if declared else None,
        "bit_depth_source": (bit_depth_source or "metadata") if declared else None,
        "source": source,
        "driver": driver,
        "iqx_history": list(history),
    }


def clean_nodata(nodata: Any, dtype: np.dtype) -> float | int | None:
    """``nodata`` as a Python int for integer data (when integral), a float otherwise."""
    if nodata is None:
        return None
    value = float(nodata)
    if np.issubdtype(dtype, np.integer) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value
