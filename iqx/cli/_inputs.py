"""Resolve a CLI path argument into (name, lazy scene) pairs: one raster or a dataset's images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import xarray as xr

from iqx.errors import PathNotFoundError

__all__ = ["iter_scenes"]


def iter_scenes(
    path: str | Path, *, chunks: int | None = None
) -> Iterator[tuple[str, xr.DataArray]]:
    """Yield ``(name, scene)`` for a raster file, or for every image of a dataset folder."""
    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(f"{path}: no such file or folder")
    from iqx.io.zarr import is_zarr_store

    if path.is_dir() and not is_zarr_store(path):
        from iqx.datasets import open_dataset

        ds = open_dataset(path)
        for image in ds.image_files:
            yield image.name, ds.open_image(image.name, chunks=chunks)
    else:
        from iqx.io import open_scene

        yield path.name, open_scene(path, chunks=chunks)
