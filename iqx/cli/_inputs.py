"""CLI inputs: (name, lazy scene) pairs of one raster or a dataset's images, ``--bit-depth``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import xarray as xr

from iqx.errors import PathNotFoundError

__all__ = ["BIT_DEPTH_HELP", "add_bit_depth_option", "iter_scenes"]

BIT_DEPTH_HELP = (
    "bits per sample of the images (e.g. 11 for WorldView-2 in uint16). Default: the file's "
    "NBITS metadata, else the effective depth measured from the pixels (max(8, bits of the "
    "largest value)), else the dtype. Sets PSNR/SSIM's data range, the JPEG precision, "
    "quantize's source depth and the noise clipping range"
)


def add_bit_depth_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--bit-depth N`` (the user's source of the bit-depth rule, :mod:`iqx.bitdepth`)."""
    parser.add_argument(
        "--bit-depth", type=int, default=None, metavar="N", dest="bit_depth", help=BIT_DEPTH_HELP
    )


def iter_scenes(
    path: str | Path, *, chunks: int | None = None, bit_depth: int | None = None
) -> Iterator[tuple[str, xr.DataArray]]:
    """Yield ``(name, scene)`` for a raster file, or for every image of a dataset folder."""
    path = Path(path)
    if not path.exists():
        raise PathNotFoundError(f"{path}: no such file or folder")
    from iqx.io import open_scene
    from iqx.io.zarr import is_zarr_store

    if path.is_dir() and not is_zarr_store(path):
        from iqx.datasets import open_dataset

        ds = open_dataset(path)
        for image in ds.image_files:
            yield image.name, open_scene(image, chunks=chunks, bit_depth=bit_depth)
    else:
        yield path.name, open_scene(path, chunks=chunks, bit_depth=bit_depth)
