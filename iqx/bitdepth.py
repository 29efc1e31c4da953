"""Bit depth of a scene: the one rule every consumer uses.

Satellite data hold 10- to 14-bit values in ``uint16``, usually without an ``NBITS`` tag.
The bit depth ``B`` of a scene (and with it the ``L = 2**B - 1`` of PSNR/SSIM, the JPEG
sample precision, the source depth of ``quantize`` and the clipping range of the noise
modifiers) comes from the first of these sources that applies:

1. ``"user"``: an explicit value (``open_scene(..., bit_depth=)``, ``--bit-depth``, a
   dataset-level ``bit_depth``, a ``bit_depth=`` argument, or :func:`with_bit_depth`);
2. ``"metadata"``: the file's ``NBITS`` / ``IQX_BIT_DEPTH`` item (or a zarr attribute), or a
   modifier that knows its output depth (``quantize(mode="shift")``);
3. ``"measured"``: the effective depth of the pixels, ``max(8, bit_length(max))``, for
   unsigned data wider than 8 bits. The maximum is computed on first need, once per dask
   graph (cached by the graph's name), never when a file is opened;
4. ``"dtype"``: the dtype's width (uint8 and signed integers; wide unsigned data when a caller
   asks not to measure).

Floating-point data have no bit depth unless the user declares one (``source="none"``).
A measured depth is a lower bound of the sensor's depth (a dark 11-bit scene may measure 10
bits); declare the depth when it is known.

The declared depth lives in ``attrs["bit_depth"]`` with ``attrs["bit_depth_source"]``
(``"user"`` or ``"metadata"``). A ``bit_depth`` attribute *without* a source is a hint,
not a declaration: it is ignored when it equals the dtype's width (older iqx versions wrote
the dtype's width when nothing was known); on wide unsigned data the value range decides,
with the hint as a lower bound (``max(hint, measured)``: an 8-bit scene scaled into uint16
with ``astype("uint16") * 8`` keeps the ``bit_depth=8`` of its 8-bit attrs, but its values
need 11 bits, and codecs must not take it for 8-bit data); on other dtypes (uint8, signed,
float) it is taken as metadata.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError

__all__ = [
    "SOURCES",
    "BitDepth",
    "DataRangeWarning",
    "bits_for_value",
    "check_bit_depth",
    "check_data_range",
    "clear_measurements",
    "cached_max",
    "data_max",
    "declared_bit_depth",
    "lazy_bit_depth",
    "pair_bit_depth",
    "pending_max",
    "remember_max",
    "resolve_bit_depth",
    "with_bit_depth",
]

#: sources of a bit depth, by priority
SOURCES = ("user", "metadata", "measured", "dtype")
_RANK = {s: i for i, s in enumerate(SOURCES)}

#: effective depths are never reported below this (8-bit values in uint16 are 8-bit data)
MIN_MEASURED_BITS = 8

#: how errors name the attribute
_ATTR = "attrs['bit_depth']"

#: a maximum up to this factor above ``data_range`` does not warn (codec overshoot)
RANGE_TOLERANCE = 1.05


class DataRangeWarning(UserWarning):
    """A PSNR/SSIM ``data_range`` smaller than the data's largest value."""


@dataclass(frozen=True)
class BitDepth:
    """A bit depth and where it came from.

    Attributes
    ----------
    bits : int or None
        Bits per sample; None for floating-point data without a declared depth.
    source : str
        ``"user"``, ``"metadata"``, ``"measured"``, ``"dtype"`` or ``"none"``.
    max_value : float or None
        The data's largest (valid) value when it was measured.
    """

    bits: int | None
    source: str
    max_value: float | None = None

    @property
    def data_range(self) -> float | None:
        """``2**bits - 1`` (None without a depth)."""
        return None if self.bits is None else float((1 << self.bits) - 1)


def _width(dtype: Any) -> int:
    return np.dtype(dtype).itemsize * 8


def _measurable(dtype: Any) -> bool:
    dt = np.dtype(dtype)
    return dt.kind == "u" and dt.itemsize > 1


