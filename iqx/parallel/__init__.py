"""The only layer that touches dask: wrappers that map NumPy kernels over chunked scenes."""

import iqx.accessor  # noqa: F401  (registers the .iqx DataArray accessor)
from iqx.parallel.backend import as_scene, is_dask
from iqx.parallel.blockwise import map_blocks_xr
from iqx.parallel.overlap import Halo, map_overlap_xr
from iqx.parallel.random import block_rng
from iqx.parallel.reduction import BlockInfo, reduce_blocks, reduce_blocks_leading
from iqx.parallel.tiles import map_tiles_xr, tile_grid_coords

__all__ = [
    "BlockInfo",
    "Halo",
    "as_scene",
    "block_rng",
    "is_dask",
    "map_blocks_xr",
    "map_overlap_xr",
    "map_tiles_xr",
    "reduce_blocks",
    "reduce_blocks_leading",
    "tile_grid_coords",
]
