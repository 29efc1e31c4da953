"""Per-block candidate search of :func:`iqx.metrics.sharpness`: seeds, traces, ESF measurements.

One block (all bands) gives a small partial: the geometry of every measured candidate
(for the de-duplication in :mod:`iqx.metrics._sharpness_nms`) and the rows, signed MTF
curves (and, for ``method=\"logistic\"``, the ESFs) of the accepted ones.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels.edges import block_pixels, cell_seeds, seed_score, sobel, trace_candidates
from iqx.kernels.esf import RES_FIELDS, STATUS, dft_tables, measure_candidates
from iqx.metrics._sharpness_params import FREQS, SharpnessOptions
from iqx.parallel import BlockInfo

__all__: list[str] = []

#: Column of each :data:`iqx.kernels.esf.RES_FIELDS` name in a measurement row.
_R = {name: i for i, name in enumerate(RES_FIELDS)}

#: Columns of the geometry table of the measured candidates (for the de-duplication).
_GEO = ("cy", "cx", "ty", "tx", "half_length", "status", "band")
_COS_NMS = math.cos(math.radians(20))
#: Skip the measurement of a seed whose trace overlaps an accepted one of the same cell.
#: (Larger groups, 2x2 or 4x4 cells owned together, measure 18-35 % fewer candidates but
#: lose an edge here and there: A suppresses B in its group, A is then suppressed by a
#: longer edge D of another group that does not overlap B. docs/sharpness.md, "Speed".)
_DEDUP_IN_CELL = True


def _pixels(band: np.ndarray, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """A float64 copy of one band with its validity (finite, not ``nodata``), invalid
    pixels 0: one numba pass for native-order integer/float32/float64 input."""
    use = nodata is not None and not math.isnan(nodata)
    dt = band.dtype
    if dt.isnative and (dt.kind in "ui" or dt in (np.float32, np.float64)):
        return block_pixels(band, float(nodata) if use else 0.0, use)
    img = np.array(band, dtype=np.float64)  # float16, non-native byte order ...
    valid = np.isfinite(img)
    if use:
        valid &= img != nodata
    img[~valid] = 0.0
    return img, valid


def _chunk(
    block: np.ndarray,
    info: BlockInfo,
    *extra: np.ndarray,
    p: SharpnessOptions,
    nodata: float | None,
) -> dict:
    """Candidates of one block (all bands): small arrays of per-edge measurements.

    The partial holds the geometry of every measured candidate (7 floats, for the
    de-duplication) and the full row, signed MTF curve (and for ``method="logistic"`` the
    ESF) of the accepted ones only.
    """
    mask = extra[0] if extra else None
    ny, nx = block.shape[1:]
    ext_y0 = info.y0 - info.halo_top
    ext_x0 = info.x0 - info.halo_left
    core_y1 = info.y0 + ny - info.halo_top - info.halo_bottom
    core_x1 = info.x0 + nx - info.halo_left - info.halo_right
    geos, rows, curves, esfs, cells = [], [], [], [], []
    osr = np.asarray(p.oversampling, dtype=np.int64)
    tables = dft_tables(osr, p.halfwidth, FREQS)
    for b in range(block.shape[0]):
        img, valid = _pixels(block[b], nodata)
        if mask is not None:
            valid &= np.asarray(mask[b if mask.shape[0] > 1 else 0], dtype=bool)
            img[~valid] = 0.0
        gy, gx = sobel(img, valid)
        score = seed_score(gy, gx, p.coherence_radius)
        seeds = cell_seeds(
            score, ext_y0, ext_x0, info.y0, core_y1, info.x0, core_x1,
            info.shape[0], info.shape[1], p.cell, p.seeds_per_cell, p.seed_separation,
        )  # fmt: skip
        del score
        cand = trace_candidates(
            gy, gx, seeds, p.max_length // 2, float(p.min_length),
            float(p.max_straightness), p.stop_ratio, p.max_turn, p.trim,
        )  # fmt: skip
        cells.append(np.bincount(cand[:, 9].astype(np.int64), minlength=3)[:3])
        cand = cand[cand[:, 9] == 0]
        # the seeds of one cell, longest trace first (then strongest seed): one that overlaps
        # an accepted one before it is a duplicate and is not measured (cells lie wholly in
        # one block, the offsets are block independent: chunk invariant)
        ci = (cand[:, 0].astype(np.int64) + ext_y0) // p.cell
        cj = (cand[:, 1].astype(np.int64) + ext_x0) // p.cell
        group = ci * (info.shape[1] // p.cell + 1) + cj
        if not _DEDUP_IN_CELL:
            group[:] = -1
        order = np.lexsort((np.arange(len(cand)), -cand[:, 6], group))
        cand, group = cand[order], group[order]
        res, crv, esf = measure_candidates(
            img, valid, gy, gx, cand, p.halfwidth, p.plateau, p.taper, osr, FREQS,
            p.min_snr, p.max_noise_ratio, p.max_plateau_slope, p.outlier_k,
            p.max_outlier_frac, p.max_tail, p.max_fit_rms, tables,
            group, _COS_NMS, float(p.halfwidth),
        )  # fmt: skip
        measured = res[:, _R["status"]] >= 0
        cand, res, crv, esf = cand[measured], res[measured], crv[measured], esf[measured]
        # global position: integer seed offset + seed-relative float (bit-identical)
        res[:, _R["cy"]] += cand[:, 0] + ext_y0
        res[:, _R["cx"]] += cand[:, 1] + ext_x0
        geo = np.empty((len(res), len(_GEO)))
        geo[:, :5] = res[:, [_R["cy"], _R["cx"], _R["ty"], _R["tx"], _R["half_length"]]]
        geo[:, 5] = res[:, _R["status"]]
        geo[:, 6] = b
        geos.append(geo)
        acc = res[:, _R["status"]] == 0
        rows.append(res[acc])
        curves.append(crv[acc])
        esfs.append(esf[acc] if p.method == "logistic" else esf[acc][:, :0])
    return {
        "geo": np.concatenate(geos),
        "res": np.concatenate(rows),
        "curves": np.concatenate(curves),
        "esfs": np.concatenate(esfs),
        "cells": np.stack(cells),
        "front": (info.y0, core_y1, core_x1),
        "done": [],
        "rejected": np.zeros((block.shape[0], len(STATUS)), np.int64),
        "n_measured": sum(len(g) for g in geos),
    }


def _empty_part(p: SharpnessOptions, nbands: int) -> dict:
    return {
        "geo": np.zeros((0, len(_GEO))),
        "res": np.zeros((0, len(RES_FIELDS))),
        "curves": np.zeros((0, len(FREQS)), np.float32),
        "esfs": np.zeros((0, 2 * p.halfwidth * 8 if p.method == "logistic" else 0), np.float32),
        "cells": np.zeros((nbands, 3), np.int64),
        "front": None,
        "done": [],
        "rejected": np.zeros((nbands, len(STATUS)), np.int64),
        "n_measured": 0,
    }
