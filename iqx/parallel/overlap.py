"""Neighbourhood operations on chunked scenes: the project's only ``map_overlap`` call.

A kernel that needs neighbours declares its halo (computed from its parameters by a
``*_halo`` function in :mod:`iqx.kernels`). The image exterior is padded with a named
boundary mode whose meaning is SciPy's (``reflect`` is ``d c b a | a b c d``), both for NumPy
input (``numpy.pad``) and for dask input (``dask.array.map_overlap``'s equivalent boundary),
so the dask result equals the NumPy result for every chunking.

A halo larger than the smallest chunk is never handled by a silent rechunk: it raises
:class:`~iqx.errors.HaloTooLargeError` unless ``rechunk=True`` is passed explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import HaloTooLargeError, InvalidParameterError
from iqx.parallel.backend import as_scene, is_dask, with_data
from iqx.parallel.chunks import regular_chunks_at_least

__all__ = ["BOUNDARY_MODES", "Halo", "map_overlap_xr"]

#: SciPy mode name -> (numpy.pad mode, dask boundary)
BOUNDARY_MODES: dict[str, tuple[str, str]] = {
    "reflect": ("symmetric", "reflect"),
    "nearest": ("edge", "nearest"),
    "wrap": ("wrap", "periodic"),
}


@dataclass(frozen=True)
class Halo:
    """Neighbourhood depth in pixels along ``y`` and ``x``."""

    y: int
    x: int

    @classmethod
    def of(cls, value: int | tuple[int, int] | Halo) -> Halo:
        """Build a Halo from an int (same on both axes), a ``(y, x)`` pair or a Halo."""
        if isinstance(value, Halo):
            return value
        if isinstance(value, tuple):
            return cls(int(value[0]), int(value[1]))
        return cls(int(value), int(value))

    def __post_init__(self) -> None:
        if self.y < 0 or self.x < 0:
            raise InvalidParameterError(f"halo must be non-negative, got {self}")


def _check_halo(chunks: tuple[tuple[int, ...], ...], halo: Halo) -> list[str]:
    problems = []
    for axis, depth in (("y", halo.y), ("x", halo.x)):
        sizes = chunks[1 if axis == "y" else 2]
        if depth and min(sizes) < depth:
            problems.append(f"{axis}: halo {depth} > smallest chunk {min(sizes)}")
    return problems


def map_overlap_xr(
    kernel: Callable[..., np.ndarray],
    image: xr.DataArray,
    *,
    halo: int | tuple[int, int] | Halo,
    boundary: str = "reflect",
    dtype: Any = None,
    kwargs: dict[str, Any] | None = None,
    rechunk: bool = False,
    attrs: dict | None = None,
) -> xr.DataArray:
    """Apply ``kernel(block, **kwargs)`` to every chunk extended by ``halo`` neighbours.

    The kernel receives a ``(band, y + 2*halo.y, x + 2*halo.x)`` block and returns an array of
    the same shape; the halo is trimmed from its output.

    Parameters
    ----------
    kernel : callable
        NumPy in, NumPy out.
    image : xarray.DataArray
        Scene with dims ``(band, y, x)``.
    halo : int, (int, int) or Halo
        Neighbourhood depth.
    boundary : {"reflect", "nearest", "wrap"}
        How the image exterior is filled (SciPy's mode names).
    dtype : dtype, optional
        Output dtype (default: the input's).
    kwargs : dict, optional
        Extra keyword arguments for the kernel.
    rechunk : bool
        If the halo is larger than a chunk, rechunk explicitly instead of raising.
    attrs : dict, optional
        Attributes of the result (default: the input's).

    Raises
    ------
    HaloTooLargeError
        If ``halo`` exceeds the smallest chunk and ``rechunk`` is False.
    """
    image = as_scene(image)
    halo = Halo.of(halo)
    if boundary not in BOUNDARY_MODES:
        raise InvalidParameterError(
            f"boundary must be one of {sorted(BOUNDARY_MODES)}, got {boundary!r}"
        )
    np_mode, dask_boundary = BOUNDARY_MODES[boundary]
    kwargs = dict(kwargs or {})
    out_dtype = np.dtype(dtype if dtype is not None else image.dtype)
    ny, nx = image.sizes["y"], image.sizes["x"]
    if is_dask(image):
        data = image.data
        problems = _check_halo(data.chunks, halo)
        if problems:
            if not rechunk:
                raise HaloTooLargeError(
                    "halo larger than a chunk (" + "; ".join(problems) + "); "
                    "use larger chunks or pass rechunk=True"
                )
            if halo.y > ny or halo.x > nx:
                raise HaloTooLargeError(
                    f"halo {halo} is larger than the image itself ({ny} x {nx})"
                )
            data = data.rechunk(
                {
                    1: regular_chunks_at_least(ny, max(halo.y, max(data.chunks[1]))),
                    2: regular_chunks_at_least(nx, max(halo.x, max(data.chunks[2]))),
                }
            )
        out = data.map_overlap(
            kernel,
            depth={0: 0, 1: halo.y, 2: halo.x},
            boundary={0: "none", 1: dask_boundary, 2: dask_boundary},
            trim=True,
            dtype=out_dtype,
            meta=np.array((), dtype=out_dtype),
            **kwargs,
        )
    else:
        block = np.pad(
            np.asarray(image.data), ((0, 0), (halo.y, halo.y), (halo.x, halo.x)), mode=np_mode
        )
        res = np.asarray(kernel(block, **kwargs), dtype=out_dtype)
        out = res[:, halo.y : halo.y + ny, halo.x : halo.x + nx]
    return with_data(image, out, attrs=attrs)
