"""Per-tile values of :func:`iqx.metrics.sharpness_map` (one tile plus a ring of context cells)."""

from __future__ import annotations

from typing import Any

import numpy as np

from iqx.metrics._sharpness_blocks import _chunk
from iqx.metrics._sharpness_params import OUTPUTS, SharpnessOptions
from iqx.metrics._sharpness_stats import _pooled_nyquist, _select
from iqx.parallel import BlockInfo

__all__: list[str] = []


def _tile_values(
    block: np.ndarray,
    info: BlockInfo,
    *mask: np.ndarray,
    p: SharpnessOptions,
    nodata: Any,
    nbands: int,
) -> dict[str, np.ndarray]:
    """Medians (and pooled MTF@Nyq, count) per band of the edges seeded in one tile."""
    out = {o: np.full(nbands, np.nan) for o in (*OUTPUTS, "mtf_nyquist_pooled")}
    out["n_edges"] = np.zeros(nbands, np.int64)
    need = p.patch_size
    if min(block.shape[1:]) < need:
        return out
    # measure the tile and a ring of context cells around it (each with its full halo),
    # de-duplicate all, keep the edges centred in the tile
    w = p.map_context
    top, left = min(w, info.halo_top), min(w, info.halo_left)
    bottom, right = min(w, info.halo_bottom), min(w, info.halo_right)
    ring = BlockInfo(
        info.block_id,
        info.y0 - top,
        info.x0 - left,
        info.halo_top - top,
        info.halo_left - left,
        info.halo_bottom - bottom,
        info.halo_right - right,
        info.shape,
    )
    part = _chunk(block, ring, *mask, p=p, nodata=nodata)
    meta = {"nbands": nbands, "band_labels": np.arange(nbands), "transform": None}
    columns, _, band, _ = _select(part, p, meta)
    ny, nx = block.shape[1:]
    y1 = info.y0 + ny - info.halo_top - info.halo_bottom
    x1 = info.x0 + nx - info.halo_left - info.halo_right
    # an edge belongs to the tile holding its centre (clipped into the scene)
    cy = np.clip(np.floor(columns["y"]), 0, info.shape[0] - 1)
    cx = np.clip(np.floor(columns["x"]), 0, info.shape[1] - 1)
    own = (cy >= info.y0) & (cy < y1) & (cx >= info.x0) & (cx < x1)
    edges, band = {name: col[own] for name, col in columns.items()}, band[own]
    rng = np.random.default_rng(0)
    for b in range(nbands):
        sel = band == b
        out["n_edges"][b] = int(sel.sum())
        if not sel.any():
            continue
        for o in OUTPUTS:
            out[o][b] = float(np.nanmedian(edges[o][sel]))
        out["mtf_nyquist_pooled"][b] = _pooled_nyquist(edges, sel, rng, 0)[0]
    return out
