"""Per-tile quality maps: evaluate a function on a regular tile grid, lazily, at any scale.

A *tile map* answers "what is the value of this measure on each ``tile x tile`` cell of the
scene" (SNR, sharpness, texture, cloudiness, ...). The grid is fixed by the scene, not by its
chunking: tile ``(I, J)`` covers rows ``[I*ty, (I+1)*ty)`` and columns ``[J*tx, (J+1)*tx)``
of the scene (origin at the scene's first pixel), so the map is the same for NumPy input and
for every chunking.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
from dask.base import tokenize
from dask.highlevelgraph import HighLevelGraph

from iqx.errors import InvalidParameterError
from iqx.parallel.backend import as_scene, is_dask
from iqx.parallel.overlap import Halo
from iqx.parallel.reduction import BlockInfo, _assemble, _block_info, _halo_grids

__all__ = ["map_tiles_xr", "tile_grid_coords"]


def _tile_pair(tile: int | tuple[int, int]) -> tuple[int, int]:
    pair = tuple(tile) if isinstance(tile, tuple | list) else (tile, tile)
    if len(pair) != 2 or not all(
        isinstance(t, int | np.integer) and not isinstance(t, bool) and t >= 1 for t in pair
    ):
        raise InvalidParameterError(f"tile must be a positive int or a (y, x) pair, got {tile!r}")
    return int(pair[0]), int(pair[1])


def _tile_chunks(size: int, chunks: tuple[int, ...], tile: int, halo: int) -> tuple[int, ...]:
    """Chunks along one axis whose boundaries are multiples of ``tile`` and >= ``halo``.

    Existing chunks are kept when their boundaries already fall on the tile grid; otherwise
    chunks of the largest tile multiple not above the current largest chunk are used. A last
    chunk smaller than the halo is merged into its neighbour (that removes a boundary, so
    alignment is kept).
    """
    bounds = np.cumsum(chunks)[:-1]
    if np.all(bounds % tile == 0):
        sizes = list(chunks)
    else:
        step = max(tile, (max(chunks) // tile) * tile)
        sizes = [step] * (size // step) + ([size % step] if size % step else [])
    k = 0
    while len(sizes) > 1 and k < len(sizes):
        if sizes[k] < halo:
            into = k - 1 if k > 0 else k + 1
            sizes[into] += sizes.pop(k)
            k = 0
        else:
            k += 1
    return tuple(sizes)


def _normalise(value: Any, names: Sequence[str], nb: int) -> list[np.ndarray]:
    """``func``'s return value as one ``(band,)`` array per output name."""
    if len(names) == 1 and not isinstance(value, Mapping):
        values = [value]
    elif isinstance(value, Mapping):
        missing = set(names) - set(value)
        if missing:
            raise InvalidParameterError(f"tile function did not return outputs {sorted(missing)}")
        values = [value[n] for n in names]
    else:
        values = list(value)
        if len(values) != len(names):
            raise InvalidParameterError(
                f"tile function returned {len(values)} values for outputs {list(names)}"
            )
    return [np.broadcast_to(np.asarray(v), (nb,)) for v in values]


