"""The only layer that touches dask: wrappers that map NumPy kernels over chunked scenes."""

from iqx.parallel.arrays import coarsen_halve, rechunk_like, to_dask_blocks
from iqx.parallel.backend import as_scene, is_dask
from iqx.parallel.blockwise import map_blocks_xr
from iqx.parallel.chunks import merge_chunks_for_halo, merge_small_chunks, regular_chunks_at_least
from iqx.parallel.graph import lazy_array, lazy_call, recompute_independently
from iqx.parallel.overlap import Halo, map_overlap_xr
from iqx.parallel.random import block_rng
from iqx.parallel.reduction import BlockInfo, reduce_blocks, reduce_blocks_leading
from iqx.parallel.regrid import map_regrid_xr, regrid_bounds
from iqx.parallel.tiles import map_tiles_xr, tile_grid_coords

__all__ = [
    "BlockInfo",
    "Halo",
    "as_scene",
    "block_rng",
    "coarsen_halve",
    "is_dask",
    "lazy_array",
    "lazy_call",
    "map_blocks_xr",
    "map_overlap_xr",
    "map_regrid_xr",
    "map_tiles_xr",
    "merge_chunks_for_halo",
    "merge_small_chunks",
    "rechunk_like",
    "recompute_independently",
    "reduce_blocks",
    "reduce_blocks_leading",
    "regrid_bounds",
    "regular_chunks_at_least",
    "tile_grid_coords",
    "to_dask_blocks",
]
