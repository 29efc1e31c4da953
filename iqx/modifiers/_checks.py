"""Checks shared by the modifiers: parameter values, dtypes, and the range integer outputs
are clipped to (the bit-depth rule of :mod:`iqx.bitdepth` applied to a scene).

Re-exported by :mod:`iqx.modifiers._base` (and ``scene_bit_depth`` by :mod:`iqx.modifiers`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr

from iqx.bitdepth import lazy_bit_depth, resolve_bit_depth
from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.parallel import lazy_call

__all__ = [
    "check_choice",
    "check_float",
    "check_int",
    "check_numeric",
    "check_unsigned",
    "clip_range",
    "int_range",
    "scene_bit_depth",
]


def scene_bit_depth(image: xr.DataArray, *, measure: bool = False) -> int:
    """Bit depth of the data by the bit-depth rule of :mod:`iqx.bitdepth` (one rule for all).

    The depth is :func:`iqx.bitdepth.resolve_bit_depth`'s: a declared depth (``attrs``
    ``bit_depth`` with its ``bit_depth_source``, a user's value, the file's ``NBITS``) wins.
    Without one, integer data get the dtype's width, unless ``measure`` asks for the depth of
    the pixels. An unsourced ``bit_depth`` attribute on wide unsigned data is a hint, a lower
    bound only: it never narrows the range (a uint16 copy of 8-bit data multiplied by 8 keeps
    the ``bit_depth=8`` of its source's attrs but holds 11-bit values).

    Parameters
    ----------
    image : DataArray
        The scene (only ``attrs`` and ``dtype`` are read unless ``measure``).
    measure : bool
        Measure undeclared wide unsigned data (computes their maximum, once per dask graph).
        The default keeps graph building free of computation, and NumPy and dask input
        give the same result; modifiers that clip to the depth lazily use
        :func:`iqx.bitdepth.lazy_bit_depth` instead.

    Raises
    ------
    UnsupportedDtypeError
        Non-numeric data, or floating-point data without a declared depth.
    InvalidParameterError
        If ``attrs["bit_depth"]`` does not fit the dtype.
    """
    dtype = np.dtype(image.dtype)
    if dtype.kind not in "uif":
        raise UnsupportedDtypeError(f"{dtype} data has no integer bit depth")
    bits = resolve_bit_depth(image, measure=measure).bits
    if bits is None:
        raise UnsupportedDtypeError(
            f"{dtype} data has no integer bit depth (declare one: attrs bit_depth, bit_depth=)"
        )
    return bits


def check_int(owner: str, name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as an int in ``[lo, hi]`` or :class:`InvalidParameterError` naming it."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        value, ok = int(value), True
    if not ok or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise InvalidParameterError(f"{owner}: {name} must be an integer in {rng}, got {value!r}")
    return int(value)


def check_float(
    owner: str,
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """``value`` as a finite float within bounds or :class:`InvalidParameterError`."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    v = float(value) if ok else math.nan
    bad = not ok or not math.isfinite(v)
    if not bad and lo is not None:
        bad = v <= lo if lo_open else v < lo
    if not bad and hi is not None:
        bad = v >= hi if hi_open else v > hi
    if bad:
        lo_s = "" if lo is None else ("> " if lo_open else ">= ") + format(lo, "g")
        hi_s = "" if hi is None else ("< " if hi_open else "<= ") + format(hi, "g")
        cond = " and ".join(s for s in (lo_s, hi_s) if s) or "finite"
        raise InvalidParameterError(f"{owner}: {name} must be a number {cond}, got {value!r}")
    return v


def check_choice(owner: str, name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value`` if it is one of ``choices`` else :class:`InvalidParameterError`."""
    choices = tuple(choices)
    if value not in choices:
        raise InvalidParameterError(
            f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


def check_unsigned(owner: str, image: xr.DataArray) -> int:
    """Require uint8/uint16 data; return its bit depth (:func:`scene_bit_depth`)."""
    if image.dtype not in (np.uint8, np.uint16):
        raise UnsupportedDtypeError(
            f"{owner} needs uint8 or uint16 data (8- to 16-bit), got {image.dtype}"
        )
    return scene_bit_depth(image)


def check_numeric(owner: str, image: xr.DataArray) -> None:
    """Require integer or floating data (not bool/complex)."""
    kind = np.dtype(image.dtype).kind
    if kind not in "uif":
        raise UnsupportedDtypeError(f"{owner} needs numeric (int/float) data, got {image.dtype}")


def _top_of(bits: Any) -> float:
    return float((1 << int(bits)) - 1)


def clip_range(image: xr.DataArray) -> tuple[float, Any]:
    """``(lo, hi)`` for outputs that can leave the data's range (overshooting kernels, noise).

    Unsigned data follow the bit-depth rule in full (declared, else **measured**), so 11-bit
    values stored in uint16 without ``NBITS`` are clipped at 2047, not 65535; ``hi`` is then
    a lazy value for dask input (computed with the graph that uses it, once, cached), a
    float for NumPy input. Signed and float data: :func:`int_range`. Kernels that cannot
    leave ``[min, max]`` of their input (a normalised non-negative blur) need only
    :func:`int_range`, which never measures.
    """
    if np.dtype(image.dtype).kind != "u":
        return int_range(image)
    bits, _ = lazy_bit_depth(image)
    if isinstance(bits, int):
        return 0.0, _top_of(bits)
    return 0.0, lazy_call(_top_of, bits)


def int_range(image: xr.DataArray) -> tuple[float, float]:
    """Clipping range of integer data: ``[0, 2**bit_depth - 1]`` for unsigned, dtype range else.

    The depth is :func:`scene_bit_depth`'s without measuring: the declared depth, else the
    dtype's width (an unsourced hint never narrows it).
    """
    dtype = np.dtype(image.dtype)
    if dtype.kind == "u":
        return 0.0, float((1 << scene_bit_depth(image)) - 1)
    if dtype.kind == "i":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return 0.0, 0.0