def _run_tiles(
    func: Callable,
    info: BlockInfo,
    grids: list,
    tile: tuple[int, int],
    halo: Halo,
    outputs: dict[str, np.dtype],
    kwargs: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Evaluate ``func`` on every tile whose origin lies in one (halo-extended) block."""
    blocks = [_assemble(g) if isinstance(g, list) else g for g in grids]
    block = blocks[0]
    nb, ey, ex = block.shape
    ty, tx = tile
    ny, nx = info.shape
    core_y = ey - info.halo_top - info.halo_bottom
    core_x = ex - info.halo_left - info.halo_right
    nty, ntx = -(-core_y // ty), -(-core_x // tx)
    names = list(outputs)
    out = {n: np.empty((nb, nty, ntx), dtype=dt) for n, dt in outputs.items()}
    ext_y0, ext_x0 = info.y0 - info.halo_top, info.x0 - info.halo_left
    for a in range(nty):
        gy0 = info.y0 + a * ty
        gy1 = min(gy0 + ty, info.y0 + core_y)
        top = min(halo.y, gy0 - ext_y0)
        bottom = min(halo.y, ext_y0 + ey - gy1)
        for b in range(ntx):
            gx0 = info.x0 + b * tx
            gx1 = min(gx0 + tx, info.x0 + core_x)
            left = min(halo.x, gx0 - ext_x0)
            right = min(halo.x, ext_x0 + ex - gx1)
            index = (
                slice(None),
                slice(gy0 - top - ext_y0, gy1 + bottom - ext_y0),
                slice(gx0 - left - ext_x0, gx1 + right - ext_x0),
            )
            tinfo = BlockInfo(
                block_id=(gy0 // ty, gx0 // tx),
                y0=gy0,
                x0=gx0,
                halo_top=top,
                halo_left=left,
                halo_bottom=bottom,
                halo_right=right,
                shape=(ny, nx),
            )
            value = func(block[index], tinfo, *[m[index] for m in blocks[1:]], **kwargs)
            for n, v in zip(names, _normalise(value, names, nb), strict=True):
                out[n][:, a, b] = v
    return out


def tile_grid_coords(
    scene: xr.DataArray, tile: int | tuple[int, int]
) -> tuple[dict[str, Any], tuple[float, ...] | None]:
    """Coordinates of the tile centres of ``scene`` and the coarse grid's transform.

    Parameters
    ----------
    scene : xarray.DataArray
        ``(band, y, x)`` scene; ``attrs["transform"]`` (a 6-tuple ``a, b, c, d, e, f`` with
        ``x = a*col + b*row + c`` and ``y = d*col + e*row + f``, GDAL/rasterio order) is used
        when present.
    tile : int or (int, int)
        Tile size ``(ty, tx)`` in pixels.

    Returns
    -------
    coords : dict
        ``band`` (if the scene has one), ``y`` and ``x``: the centres of the *full* tiles.
        With a transform, ``x = c + A*(J + 0.5) + B*0.5`` and ``y = f + E*(I + 0.5) + D*0.5``
        in the scene's CRS (``A, B, D, E`` of the coarse transform; for rotated transforms
        these are the coordinates along the first tile column/row, as
        :func:`iqx.io.open_scene` does for pixels). Without a transform, pixel-index
        coordinates of the tile centres, ``(I + 0.5)*ty - 0.5``: the scale in which pixel
        ``k`` sits at ``k``.
    transform : tuple or None
        ``(a*tx, b*ty, c, d*tx, e*ty, f)``: the transform of the coarse grid (one coarse pixel
        per full tile), None without a scene transform.
    """
    ty, tx = _tile_pair(tile)
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    nty, ntx = -(-ny // ty), -(-nx // tx)
    coords: dict[str, Any] = {}
    if "band" in scene.coords:
        coords["band"] = scene.coords["band"].values
    transform = scene.attrs.get("transform")
    ti = np.arange(nty, dtype=np.float64) + 0.5
    tj = np.arange(ntx, dtype=np.float64) + 0.5
    if transform is None:
        coords["y"] = ti * ty - 0.5
        coords["x"] = tj * tx - 0.5
        return coords, None
    a, b, c, d, e, f = (float(v) for v in tuple(transform)[:6])
    coarse = (a * tx, b * ty, c, d * tx, e * ty, f)
    coords["x"] = c + coarse[0] * tj + coarse[1] * 0.5
    coords["y"] = f + coarse[4] * ti + coarse[3] * 0.5
    return coords, coarse


def map_tiles_xr(
    func: Callable[..., Any],
    image: Any,
    *,
    tile: int | tuple[int, int],
    halo: int | tuple[int, int] | Halo = 0,
    outputs: Any = np.float64,
    mask: Any = None,
    kwargs: dict[str, Any] | None = None,
    attrs: dict[str, Any] | None = None,
    name: str | None = None,
) -> xr.DataArray | xr.Dataset:
    """Evaluate ``func`` on every tile of a regular grid: a lazy per-tile map.

    The grid has its origin at the scene's first pixel: tile ``(I, J)`` covers rows
    ``[I*ty, (I+1)*ty)`` and columns ``[J*tx, (J+1)*tx)``. The last row/column of tiles is
    **partial** when the scene size is not a multiple of the tile (``func`` then sees a
    smaller block, and ``info`` says so); it is included in the map, and the map's
    coordinates and ``attrs["transform"]`` still describe full tiles (the partial tile's
    centre lies beyond the scene's centre of that strip).

    Tiles are independent of the chunking: a dask-backed scene is rechunked explicitly so
    that chunk boundaries fall on the tile grid (chunks already aligned are kept; otherwise
    the largest multiple of the tile not above the current chunk size), then each chunk
    evaluates the tiles it holds. The result is therefore identical for NumPy input and any
    chunking, and lazy for dask input (nothing is computed until asked).

    Parameters
    ----------
    func : callable
        ``func(block, info, [mask_block], **kwargs)`` for one tile. ``block`` is the
        ``(band, y, x)`` NumPy block of the tile extended by up to ``halo`` pixels of its
        neighbours (never padded: less on the scene border); ``info`` is a
        :class:`~iqx.parallel.BlockInfo` with ``block_id = (I, J)`` the tile index,
        ``y0, x0`` the tile's first pixel in the scene, ``halo_*`` the halo actually present
        on each side (the tile core is ``block[:, halo_top:ny - halo_bottom,
        halo_left:nx - halo_right]``) and ``shape`` the scene's ``(ny, nx)``. ``mask_block``
        (only when ``mask`` is given) is the matching boolean block. The blocks may be views:
        do not modify them. It returns one value per band: for a single output a scalar or a
        ``(band,)`` array; for several outputs a mapping ``{name: value}`` or a sequence in
        the order of ``outputs``. Use NaN (or a sentinel of the dtype) for "not measurable".
        Must be picklable for process-based schedulers.
    image : xarray.DataArray, numpy.ndarray or dask.array.Array
        Scene ``(band, y, x)`` or one band ``(y, x)``.
    tile : int or (int, int)
        Tile size in pixels, ``(ty, tx)`` or one int for square tiles.
    halo : int, (int, int) or Halo
        Pixels of context each tile needs beyond its edges (e.g. a filter radius).
    outputs : dtype or dict of str to dtype
        One dtype: the result is a DataArray of that dtype. A dict ``{name: dtype}``: the
        result is a Dataset with one variable per name.
    mask : bool array-like, optional
        Validity mask of the image's shape (True = valid), passed to ``func`` per tile.
    kwargs : dict, optional
        Extra keyword arguments for ``func``.
    attrs : dict, optional
        Attributes added to the result (after the defaults below).
    name : str, optional
        Name of the resulting DataArray.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        Dims ``(band, y, x)`` on the coarse grid (``ceil(ny/ty) x ceil(nx/tx)``), lazy for
        dask input, NumPy-backed otherwise. Coordinates: ``band`` from the scene, ``y``/``x``
        the tile centres (see :func:`tile_grid_coords`: in the scene's CRS when
        ``attrs["transform"]`` is present, else in pixel units). Attributes: the scene's,
        minus ``transform`` and ``nodata``, plus ``tile = (ty, tx)``, ``scene_shape = (ny,
        nx)`` and ``transform`` scaled by the tile size (when the scene has one).

    Raises
    ------
    InvalidParameterError
        For a bad tile size, a mask of the wrong shape or a function returning the wrong
        outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from iqx.parallel import map_tiles_xr
    >>> img = np.arange(100.0).reshape(10, 10)
    >>> m = map_tiles_xr(lambda b, info: b.mean(axis=(1, 2)), img, tile=5)
    >>> m.shape, float(m[0, 0, 0])
    ((1, 2, 2), 22.0)
    """
    scene = as_scene(image)
    ty, tx = _tile_pair(tile)
    halo = Halo.of(halo)
    kwargs = dict(kwargs or {})
    single = not isinstance(outputs, Mapping)
    out_spec = (
        {name or "value": np.dtype(outputs)}
        if single
        else {str(k): np.dtype(v) for k, v in outputs.items()}
    )
    if not out_spec:
        raise InvalidParameterError("outputs must name at least one output")
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    masks: list[Any] = []
    if mask is not None:
        m = as_scene(mask)
        if m.shape != scene.shape:
            raise InvalidParameterError(f"mask shape {m.shape} != image shape {scene.shape}")
        masks = [m]

    if is_dask(scene):
        data = scene.data
        cy = _tile_chunks(ny, data.chunks[1], ty, halo.y)
        cx = _tile_chunks(nx, data.chunks[2], tx, halo.x)
        data = data.rechunk({0: -1, 1: cy, 2: cx})
        arrays = [data] + [
            (m.data if is_dask(m) else da.from_array(np.asarray(m.data)))
            .astype(bool)
            .rechunk(data.chunks)
            for m in masks
        ]
        values = _tile_graph(func, arrays, (ty, tx), halo, out_spec, kwargs, (ny, nx))
    else:
        blocks = [np.asarray(scene.data)] + [np.asarray(m.data, dtype=bool) for m in masks]
        info = BlockInfo((0, 0), 0, 0, 0, 0, 0, 0, (ny, nx))
        values = _run_tiles(func, info, blocks, (ty, tx), halo, out_spec, kwargs)
    coords, transform = tile_grid_coords(scene, (ty, tx))
    out_attrs = {k: v for k, v in scene.attrs.items() if k not in ("transform", "nodata")}
    out_attrs.update({"tile": (ty, tx), "scene_shape": (ny, nx)})
    if transform is not None:
        out_attrs["transform"] = transform
    out_attrs.update(attrs or {})
    dims = ("band", "y", "x")
    if single:
        (key,) = out_spec
        return xr.DataArray(values[key], dims=dims, coords=coords, attrs=out_attrs, name=name)
    return xr.Dataset({k: (dims, v) for k, v in values.items()}, coords=coords, attrs=out_attrs)


def _tile_graph(
    func: Callable,
    arrays: list[da.Array],
    tile: tuple[int, int],
    halo: Halo,
    out_spec: dict[str, np.dtype],
    kwargs: dict[str, Any],
    shape: tuple[int, int],
) -> dict[str, da.Array]:
    """One task per chunk (tiles of that chunk, halo strips copied from neighbours) and one
    dask array per output on the coarse grid."""
    data = arrays[0]
    ty, tx = tile
    chunks_y, chunks_x = data.chunks[1], data.chunks[2]
    ys = np.concatenate([[0], np.cumsum(chunks_y)])
    xs = np.concatenate([[0], np.cumsum(chunks_x)])
    token = tokenize([a.name for a in arrays], func, tile, halo, out_spec, kwargs)
    name = f"iqx-tiles-{token}"
    dsk: dict[Any, Any] = {}
    for i in range(len(chunks_y)):
        for j in range(len(chunks_x)):
            info = _block_info(i, j, ys, xs, halo, shape)
            grids = _halo_grids(arrays, i, j, halo, name, dsk)
            dsk[(name, i, j)] = (_run_tiles, func, info, grids, tile, halo, out_spec, kwargs)
    tiles_graph = HighLevelGraph.from_collections(name, dsk, dependencies=arrays)
    out_chunks = (
        (data.shape[0],),
        tuple(-(-c // ty) for c in chunks_y),
        tuple(-(-c // tx) for c in chunks_x),
    )
    result = {}
    for k, (oname, dtype) in enumerate(out_spec.items()):
        out_name = f"{name}-out{k}"
        layer = {
            (out_name, 0, i, j): (operator.getitem, (name, i, j), oname)
            for i in range(len(chunks_y))
            for j in range(len(chunks_x))
        }
        layers = dict(tiles_graph.layers)
        layers[out_name] = layer
        deps = dict(tiles_graph.dependencies)
        deps[out_name] = {name}
        graph = HighLevelGraph(layers, deps)
        result[oname] = da.Array(
            graph, out_name, chunks=out_chunks, dtype=dtype, meta=np.empty((0, 0, 0), dtype)
        )
    return result
