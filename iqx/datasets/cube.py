"""Datasets as lazy cubes: same-size images stacked into one ``(image, band, y, x)`` array.

:func:`open_cube` stacks the images of a folder dataset into one dask-backed DataArray,
chunked over many images per task (one task reads its images with one file open each and no
dask graph per image). Coordinates: ``image`` (file names), ``band`` and, per image, its
georeferencing: ``transform`` ``(image, affine)`` (GDAL's 6 numbers), ``crs`` (WKT or "")
and ``nodata`` (NaN when unset); ``transform`` holds one 6-tuple per image. ``y``/``x`` are pixel indices: the map coordinates differ
from image to image. Images of several sizes (or band counts, or dtypes) make several cubes:
:func:`open_cubes` returns one per group, :func:`open_cube` raises naming the groups.

:func:`map_cube` applies any per-image NumPy function chunk by chunk; :func:`modify_cube`
and :func:`measure_cube` apply a modifier or blind metrics to every image with the same
per-image semantics as the folder path (each image sees its own attrs: bit depth, nodata,
georeferencing), so results equal ``iqx.modify`` / ``iqx measure`` image by image, for any
chunking. ``iqx.to_zarr(cube, path)`` writes one zarr v3 store and
``iqx.open_dataset(path)`` reads it back as the same cube (see :mod:`iqx.io.cube_zarr`).
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from iqx.datasets.layout import Dataset, open_dataset
from iqx.errors import DatasetLayoutError, InvalidParameterError
from iqx.io._sched import n_workers

__all__ = [
    "CUBE_DIMS",
    "image_attrs",
    "map_cube",
    "measure_cube",
    "modify_cube",
    "open_cube",
    "open_cubes",
]

CUBE_DIMS = ("image", "band", "y", "x")
#: bytes of pixels aimed at per chunk when ``images_per_chunk`` is not given
_CHUNK_BYTES = 64 * 2**20


def _meta(path: Path, bit_depth: int | None) -> tuple[tuple, dict[str, Any]]:
    from iqx.io._png import plain_png_shape
    from iqx.io.images import plain_png_attrs

    shape = plain_png_shape(path)  # a plain PNG's header is all it takes (no GDAL open)
    if shape is not None:
        return (*shape, np.dtype(np.uint8).str), plain_png_attrs(path, bit_depth)
    from iqx.io._rio import raster_meta, rio_open

    with rio_open(path) as ds:
        shape, dtype, _, attrs = raster_meta(ds, path, bit_depth)
    return (*shape, np.dtype(dtype).str), attrs


def _images_per_chunk(n: int, key: tuple, images_per_chunk: int | None) -> int:
    if images_per_chunk is not None:
        if images_per_chunk < 1:
            raise InvalidParameterError(f"images_per_chunk must be >= 1, got {images_per_chunk}")
        return min(n, int(images_per_chunk))
    nbytes = key[0] * key[1] * key[2] * np.dtype(key[3]).itemsize
    by_size = max(1, _CHUNK_BYTES // max(nbytes, 1))
    # at least two chunks per worker when the images allow it (every core has work)
    return max(1, min(n, by_size, math.ceil(n / (2 * n_workers()))))


def _read_stack(paths: Sequence[str], shape: tuple[int, int, int], dtype: str) -> np.ndarray:
    from iqx.io._png import read_plain_png
    from iqx.io.images import read_image

    out = np.empty((len(paths), *shape), dtype=dtype)
    for i, p in enumerate(paths):
        plain = read_plain_png(Path(p))  # libpng for plain PNGs, same pixels as GDAL
        img = read_image(p) if plain is None else plain.transpose(2, 0, 1)
        if img.shape != tuple(shape) or img.dtype != out.dtype:
            raise DatasetLayoutError(
                f"{p}: is {img.shape} {img.dtype} now, the cube was opened with {shape} {dtype}"
            )
        out[i] = img
    return out


def _build(
    paths: list[Path], key: tuple, attrs: list[dict[str, Any]], per_chunk: int, bit_depth: Any
) -> xr.DataArray:
    import dask.array as da

    nb, ny, nx, dtype = key
    starts = range(0, len(paths), per_chunk)
    blocks = [
        da.from_delayed(
            _delayed_read([str(p) for p in paths[s : s + per_chunk]], (nb, ny, nx), dtype),
            shape=(len(paths[s : s + per_chunk]), nb, ny, nx),
            dtype=dtype,
        )
        for s in starts
    ]
    data = da.concatenate(blocks, axis=0) if len(blocks) > 1 else blocks[0]
    return _cube(data, [p.name for p in paths], attrs, bit_depth=bit_depth)


def _delayed_read(paths: list[str], shape: tuple, dtype: str) -> Any:
    import dask

    return dask.delayed(_read_stack, pure=True)(paths, shape, dtype)


def _cube(
    data: Any, names: Sequence[str], attrs: Sequence[dict[str, Any]], *, bit_depth: Any = None
) -> xr.DataArray:
    """The cube DataArray: coords from per-image ``attrs``, common attrs on the array."""
    n, nb, ny, nx = data.shape
    transform = np.empty(n, dtype=object)
    transform[:] = [
        tuple(float(v) for v in (a.get("transform") or (1, 0, 0, 0, 1, 0))[:6]) for a in attrs
    ]
    crs = np.array([a.get("crs") or "" for a in attrs], dtype=object)
    nodata = np.array(
        [np.nan if a.get("nodata") is None else float(a["nodata"]) for a in attrs], dtype=float
    )
    first = attrs[0] if attrs else {}
    return xr.DataArray(
        data,
        dims=CUBE_DIMS,
        coords={
            "image": np.array(list(names), dtype=object),
            "band": np.arange(1, nb + 1),
            "y": np.arange(ny),
            "x": np.arange(nx),
            "transform": ("image", transform),
            "crs": ("image", crs),
            "nodata": ("image", nodata),
        },
        attrs={
            "bit_depth": bit_depth if bit_depth is not None else first.get("bit_depth"),
            "bit_depth_source": "user" if bit_depth is not None else first.get("bit_depth_source"),
            "driver": first.get("driver"),
        },
        name="images",
    )


def open_cubes(
    dataset: Dataset | str | os.PathLike[str],
    *,
    images_per_chunk: int | None = None,
    bit_depth: int | None = None,
) -> dict[tuple[int, int, int, str], xr.DataArray]:
    """One lazy cube per group of images of equal ``(band, y, x)`` shape and dtype.

    Parameters
    ----------
    dataset : Dataset or path
        A folder dataset (IQUAFLOW layout).
    images_per_chunk : int, optional
        Images per dask chunk (one read task each). Default: at most 64 MB of pixels per
        chunk and at least two chunks per worker.
    bit_depth : int, optional
        Declared bits per sample (default: the dataset's, else each file's metadata).

    Returns
    -------
    dict
        ``(bands, height, width, dtype) -> cube``, in the order the groups first appear.
        Reads every file's header (no pixel).
    """
    ds = dataset if isinstance(dataset, Dataset) else open_dataset(dataset)
    if bit_depth is None:
        bit_depth = ds.bit_depth
    if not ds.image_files:
        raise DatasetLayoutError(f"{ds.data_input}: no image files to stack")
    groups: dict[tuple, tuple[list[Path], list[dict[str, Any]]]] = {}
    for p in ds.image_files:
        key, attrs = _meta(p, bit_depth)
        paths, metas = groups.setdefault(key, ([], []))
        paths.append(p)
        metas.append(attrs)
    return {
        (k[0], k[1], k[2], np.dtype(k[3]).name): _build(
            paths, k, metas, _images_per_chunk(len(paths), k, images_per_chunk), bit_depth
        )
        for k, (paths, metas) in groups.items()
    }


def open_cube(
    dataset: Dataset | str | os.PathLike[str],
    *,
    images_per_chunk: int | None = None,
    bit_depth: int | None = None,
) -> xr.DataArray:
    """The images of a dataset as one lazy ``(image, band, y, x)`` cube (see the module).

    Raises
    ------
    DatasetLayoutError
        When the images differ in size, band count or dtype (use :func:`open_cubes`).

    Examples
    --------
    >>> cube = open_cube("ds_mnist", images_per_chunk=10_000)  # doctest: +SKIP
    >>> cube.dims, cube.image.values[:2]  # doctest: +SKIP
    (('image', 'band', 'y', 'x'), array(['00000.png', '00001.png'], dtype=object))
    """
    cubes = open_cubes(dataset, images_per_chunk=images_per_chunk, bit_depth=bit_depth)
    if len(cubes) > 1:
        sizes = {f"{b}x{y}x{x} {t}": int(c.sizes["image"]) for (b, y, x, t), c in cubes.items()}
        raise DatasetLayoutError(
            f"{dataset}: images of {len(cubes)} different shapes/dtypes ({sizes} images); "
            "one cube holds images of one size: use open_cubes() for one cube per size"
        )
    return next(iter(cubes.values()))


def image_attrs(cube: xr.DataArray, i: int) -> dict[str, Any]:
    """The scene attrs of image ``i`` of ``cube`` (what ``open_scene`` gives for the file)."""
    return _image_attrs_from(_per_image_coords(cube), cube, i)


def _per_image_coords(cube: xr.DataArray) -> dict[str, np.ndarray]:
    """The per-image coordinate arrays, fetched once (each lookup builds a DataArray)."""
    return {k: cube[k].values for k in ("nodata", "crs", "transform", "image") if k in cube.coords}


def _image_attrs_from(coords: dict[str, np.ndarray], cube: xr.DataArray, i: int) -> dict[str, Any]:
    nodata = float(coords["nodata"][i]) if "nodata" in coords else math.nan
    if not math.isnan(nodata) and np.issubdtype(cube.dtype, np.integer) and nodata.is_integer():
        nodata = int(nodata)
    crs = str(coords["crs"][i]) if "crs" in coords else ""
    transform = (
        tuple(float(v) for v in coords["transform"][i])
        if "transform" in coords
        else (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    )
    return {
        "crs": crs or None,
        "transform": transform,
        "nodata": None if isinstance(nodata, float) and math.isnan(nodata) else nodata,
        "bit_depth": cube.attrs.get("bit_depth"),
        "bit_depth_source": cube.attrs.get("bit_depth_source"),
        "source": str(coords["image"][i]),
        "driver": cube.attrs.get("driver"),
        "iqx_history": list(cube.attrs.get("iqx_history") or []),
    }


def all_image_attrs(cube: xr.DataArray) -> list[dict[str, Any]]:
    """:func:`image_attrs` of every image, in order (one pass over the coordinates)."""
    coords = _per_image_coords(cube)
    return [_image_attrs_from(coords, cube, i) for i in range(cube.sizes["image"])]


def _scene(block: np.ndarray, attrs: dict[str, Any]) -> xr.DataArray:
    from iqx.io.images import eager_scene

    return eager_scene(block, attrs)


def _check_cube(cube: Any) -> xr.DataArray:
    if not isinstance(cube, xr.DataArray) or cube.dims != CUBE_DIMS:
        raise InvalidParameterError(
            f"expected an (image, band, y, x) DataArray (see open_cube), got "
            f"{getattr(cube, 'dims', type(cube).__name__)}"
        )
    return cube


def _image_chunks(cube: xr.DataArray) -> xr.DataArray:
    """Whole images in every chunk (band/y/x unchunked): the per-image function sees them."""
    if cube.chunks is None:
        return cube
    _, cb, cy, cx = cube.chunks
    if len(cb) == len(cy) == len(cx) == 1:
        return cube
    return cube.chunk({"band": -1, "y": -1, "x": -1})


def map_cube(
    func: Callable[[xr.DataArray], np.ndarray],
    cube: xr.DataArray,
    *,
    dtype: Any = None,
    stack: Any = None,
) -> xr.DataArray:
    """Apply ``func(scene) -> (band, y, x) array`` to every image, one task per chunk.

    ``scene`` is a NumPy-backed ``(band, y, x)`` DataArray carrying the image's attrs
    (georeferencing, nodata, bit depth). The result keeps the cube's shape and coords.
    ``stack`` (optional) has ``stack_keys`` and ``stack_kernel(scene)`` (see
    :meth:`iqx.modifiers.BlockCodec.stack_kernel`): images that agree on those attrs go
    through one NumPy kernel built for the first of them, the others through ``func``.
    """
    cube = _image_chunks(_check_cube(cube))
    out_dtype = np.dtype(dtype if dtype is not None else cube.dtype)
    metas = all_image_attrs(cube)

    def run(block: np.ndarray, block_info: Any = None) -> np.ndarray:
        i0 = block_info[0]["array-location"][0][0] if block_info else 0
        out = np.empty(block.shape, dtype=out_dtype)
        kernels: dict[str, Any] = {}
        for k in range(block.shape[0]):
            meta = metas[i0 + k]
            fast = None
            if stack is not None:
                key = repr([meta.get(name) for name in stack.stack_keys])
                if key not in kernels:
                    kernels[key] = stack.stack_kernel(_scene(block[k], meta))
                fast = kernels[key]
            if fast is not None:
                out[k] = fast(block[k], meta["source"])
            else:
                out[k] = np.asarray(func(_scene(block[k], meta)))
        return out

    if cube.chunks is None:
        data: Any = run(np.asarray(cube.data))
    else:
        # named, not tokenized: hashing ``run`` pickles every image's attrs (0.2 s for
        # 10 000 images); like an impure ``dask.delayed``, each call gets fresh keys
        data = cube.data.map_blocks(
            run,
            dtype=out_dtype,
            meta=np.empty((0,) * 4, out_dtype),
            name=f"iqx-map-cube-{uuid.uuid4().hex}",
        )
    # new pixels on the same coords (indexes are immutable: shared, not deep-copied)
    return cube.copy(deep=False, data=data)


def modify_cube(cube: xr.DataArray, modifier: Any) -> xr.DataArray:
    """Apply a modifier to every image of a cube; lazy for a dask-backed cube.

    Each image is modified exactly as :func:`iqx.modify` modifies the file (same attrs, one
    NumPy block), so the result equals the folder path image by image, for any chunking.
    Grid-changing modifiers (``resample``) change every image's size and georeferencing:
    modify the folder dataset for those.
    """
    from iqx.modifiers import ExternalModifier, as_modifier

    mod = as_modifier(modifier)
    if mod.changes_grid or isinstance(mod, ExternalModifier):
        raise InvalidParameterError(
            f"{mod!r} changes the image grid or runs an external program: apply it to the "
            "folder dataset (iqx.modify) rather than to a cube"
        )

    def one(scene: xr.DataArray) -> np.ndarray:
        return mod(scene).values

    out = map_cube(one, cube, stack=mod if hasattr(mod, "stack_kernel") else None)
    out.attrs["iqx_history"] = [*list(cube.attrs.get("iqx_history") or []), repr(mod)]
    return out


def measure_cube(
    cube: xr.DataArray,
    names: Sequence[str] = ("snr", "sharpness"),
    *,
    scheduler: Any = None,
    progress: Callable[[int], Any] | None = None,
) -> Any:
    """Blind metrics of every image of a cube: a pandas DataFrame indexed by image name.

    One task per chunk measures its images (synchronously inside the task); tasks run on
    ``scheduler`` (an address or a ``distributed.Client``), else the active distributed
    client, else local threads (:func:`iqx.datasets._scheduler.use_scheduler`).

    ``progress(n)`` is called as each chunk of ``n`` images is measured (on this process,
    also under a distributed client), e.g. the ``advance`` of an
    :class:`iqx._progress.Progress` bar, which draws only on a terminal, never with
    ``$IQX_QUIET=1``, and after ``delay`` seconds:

    >>> from iqx._progress import Progress  # doctest: +SKIP
    >>> with Progress(cube.sizes["image"], label="measure", unit="images", delay=0.5) as bar:
    ...     table = measure_cube(cube, ["snr"], progress=bar.advance)  # doctest: +SKIP
    """
    import dask
    import dask.array as da
    import dask.bag as db
    import pandas as pd

    from iqx._progress import compute_batches
    from iqx.datasets._scheduler import use_scheduler
    from iqx.datasets.measure import BLIND_METRICS
    from iqx.io._sched import compute_kwargs

    cube = _image_chunks(_check_cube(cube))
    unknown = [n for n in names if n not in BLIND_METRICS]
    if unknown:
        raise InvalidParameterError(
            f"unknown metric(s) {unknown}; choose from {list(BLIND_METRICS)}"
        )
    metas = all_image_attrs(cube)
    data = cube.data if cube.chunks is not None else da.from_array(cube.values, chunks=-1)
    blocks = data.to_delayed().ravel()
    starts = np.cumsum((0, *data.chunks[0][:-1]))
    parts = [
        dask.delayed(_measure_block)(b, metas[s : s + n], tuple(names))
        for b, s, n in zip(blocks, starts, data.chunks[0])
    ]
    with use_scheduler(scheduler):
        if progress is None:
            rows = [r for part in dask.compute(*parts, **compute_kwargs()) for r in part]
        else:  # one bag partition per chunk: progress(len(rows)) as each one finishes
            rows = list(compute_batches(db.from_delayed(parts), progress, **compute_kwargs()))
    return pd.DataFrame(rows, index=pd.Index(cube["image"].values, name="image"))


def _measure_block(
    block: np.ndarray, metas: list[dict[str, Any]], names: tuple[str, ...]
) -> list[dict[str, Any]]:
    import dask

    from iqx.datasets.measure import blind_record

    with dask.config.set(scheduler="sync"):
        return [blind_record(_scene(block[k], metas[k]), names) for k in range(block.shape[0])]
