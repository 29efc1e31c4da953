"""Neighbourhood operations on chunked scenes: the project's only ``map_overlap`` call.

A kernel that needs neighbours declares its halo (computed from its parameters by a
``*_halo`` function in :mod:`iqx.kernels`). The image exterior is padded with a named
boundary mode whose meaning is SciPy's (``reflect`` is ``d c b a | a b c d``), both for NumPy
input (``numpy.pad``) and for dask input (``dask.array.map_overlap``'s equivalent boundary),
so the dask result equals the NumPy result for every chunking.

A halo larger than the smallest chunk is never handled by a silent rechunk: it raises
:class:`~iqx.errors.HaloTooLargeError` unless ``rechunk=True`` is passed explicitly.

The dask graph is built here rather than by ``dask.array.map_overlap``: each output chunk is
one task that receives its core chunk plus *copies* of the thin halo strips of its (up to 8)
neighbours, pads the image exterior itself (``numpy.pad``, as for NumPy input), runs the
kernel and returns a contiguous copy of the core. Dask's version concatenates boundary
chunks, overlaps, then trims in separate tasks whose outputs are views on (so keep alive) the
extended blocks; this one holds at most one extended block per running task, and a neighbour
chunk is released as soon as its own core task and its strips are done.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

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
        Extra keyword arguments for the kernel. Lazy values among them (a ``lazy_call``
        result, e.g. a clipping bound from a measured bit depth) are computed once, before
        the kernel runs, and passed as concrete values.
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
    np_mode = BOUNDARY_MODES[boundary][0]
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
        out = _overlap_graph(kernel, data, halo, boundary, out_dtype, kwargs)
    else:
        kwargs = {k: _concrete(v) for k, v in kwargs.items()}
        block = np.pad(
            np.asarray(image.data), ((0, 0), (halo.y, halo.y), (halo.x, halo.x)), mode=np_mode
        )
        res = np.asarray(kernel(block, **kwargs), dtype=out_dtype)
        out = res[:, halo.y : halo.y + ny, halo.x : halo.x + nx]
    return with_data(image, out, attrs=attrs)


def _concrete(value: Any) -> Any:
    """A lazy keyword value computed (NumPy input runs at once), else the value itself."""
    return value.compute() if hasattr(value, "__dask_graph__") else value


def _side(offset: int, depth: int) -> slice:
    """Rows/columns of a neighbour at ``offset`` (-1 before, 0 same, +1 after) in the halo."""
    if offset < 0:
        return slice(-depth, None)
    return slice(0, depth) if offset > 0 else slice(None)


def _strips(block: np.ndarray, depth: tuple[int, int]) -> dict[tuple[int, int], np.ndarray]:
    """*Copies* of the halo strips of ``block`` that its neighbours need, keyed by the
    neighbour's offset ``(di, dj)`` as the neighbour sees it, so the chunk can be released
    as soon as its own core task has run (one task per chunk: its strips are taken at once).
    """
    out = {}
    for di in (-1, 0, 1) if depth[0] else (0,):
        for dj in (-1, 0, 1) if depth[1] else (0,):
            if di or dj:
                index = (slice(None), _side(di, depth[0]), _side(dj, depth[1]))
                out[(di, dj)] = np.array(block[index], copy=True)
    return out


def _extended_block(
    grid: list[list[Any]],
    lazy_values: list[Any] = (),
    *,
    kernel: Callable[..., np.ndarray],
    pads: tuple[tuple[int, int], tuple[int, int]],
    np_mode: str,
    halo: Halo,
    dtype: np.dtype,
    kwargs: dict[str, Any],
    lazy_names: tuple[str, ...] = (),
) -> np.ndarray:
    """Assemble a core chunk and its neighbours' strips (3 x 3 grid of the core, ``[strips
    of a neighbour, offset]`` pairs and None where absent), pad the image exterior, run
    ``kernel`` and return a contiguous copy of the core. ``lazy_values`` are the computed
    values of the lazy keyword arguments named ``lazy_names`` (dask substitutes them)."""
    if lazy_names:
        kwargs = {**kwargs, **dict(zip(lazy_names, lazy_values, strict=True))}
    grid = [[p if p is None or isinstance(p, np.ndarray) else p[0][p[1]] for p in r] for r in grid]
    rows = [[p for p in row if p is not None] for row in grid]
    rows = [r for r in rows if r]
    core = grid[1][1]
    if len(rows) == 1 and len(rows[0]) == 1:
        block = core
    else:
        ny = sum(r[0].shape[1] for r in rows)
        nx = sum(p.shape[2] for p in rows[0])
        block = np.empty((core.shape[0], ny, nx), dtype=core.dtype)
        y = 0
        for r in rows:
            x = 0
            for p in r:
                block[:, y : y + p.shape[1], x : x + p.shape[2]] = p
                x += p.shape[2]
            y += r[0].shape[1]
    if any(pads[0]) or any(pads[1]):
        block = np.pad(block, ((0, 0), *pads), mode=np_mode)
    res = kernel(block, **kwargs)
    del block
    out = res[:, halo.y : res.shape[1] - halo.y, halo.x : res.shape[2] - halo.x]
    return np.array(out, dtype=dtype, copy=True, order="C")


def _single_key(name: str, value: Any) -> Any:
    """The one task key of a lazy keyword value (a delayed value or a one-chunk array)."""
    from dask.core import flatten

    keys = list(flatten(value.__dask_keys__()))
    if len(keys) != 1:
        raise InvalidParameterError(
            f"map_overlap_xr: lazy keyword {name!r} must be one value (a delayed value or a "
            f"one-chunk array), got {len(keys)} chunks"
        )
    return keys[0]


def _overlap_graph(
    kernel: Callable[..., np.ndarray],
    data: da.Array,
    halo: Halo,
    boundary: str,
    dtype: np.dtype,
    kwargs: dict[str, Any],
) -> da.Array:
    """One task per chunk: core + copied halo strips of the neighbours -> kernel -> core.

    The image exterior is filled by ``numpy.pad`` on the assembled block (``reflect`` and
    ``nearest`` only need the block's own pixels there, since every chunk holds at least
    ``halo`` pixels); ``wrap`` takes its strips from the chunks on the opposite side.
    """
    np_mode = BOUNDARY_MODES[boundary][0]
    wrap = boundary == "wrap"
    lazy = {k: v for k, v in kwargs.items() if hasattr(v, "__dask_graph__")}
    eager = {k: v for k, v in kwargs.items() if k not in lazy}
    lazy_keys = [_single_key(k, v) for k, v in lazy.items()]
    token = tokenize(data.name, kernel, halo, boundary, dtype, eager, lazy_keys)
    name = f"iqx-overlap-{token}"
    strips = f"{name}-halo"
    nb, niy, nix = data.numblocks
    depth = (halo.y, halo.x)
    dsk: dict[Any, Any] = {}
    for b in range(nb):
        for i in range(niy):
            for j in range(nix):
                grid: list[list[Any]] = [[None] * 3 for _ in range(3)]
                pads = [[0, 0], [0, 0]]
                for di in (-1, 0, 1):
                    if di and not halo.y:
                        continue
                    ii = i + di
                    if not 0 <= ii < niy:
                        if not wrap:
                            pads[0][(di + 1) // 2] = halo.y
                            continue
                        ii %= niy
                    for dj in (-1, 0, 1):
                        if dj and not halo.x:
                            continue
                        jj = j + dj
                        if not 0 <= jj < nix:
                            if not wrap:
                                pads[1][(dj + 1) // 2] = halo.x
                                continue
                            jj %= nix
                        src = (data.name, b, ii, jj)
                        if di == 0 and dj == 0:
                            grid[1][1] = src
                            continue
                        key = (strips, b, ii, jj)
                        if key not in dsk:
                            dsk[key] = (_strips, src, depth)
                        grid[di + 1][dj + 1] = [key, (di, dj)]
                run = functools.partial(
                    _extended_block,
                    kernel=kernel,
                    pads=((pads[0][0], pads[0][1]), (pads[1][0], pads[1][1])),
                    np_mode=np_mode,
                    halo=halo,
                    dtype=dtype,
                    kwargs=eager,
                    lazy_names=tuple(lazy),
                )
                # the lazy values' keys in a list: dask computes them once and passes them
                dsk[(name, b, i, j)] = (run, grid, list(lazy_keys)) if lazy else (run, grid)
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=[data, *lazy.values()])
    return da.Array(graph, name, chunks=data.chunks, dtype=dtype, meta=np.empty((0, 0, 0), dtype))