def check_bit_depth(value: Any, dtype: Any = None, *, owner: str = "bit_depth") -> int:
    """``value`` as an int in ``1..width`` of ``dtype`` (1..64 for floats or no dtype).

    Raises
    ------
    InvalidParameterError
        Not an integer, or outside the range.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise InvalidParameterError(f"{owner} must be an integer number of bits, got {value!r}")
    hi = 64
    if dtype is not None and np.dtype(dtype).kind in "ui":
        hi = _width(dtype)
    if not 1 <= int(value) <= hi:
        where = f" for {np.dtype(dtype)} data" if dtype is not None else ""
        raise InvalidParameterError(f"{owner} must be in 1..{hi}{where}, got {value}")
    return int(value)


def with_bit_depth(scene: xr.DataArray, bits: int | None, source: str = "user") -> xr.DataArray:
    """A shallow copy of ``scene`` declaring ``bits`` (from ``source``); None: no change."""
    if bits is None:
        return scene
    if source not in ("user", "metadata"):
        raise InvalidParameterError(
            f"a declared bit depth comes from 'user' or 'metadata', got {source!r}"
        )
    bits = check_bit_depth(bits, scene.dtype)
    out = scene.copy(deep=False)
    out.attrs = {**scene.attrs, "bit_depth": bits, "bit_depth_source": source}
    return out


def declared_bit_depth(scene: Any) -> BitDepth | None:
    """The user's or the metadata's depth from ``attrs`` (no pixel read), or None."""
    attrs = getattr(scene, "attrs", None) or {}
    bits = attrs.get("bit_depth")
    if bits is None:
        return None
    source = attrs.get("bit_depth_source")
    dtype = np.dtype(scene.dtype)
    if source is None:
        if int(bits) == _width(dtype):
            return None  # older iqx wrote the dtype's width when nothing was known
        if _measurable(dtype):
            return None  # a hint: the value range decides (see _hint)
        source = "metadata"
    if source not in ("user", "metadata"):
        return None
    return BitDepth(check_bit_depth(bits, dtype, owner=_ATTR), source)


def _hint(scene: Any) -> int | None:
    """An unsourced ``bit_depth`` attribute of wide unsigned data: a lower bound, or None.

    Such an attribute is no declaration (attrs copied from other data keep it, e.g. the
    ``bit_depth=8`` of an 8-bit scene multiplied into uint16); the measured depth wins when
    the values need more bits.
    """
    attrs = getattr(scene, "attrs", None) or {}
    bits = attrs.get("bit_depth")
    dtype = np.dtype(scene.dtype)
    if bits is None or attrs.get("bit_depth_source") is not None or not _measurable(dtype):
        return None
    bits = check_bit_depth(bits, dtype, owner=_ATTR)
    return None if bits == _width(dtype) else bits


def _measured(top: float, width: int, hint: int | None) -> BitDepth:
    """The depth of data whose maximum is ``top``, at least ``hint`` (see :func:`_hint`)."""
    bits = _bits_of(top, width)
    if hint is not None and hint >= bits:
        return BitDepth(hint, "metadata")  # the attribute, confirmed by the values
    return BitDepth(bits, "measured", top)


# -- the measured maximum, cached per dask graph --------------------------------------------

_CACHE: OrderedDict[tuple, float] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 4096


def clear_measurements() -> None:
    """Forget every measured maximum (they are otherwise kept for the process's lifetime)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _key(scene: xr.DataArray) -> tuple | None:
    from iqx.parallel import is_dask

    if not is_dask(scene):
        return None
    return (scene.data.name, scene.attrs.get("nodata"))


def _valid_max_expr(scene: xr.DataArray) -> Any:
    """The (lazy for dask) maximum over valid pixels; 0 for a scene with none."""
    data = scene.data
    nodata = scene.attrs.get("nodata")
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        data = np.where(data != np.asarray(nodata).astype(scene.dtype), data, 0)
    if data.size == 0:
        return np.zeros((), dtype=scene.dtype)
    return np.max(data)


def cached_max(scene: xr.DataArray) -> float | None:
    """The maximum already measured for this graph, or None (NumPy data: measured now)."""
    key = _key(scene)
    if key is None:
        return float(_valid_max_expr(scene))
    with _CACHE_LOCK:
        return _CACHE.get(key)


def pending_max(scenes: list[Any]) -> list[tuple[xr.DataArray, Any]]:
    """``(scene, lazy max)`` of the scenes whose depth would be measured and is not cached.

    Compute the lazy maxima together (one pass, ``dask.compute``) and hand them to
    :func:`remember_max`, so that a batch of images is measured in parallel.
    """
    out = []
    for s in scenes:
        if declared_bit_depth(s) is None and _measurable(s.dtype) and cached_max(s) is None:
            out.append((s, _valid_max_expr(s)))
    return out


def remember_max(scene: xr.DataArray, value: Any) -> None:
    """Cache ``value`` as the measured maximum of ``scene``'s graph."""
    key = _key(scene)
    if key is not None:
        with _CACHE_LOCK:
            _CACHE[key] = float(np.asarray(value))


def data_max(scene: Any) -> float:
    """Largest valid value of ``scene`` (nodata excluded), computed once per dask graph."""
    from iqx.parallel import as_scene

    scene = as_scene(scene)
    value = cached_max(scene)
    if value is not None:
        return value
    value = float(_valid_max_expr(scene).compute())
    with _CACHE_LOCK:
        _CACHE[_key(scene)] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def bits_for_value(value: float) -> int:
    """Effective bits of data whose maximum is ``value``: ``max(8, bit_length(value))``."""
    return max(MIN_MEASURED_BITS, int(max(value, 0)).bit_length())


def _bits_of(value: Any, width: int) -> int:
    return min(width, bits_for_value(float(np.asarray(value))))


def resolve_bit_depth(
    scene: Any, bit_depth: int | None = None, *, measure: bool = True
) -> BitDepth:
    """The bit depth of ``scene`` by the rule user > metadata > measured > dtype.

    Parameters
    ----------
    scene : array or DataArray
        The data (only attrs and dtype are read unless the depth must be measured).
    bit_depth : int, optional
        Explicit value: wins over everything.
    measure : bool
        Measure undeclared wide unsigned data (computes its maximum once); otherwise fall
        back to the dtype's width.

    Returns
    -------
    BitDepth
    """
    dtype = np.dtype(scene.dtype)
    if bit_depth is not None:
        return BitDepth(check_bit_depth(bit_depth, dtype), "user")
    declared = declared_bit_depth(scene)
    if declared is not None:
        return declared
    if dtype.kind == "f":
        return BitDepth(None, "none")
    if dtype.kind not in "ui":
        raise InvalidParameterError(f"{dtype} data have no bit depth")
    hint = _hint(scene)  # checked even when not measuring: a bad attribute is an error
    if _measurable(dtype) and measure:
        return _measured(data_max(scene), _width(dtype), hint)
    return BitDepth(_width(dtype), "dtype")


def pair_bit_depth(
    reference: Any, test: Any, bit_depth: int | None = None, *, measure: bool = True
) -> BitDepth:
    """One bit depth for two images (symmetric in its arguments).

    The declared depths of either image win (the highest-priority source, the larger depth
    among equals); else the depth measured on both images together; else the wider dtype.
    """
    scenes = [s for s in (reference, test) if s is not None]
    if bit_depth is not None:
        dtype = max((np.dtype(s.dtype) for s in scenes), key=lambda d: (d.kind == "f", d.itemsize))
        return BitDepth(check_bit_depth(bit_depth, dtype), "user")
    declared = [d for d in map(declared_bit_depth, scenes) if d is not None]
    if declared:
        best = min(_RANK[d.source] for d in declared)
        return BitDepth(max(d.bits for d in declared if _RANK[d.source] == best), SOURCES[best])
    parts = [resolve_bit_depth(s, measure=measure) for s in scenes]
    if any(p.bits is None for p in parts):
        return BitDepth(None, "none")
    rank = min(_RANK[p.source] for p in parts)
    tops = [p.max_value for p in parts if p.max_value is not None]
    return BitDepth(max(p.bits for p in parts), SOURCES[rank], max(tops) if tops else None)


def lazy_bit_depth(scene: xr.DataArray) -> tuple[Any, str]:
    """``(bits, source)`` for chunk functions, without computing anything.

    ``bits`` is an int when the depth is declared, already measured, the dtype's, or the data
    is NumPy; otherwise a lazy value (computed with the graph that uses it, and cached).
    """
    dtype = np.dtype(scene.dtype)
    declared = declared_bit_depth(scene)
    if declared is not None:
        return declared.bits, declared.source
    if not _measurable(dtype):
        return resolve_bit_depth(scene, measure=False).bits, "dtype"
    hint = _hint(scene)
    top = cached_max(scene)
    if top is not None:
        depth = _measured(top, _width(dtype), hint)
        return depth.bits, depth.source
    from iqx.parallel import lazy_call, recompute_independently

    # a cloned graph: the maximum is a pass of its own, so the chunks of the pass that uses
    # it are not all held in memory until the maximum is known
    top = _valid_max_expr(recompute_independently(scene))
    return lazy_call(_remember_bits, top, _key(scene), _width(dtype), hint), "measured"


def _remember_bits(top: Any, key: tuple, width: int, hint: int | None = None) -> int:
    value = float(np.asarray(top))
    with _CACHE_LOCK:
        _CACHE[key] = value
    return _measured(value, width, hint).bits


def check_data_range(data_range: float, top: float | None, *, source: str) -> None:
    """Warn (:class:`DataRangeWarning`) when the data's maximum exceeds ``data_range``.

    A 5 % tolerance lets a lossy copy overshoot a declared range (a JPEG of 11-bit data may
    decode a few values above 2047) without a warning.
    """
    if top is None or not math.isfinite(top) or top <= data_range * RANGE_TOLERANCE:
        return
    warnings.warn(
        f"data_range={data_range:g} (from {source}) is smaller than the data's largest value "
        f"{top:g}: PSNR/SSIM would be meaningless; pass data_range= (or bit_depth=) of at "
        f"least {top:g}, e.g. {float((1 << bits_for_value(top)) - 1):g}",
        DataRangeWarning,
        stacklevel=3,
    )
