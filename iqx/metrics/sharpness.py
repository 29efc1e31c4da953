"""Edge-method sharpness of any scene: RER, FWHM, MTF at Nyquist / half Nyquist and MTF50.

Natural step edges are found block by block (a sparse reduction, see ``docs/sharpness.md``):

1. **Candidate search** (per block, numba, :mod:`iqx.kernels.edges`): Sobel gradient; one
   seed per cell of a scene-aligned grid (its strongest gradient); the edge is traced both
   ways from the seed and fitted with a line (length and straightness gates).
2. **Measurement** (per candidate, numba, :mod:`iqx.kernels.esf`): ISO 12233-style slanted
   edge along the edge normal: centroid + slope refinement, variable-oversampling ESF,
   contrast / SNR / homogeneity / flatness / outlier / isolation gates, RER, FWHM and MTF
   corrected for the bin and derivative filters. A cell's seeds are measured longest trace
   first; one whose traced line overlaps an accepted one of its cell is skipped (duplicate).
3. **Selection** (eager, on the small table): overlapping measurements of the same edge are
   reduced to one (non-maximum suppression, longest accepted first); values are split by
   direction (``x``: near-vertical edges whose profile runs along x, within +-15 degrees,
   ``y``: near-horizontal, ``other``) and summarised with median, mean, std, IQR, a seeded
   bootstrap CI of the median and the edge count, plus the count of rejected candidates
   per reason.

A candidate belongs to the block whose core holds its cell's origin, and every block is
extended by a halo that holds the whole edge patch, so the answer is the same for NumPy
input and for any chunking. ``method="logistic"`` replaces step 2's values by IQUAFLOW's
logistic-model fit (:mod:`iqx.metrics._sharpness_logistic`) for comparison.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels._numba import ngjit
from iqx.kernels.edges import (
    candidate_reach,
    cell_seeds,
    greedy_nms,
    overlap_components,
    seed_score,
    sobel,
    trace_candidates,
)
from iqx.kernels.esf import RES_FIELDS, STATUS, dft_tables, measure_candidates
from iqx.metrics._lazy_result import LazyResult
from iqx.metrics._numpy_strips import numpy_as_strips
from iqx.metrics._sharpness_params import DEFAULTS, PARAMETERS
from iqx.metrics._sharpness_result import (
    MIN_CONFIDENT_EDGES,
    flat_summary_from_dataset,
    format_sharpness,
)
from iqx.parallel import BlockInfo, as_scene, lazy_call, map_tiles_xr, reduce_blocks
from iqx.registry import register_metric

__all__ = ["SharpnessResult", "flat_summary", "sharpness", "sharpness_halo", "sharpness_map"]

OUTPUTS = ("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50")
UNITS = {
    "rer": "1",
    "fwhm": "pixel",
    "mtf_nyquist": "1",
    "mtf_half_nyquist": "1",
    "mtf50": "cycles/pixel",
    "n_edges": "count",
}
DIRECTIONS = ("x", "y", "other", "all")
FREQS = np.round(np.arange(0.0, 1.0 + 1e-9, 0.01), 10)
_R = {name: i for i, name in enumerate(RES_FIELDS)}


# ---------------------------------------------------------------------------------------
# parameters, input checks
# ---------------------------------------------------------------------------------------
def _params(kw: dict[str, Any]) -> dict[str, Any]:
    unknown = set(kw) - set(DEFAULTS)
    if unknown:
        raise InvalidParameterError(
            f"unknown sharpness parameter(s) {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    p = {**DEFAULTS, **kw}
    for key in ("cell", "max_length", "halfwidth", "n_boot", "seeds_per_cell", "seed_separation"):
        if isinstance(p[key], bool) or not isinstance(p[key], int | np.integer) or p[key] < 1:
            raise InvalidParameterError(f"{key} must be a positive integer, got {p[key]!r}")
    cr = p["coherence_radius"]
    if isinstance(cr, bool) or not isinstance(cr, int | np.integer) or not 1 <= cr <= 4:
        raise InvalidParameterError(f"coherence_radius must be an integer in [1, 4], got {cr!r}")
    if p["halfwidth"] < 4:
        raise InvalidParameterError(f"halfwidth must be >= 4 px, got {p['halfwidth']}")
    if not 0 < p["plateau"] < p["halfwidth"] or not 0 < p["taper"] < p["halfwidth"]:
        raise InvalidParameterError("plateau and taper must be in (0, halfwidth)")
    if p["min_length"] < 5 or p["min_length"] > p["max_length"]:
        raise InvalidParameterError(
            f"need 5 <= min_length <= max_length, got {p['min_length']}, {p['max_length']}"
        )
    os_ = tuple(int(o) for o in p["oversampling"])
    if not os_ or min(os_) < 2 or max(os_) > 8:
        raise InvalidParameterError(f"oversampling factors must be in [2, 8], got {os_}")
    p["oversampling"] = tuple(sorted(set(os_), reverse=True))
    if not 0 < p["direction_tolerance"] < 45:
        raise InvalidParameterError("direction_tolerance must be in (0, 45) degrees")
    return p


def sharpness_halo(**kw: Any) -> int:
    """Halo (px) a block needs so that every candidate of its core is measured whole."""
    p = _params(kw)
    return int(p["cell"] + candidate_reach(p["max_length"], p["halfwidth"]) + 4)


def _check_dtype(scene: xr.DataArray) -> None:
    kind = scene.dtype.kind
    if kind not in "uif":
        raise UnsupportedDtypeError(
            f"sharpness needs an integer or floating-point image, got dtype {scene.dtype}"
        )


def _nodata(scene: xr.DataArray) -> float | None:
    nd = scene.attrs.get("nodata")
    if nd is None:
        return None
    try:
        return float(nd)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------
# per-block work
# ---------------------------------------------------------------------------------------
#: Columns of the geometry table of the measured candidates (for the de-duplication).
_GEO = ("cy", "cx", "ty", "tx", "half_length", "status", "band")
_COS_NMS = math.cos(math.radians(20))
#: Skip the measurement of a seed whose trace overlaps an accepted one of the same cell.
#: (Larger groups, 2x2 or 4x4 cells owned together, measure 18-35 % fewer candidates but
#: lose an edge here and there: A suppresses B in its group, A is then suppressed by a
#: longer edge D of another group that does not overlap B. docs/sharpness.md, "Speed".)
_DEDUP_IN_CELL = True


def _chunk(
    block: np.ndarray, info: BlockInfo, *extra: np.ndarray, p: dict, nodata: float | None
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
    osr = np.asarray(p["oversampling"], dtype=np.int64)
    tables = dft_tables(osr, p["halfwidth"], FREQS)
    for b in range(block.shape[0]):
        img = np.array(block[b], dtype=np.float64)  # a copy, zeroed in place below
        valid = np.isfinite(img)
        if nodata is not None and not math.isnan(nodata):
            valid &= img != nodata
        if mask is not None:
            valid &= np.asarray(mask[b if mask.shape[0] > 1 else 0], dtype=bool)
        img[~valid] = 0.0
        gy, gx = sobel(img, valid)
        score = seed_score(gy, gx, p["coherence_radius"])
        seeds = cell_seeds(
            score, ext_y0, ext_x0, info.y0, core_y1, info.x0, core_x1,
            info.shape[0], info.shape[1], p["cell"], p["seeds_per_cell"], p["seed_separation"],
        )  # fmt: skip
        del score
        cand = trace_candidates(
            gy, gx, seeds, p["max_length"] // 2, float(p["min_length"]),
            float(p["max_straightness"]), p["stop_ratio"], p["max_turn"], p["trim"],
        )  # fmt: skip
        cells.append(np.bincount(cand[:, 9].astype(np.int64), minlength=3)[:3])
        cand = cand[cand[:, 9] == 0]
        # the seeds of one cell, longest trace first (then strongest seed): one that overlaps
        # an accepted one before it is a duplicate and is not measured (cells lie wholly in
        # one block, the offsets are block independent: chunk invariant)
        ci = (cand[:, 0].astype(np.int64) + ext_y0) // p["cell"]
        cj = (cand[:, 1].astype(np.int64) + ext_x0) // p["cell"]
        group = ci * (info.shape[1] // p["cell"] + 1) + cj
        if not _DEDUP_IN_CELL:
            group[:] = -1
        order = np.lexsort((np.arange(len(cand)), -cand[:, 6], group))
        cand, group = cand[order], group[order]
        res, crv, esf = measure_candidates(
            img, valid, gy, gx, cand, p["halfwidth"], p["plateau"], p["taper"], osr, FREQS,
            p["min_snr"], p["max_noise_ratio"], p["max_plateau_slope"], p["outlier_k"],
            p["max_outlier_frac"], p["max_tail"], p["max_fit_rms"], tables,
            group, _COS_NMS, float(p["halfwidth"]),
        )  # fmt: skip
        measured = res[:, 0] >= 0
        cand, res, crv, esf = cand[measured], res[measured], crv[measured], esf[measured]
        # global position: integer seed offset + seed-relative float (bit-identical)
        res[:, _R["cy"]] += cand[:, 0] + ext_y0
        res[:, _R["cx"]] += cand[:, 1] + ext_x0
        geo = np.empty((len(res), len(_GEO)))
        geo[:, :5] = res[:, [_R["cy"], _R["cx"], _R["ty"], _R["tx"], _R["half_length"]]]
        geo[:, 5] = res[:, _R["status"]]
        geo[:, 6] = b
        geos.append(geo)
        acc = res[:, 0] == 0
        rows.append(res[acc])
        curves.append(crv[acc])
        esfs.append(esf[acc] if p["method"] == "logistic" else esf[acc][:, :0])
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


def _nms_reach(p: dict) -> float:
    """Largest centre distance of two overlapping measurements (half-lengths <= L/2)."""
    return math.hypot(float(p["max_length"]), float(p["halfwidth"])) + 1.0


def _combine(parts: list[dict], p: dict) -> dict:
    """Merge partials (row-major order) and settle the candidates no later block can touch.

    Pending candidates are de-duplicated (greedy non-maximum suppression) as soon as every
    candidate they overlap, directly or through a chain of overlaps, is known: a connected
    component of the overlap graph is settled once it is farther than the overlap reach
    plus a candidate's reach from every block still to come (blocks after the last one
    merged, in row-major order). Settled components leave only their kept accepted rows
    (``done``) and rejection counts; the answer is the global greedy suppression's, for
    any chunking, while the pending set stays about two rows of blocks.
    """
    out = {
        "geo": np.concatenate([q["geo"] for q in parts]),
        "res": np.concatenate([q["res"] for q in parts]),
        "curves": np.concatenate([q["curves"] for q in parts]),
        "esfs": np.concatenate([q["esfs"] for q in parts]),
        "cells": np.sum([q["cells"] for q in parts], axis=0),
        "front": parts[-1]["front"],
        "done": [d for q in parts for d in q["done"]],
        "rejected": np.sum([q["rejected"] for q in parts], axis=0),
        "n_measured": sum(q["n_measured"] for q in parts),
    }
    return _settle(out, p, out["front"])


def _settle(part: dict, p: dict, front: tuple[int, int, int] | None) -> dict:
    """Settle the pending components that no block after ``front`` can reach (all of them
    when ``front`` is None): greedy suppression, accepted and longest first."""
    geo = part["geo"]
    if len(geo) == 0:
        return part
    reach = _nms_reach(p)
    comp = overlap_components(geo, _COS_NMS, float(p["halfwidth"]), reach)
    if front is None:
        safe = np.ones(len(geo), bool)
    else:
        fy0, fy1, fx1 = front
        # a later candidate's centre is within max_length/2 + 8 px of its seed, which lies
        # in a later block's core: {y >= fy0, x >= fx1} or {y >= fy1}
        m = reach + p["max_length"] / 2.0 + 8.0
        cy, cx = geo[:, 0], geo[:, 1]
        near = ((cy >= fy0 - m) & (cx >= fx1 - m)) | (cy >= fy1 - m)
        safe = ~np.isin(comp, comp[near])
    if not safe.any():
        return part
    is_acc = geo[:, 5] == 0
    acc_row = np.cumsum(is_acc) - 1  # row of each accepted candidate in res/curves/esfs
    idx = np.flatnonzero(safe)
    g = geo[idx]
    order = np.lexsort((g[:, 1], g[:, 0], -g[:, 4], g[:, 5] != 0))
    kept = idx[greedy_nms(g, order, _COS_NMS, float(p["halfwidth"]), reach)]
    ka = kept[is_acc[kept]]
    kr = kept[~is_acc[kept]]
    rejected = part["rejected"].copy()
    np.add.at(rejected, (geo[kr, 6].astype(np.int64), geo[kr, 5].astype(np.int64)), 1)
    rows = acc_row[ka]
    done = list(part["done"])
    if len(ka):
        done.append(
            {
                "res": part["res"][rows],
                "curves": part["curves"][rows],
                "esfs": part["esfs"][rows],
                "band": geo[ka, 6].astype(np.int64),
            }
        )
    pend = ~safe
    pend_acc = acc_row[pend & is_acc]
    return {
        **part,
        "geo": geo[pend],
        "res": part["res"][pend_acc],
        "curves": part["curves"][pend_acc],
        "esfs": part["esfs"][pend_acc],
        "done": done,
        "rejected": rejected,
    }


# ---------------------------------------------------------------------------------------
# selection and statistics
# ---------------------------------------------------------------------------------------
def _direction(angle: np.ndarray, tol: float) -> np.ndarray:
    out = np.full(angle.shape, "other", dtype=object)
    out[(angle <= tol) | (angle >= 180.0 - tol)] = "x"
    out[(angle >= 90.0 - tol) & (angle <= 90.0 + tol)] = "y"
    return out


_BOOT_ROWS = 16  # fewest resamples drawn at once (even: the same stream as one big draw)
_BOOT_DRAW = 1 << 18  # indices drawn at once: as many rows as fit, at least _BOOT_ROWS


def _bootstrap(rng: np.random.Generator, n: int, n_boot: int, stat: Any) -> np.ndarray:
    """``stat(idx)`` for ``n_boot`` resamples ``idx`` of ``range(n)``, drawn an even
    number of rows at a time (all of them for a few hundred edges, ``_BOOT_ROWS`` for
    huge ``n``): memory O(n) instead of O(n_boot n) (4.6 GB of indices and values for
    145 000 edges at once), same values as a single ``(n_boot, n)`` draw."""
    rows = max(_BOOT_ROWS, (_BOOT_DRAW // max(n, 1)) // 2 * 2)
    out = [
        stat(rng.integers(0, n, size=(min(rows, n_boot - i), n))) for i in range(0, n_boot, rows)
    ]
    return np.concatenate(out)


@ngjit
def _resample_medians(idx: np.ndarray, rank: np.ndarray, v_sorted: np.ndarray) -> np.ndarray:
    """``np.median(v[idx], axis=1)``, bit for bit, in O(n) per row without sorting: the
    counts of the drawn ranks locate the middle order statistic(s) in ``v_sorted``
    (``rank[i]`` is the position of ``v[i]`` in ``v_sorted``)."""
    rows, n = idx.shape
    out = np.empty(rows)
    cnt = np.zeros(n, np.int64)
    k1 = (n - 1) // 2
    k2 = n // 2
    for r in range(rows):
        cnt[:] = 0
        for i in range(n):
            cnt[rank[idx[r, i]]] += 1
        cum = 0
        a = np.nan
        for q in range(n):
            cum += cnt[q]
            if cum > k1 and np.isnan(a):
                a = v_sorted[q]
            if cum > k2:
                out[r] = a if k1 == k2 else (a + v_sorted[q]) / 2.0
                break
    return out


def _stats(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return dict.fromkeys(("median", "mean", "std", "iqr", "ci_low", "ci_high"), np.nan)
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    if len(v) > 1:
        srt = np.argsort(v, kind="stable")
        rank = np.empty(len(v), np.int64)
        rank[srt] = np.arange(len(v))
        meds = _bootstrap(rng, len(v), n_boot, lambda idx: _resample_medians(idx, rank, v[srt]))
        lo, hi = np.percentile(meds, [2.5, 97.5])
    else:
        lo = hi = q50
    return {
        "median": float(q50),
        "mean": float(np.mean(v)),
        "std": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
        "iqr": float(q75 - q25),
        "ci_low": float(lo),
        "ci_high": float(hi),
    }


@dataclass
class SharpnessResult:
    """What :func:`sharpness` measured on one scene.

    Attributes
    ----------
    dataset : xarray.Dataset
        Summary per ``(band, direction)``: medians named after the outputs (``rer``,
        ``fwhm``, ``mtf_nyquist``, ``mtf_half_nyquist``, ``mtf50``), ``<output>_mean``,
        ``_std``, ``_iqr``, ``_ci_low``, ``_ci_high``, ``n_edges``, the median MTF curve
        ``mtf(band, direction, frequency)``, the pooled ``mtf_nyquist_pooled`` (+ ``_ci_low``,
        ``_ci_high``; from the mean OTF of the edges, see :func:`_pooled_nyquist`),
        ``n_rejected(band, reason)`` and a ``reason`` string where nothing was measurable.
    edges : pandas.DataFrame
        One row per accepted edge: band, pixel and map position, angle, direction, length,
        contrast, noise, edge SNR, bin width and the values.
    rejected : dict
        ``{band: {reason: count}}`` for candidates that failed a gate.
    crs, transform : optional
        Georeferencing of the scene (for the GeoJSON export).
    """

    dataset: xr.Dataset
    edges: pd.DataFrame
    rejected: dict[int, dict[str, int]]
    crs: str | None = None
    transform: tuple[float, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def measurable(self) -> bool:
        """True if at least one edge was measured."""
        return len(self.edges) > 0

    def flat_summary(self) -> dict[str, Any]:
        """JSON-able medians (see :func:`flat_summary`)."""
        return _flat(self)

    def edges_geodataframe(self) -> Any:
        """The edge table as a GeoDataFrame of line segments in the scene's CRS."""
        import geopandas as gpd
        from shapely.geometry import LineString

        df = self.edges
        geoms = []
        for r in df.itertuples():
            pts = []
            for s in (-1.0, 1.0):
                py = r.y + s * r.half_length * r.ty
                px = r.x + s * r.half_length * r.tx
                pts.append(_to_map(self.transform, py, px))
            geoms.append(LineString(pts))
        cols = [c for c in df.columns if c not in ("ty", "tx")]
        return gpd.GeoDataFrame(df[cols].copy(), geometry=geoms, crs=self.crs or None)

    def edges_geojson(self) -> str:
        """The edge table as a GeoJSON FeatureCollection string."""
        return self.edges_geodataframe().to_json(na="null", drop_id=True)

    def to_geojson(self, path: str | Path) -> Path:
        """Write :meth:`edges_geojson` to ``path`` (atomically) and return the path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.edges_geojson())
        tmp.replace(path)
        return path

    def __repr__(self) -> str:
        return format_sharpness(self.dataset, self.rejected, self.dataset.attrs.get("method", ""))


def _to_map(transform: tuple[float, ...] | None, y: Any, x: Any) -> tuple[Any, Any]:
    """Pixel (row, col) *index* coordinates -> map coordinates of the pixel-centre point
    (scalars or arrays)."""
    if transform is None:
        return (x, y)
    a, b, c, d, e, f = transform[:6]
    xx, yy = x + 0.5, y + 0.5
    return (a * xx + b * yy + c, d * xx + e * yy + f)


def _select(part: dict, p: dict, scene_meta: dict) -> tuple:
    """Settle the last pending candidates and build the edge table: ``(edges, signed
    curves, band index per edge, rejected counts per band)``."""
    part = _settle(part, p, None)
    nbands = scene_meta["nbands"]
    rejected: dict[int, dict[str, int]] = {b: {} for b in range(nbands)}
    counts = part["rejected"].copy()
    cells = part["cells"] if len(part["cells"]) else np.zeros((nbands, 3), np.int64)
    counts[:, 1:3] += cells[:, 1:3]
    for b in range(nbands):
        for code in range(1, len(STATUS)):
            if counts[b, code]:
                rejected[b][STATUS[code]] = int(counts[b, code])
    done = part["done"]
    nf = len(FREQS)
    res = np.concatenate([d["res"] for d in done]) if done else np.zeros((0, len(RES_FIELDS)))
    band = np.concatenate([d["band"] for d in done]) if done else np.zeros(0, np.int64)
    all_curves = (
        np.concatenate([d["curves"] for d in done]) if done else np.zeros((0, nf), np.float32)
    )
    all_esfs = (
        np.concatenate([d["esfs"] for d in done])
        if done
        else np.zeros((0, part["esfs"].shape[1]), np.float32)
    )
    del done, part
    keep = np.lexsort((res[:, _R["cx"]], res[:, _R["cy"]], band))
    r = res[keep]
    ty, tx = r[:, _R["ty"]], r[:, _R["tx"]]
    angle = np.degrees(np.arctan2(tx, ty)) % 180.0
    direction = _direction(angle, p["direction_tolerance"])
    table = {
        "band": scene_meta["band_labels"][band[keep]] if len(keep) else np.zeros(0),
        "y": r[:, _R["cy"]],
        "x": r[:, _R["cx"]],
        "angle": angle,
        "direction": direction,
        "length": 2.0 * r[:, _R["half_length"]],
        "half_length": r[:, _R["half_length"]],
        "ty": ty,
        "tx": tx,
        "contrast": r[:, _R["contrast"]],
        "noise": r[:, _R["noise"]],
        "edge_snr": r[:, _R["edge_snr"]],
        "fit_rms": r[:, _R["fit_rms"]],
        "bin_width": r[:, _R["delta"]],
    }
    for name in OUTPUTS:
        table[name] = r[:, _R[name]]
    # MTF@Nyq per edge: the real part of the OTF referred to the ESF 50 % point, a linear
    # (noise-unbiased, signed) estimate, with its white-noise standard error; the
    # power-debiased root is biased low at low contrast-to-noise (docs/sharpness.md)
    table["mtf_nyquist"] = r[:, _R["otf_nyquist_re"]]
    table["mtf_nyquist_se"] = np.sqrt(0.5 * r[:, _R["noise_power_nyquist"]])
    table["mtf_nyquist_signed"] = r[:, _R["mtf_nyquist_signed"]]
    for name in ("otf_nyquist_re", "otf_nyquist_im", "noise_power_nyquist"):
        table[name] = r[:, _R[name]]
    edges = pd.DataFrame(table)
    mx, my = _to_map(scene_meta["transform"], edges["y"].to_numpy(), edges["x"].to_numpy())
    edges.insert(3, "map_x", np.asarray(mx, dtype=np.float64))
    edges.insert(4, "map_y", np.asarray(my, dtype=np.float64))
    curves = all_curves[keep]
    esfs = all_esfs[keep]
    if p.get("method") == "logistic" and len(edges):
        from iqx.metrics._sharpness_logistic import logistic_values

        vals, reasons = logistic_values(esfs, r[:, _R["delta"]], p["halfwidth"])
        ok = np.array([x is None for x in reasons])
        bkeep = band[keep]
        for i in np.flatnonzero(~ok):
            b = int(bkeep[i])
            rejected[b][reasons[i]] = rejected[b].get(reasons[i], 0) + 1
        for name in ("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50"):
            edges[name] = vals[name]
        edges["mtf_nyquist_signed"] = vals["mtf_nyquist"]
        edges["mtf_nyquist_se"] = np.nan
        edges = edges[ok].reset_index(drop=True)
        curves = vals["curves"][ok]
        band_kept = bkeep[ok]
    else:
        band_kept = band[keep]
    return edges, curves, band_kept, rejected


def _finalize(part: dict, p: dict, scene_meta: dict) -> SharpnessResult:
    edges, curves, band_kept, rejected = _select(part, p, scene_meta)
    ds = _summary_dataset(edges, curves, band_kept, rejected, p, scene_meta)
    return SharpnessResult(
        dataset=ds,
        edges=edges,
        rejected={int(scene_meta["band_labels"][b]): v for b, v in rejected.items()},
        crs=scene_meta["crs"],
        transform=scene_meta["transform"],
        params={k: v for k, v in p.items()},
    )


def _pooled_nyquist(
    edges: pd.DataFrame, sel: np.ndarray, rng: np.random.Generator, n_boot: int
) -> np.ndarray:
    """Pooled MTF at Nyquist of a set of edges, with a bootstrap 95 % CI over the edges.

    Each edge gives its OTF at 0.5 cy/px, ``z`` (corrected for the bin and difference
    filters, normalised at DC, phase referred to its ESF 50 % point, so ~real and positive
    for a symmetric LSF). The pooled value is the mean of ``Re z`` over the edges (the
    OTF of the mean aligned LSF): linear in the data, so noise averages out as ``1/n``
    without any noise-power subtraction, and it is not clipped (a value below 0 says
    "0 within the CI"). Returns ``[value, ci_low, ci_high]``.
    """
    if "otf_nyquist_re" not in edges:
        return np.full(3, np.nan)
    ok = sel & np.isfinite(edges["otf_nyquist_re"].to_numpy())
    if not ok.any():
        return np.full(3, np.nan)
    zr = edges["otf_nyquist_re"].to_numpy()[ok]
    n = len(zr)
    value = float(zr.mean())
    if n > 1 and n_boot > 0:
        means = _bootstrap(rng, n, n_boot, lambda idx: zr[idx].mean(axis=-1))
        lo, hi = np.percentile(means, [2.5, 97.5])
    else:
        lo = hi = value
    return np.array([value, lo, hi])


def _summary_dataset(
    edges: pd.DataFrame,
    curves: np.ndarray,
    band_idx: np.ndarray,
    rejected: dict[int, dict[str, int]],
    p: dict,
    meta: dict,
) -> xr.Dataset:
    nb = meta["nbands"]
    nd = len(DIRECTIONS)
    stats = ("median", "mean", "std", "iqr", "ci_low", "ci_high")
    data = {(o, s): np.full((nb, nd), np.nan) for o in OUTPUTS for s in stats}
    counts = np.zeros((nb, nd), np.int64)
    mtf = np.full((nb, nd, len(FREQS)), np.nan)
    nyq_pooled = np.full((nb, nd, 3), np.nan)  # value, ci_low, ci_high
    reason = np.full((nb, nd), "", dtype=object)
    direction = edges["direction"].to_numpy() if len(edges) else np.zeros(0, object)
    cols = {o: edges[o].to_numpy() for o in OUTPUTS}  # pandas column access is slow
    for b in range(nb):
        for k, dname in enumerate(DIRECTIONS):
            sel = band_idx == b
            if dname != "all":
                sel = sel & (direction == dname)
            counts[b, k] = int(sel.sum())
            if not counts[b, k]:
                rej = rejected.get(b, {})
                reason[b, k] = (
                    f"no accepted {dname if dname != 'all' else ''} edges".replace("  ", " ")
                    + (f" (rejected: {dict(sorted(rej.items()))})" if rej else "")
                    + (f"; {meta['reason']}" if meta.get("reason") else "")
                )
                continue
            rng = np.random.default_rng(np.random.SeedSequence([p["seed"], b, k]))
            for o in OUTPUTS:
                # MTF@Nyq: the per-edge linear estimate, signed, never clipped
                st = _stats(cols[o][sel], rng, p["n_boot"])
                for s in stats:
                    data[(o, s)][b, k] = st[s]
            mtf[b, k] = np.nanmedian(np.maximum(curves[sel], 0.0), axis=0)
            rng_p = np.random.default_rng(np.random.SeedSequence([p["seed"], b, k, 1]))
            nyq_pooled[b, k] = _pooled_nyquist(edges, sel, rng_p, p["n_boot"])
    dims = ("band", "direction")
    dv: dict[str, Any] = {}
    for o in OUTPUTS:
        dv[o] = (dims, data[(o, "median")], {"units": UNITS[o], "statistic": "median over edges"})
        for s in stats[1:]:
            dv[f"{o}_{s}"] = (dims, data[(o, s)], {"units": UNITS[o]})
    dv["n_edges"] = (dims, counts, {"units": "count"})
    dv["mtf"] = ((*dims, "frequency"), mtf, {"statistic": "median MTF curve over edges"})
    dv["mtf_nyquist_pooled"] = (
        dims,
        nyq_pooled[..., 0],
        {"units": "1", "statistic": "mean over edges of Re OTF(0.5) (not clipped)"},
    )
    dv["mtf_nyquist_pooled_ci_low"] = (dims, nyq_pooled[..., 1], {"units": "1"})
    dv["mtf_nyquist_pooled_ci_high"] = (dims, nyq_pooled[..., 2], {"units": "1"})
    dv["reason"] = (dims, reason.astype(str))
    reasons = sorted(set(STATUS.values()) - {"ok"} | {k for v in rejected.values() for k in v})
    nrej = np.array([[rejected.get(b, {}).get(r, 0) for r in reasons] for b in range(nb)])
    dv["n_rejected"] = (("band", "reason_code"), nrej.reshape(nb, len(reasons)))
    return xr.Dataset(
        dv,
        coords={
            "band": meta["band_labels"],
            "direction": list(DIRECTIONS),
            "frequency": ("frequency", FREQS, {"units": "cycles/pixel"}),
            "reason_code": reasons,
        },
        attrs={
            "metric": "sharpness",
            "method": p.get("method", "iso"),
            "parameters": json.dumps(
                {k: (list(v) if isinstance(v, tuple) else v) for k, v in p.items()}
            ),
            "directions": "x: edge within +-15 deg of vertical (profile along x); "
            "y: within +-15 deg of horizontal; other: the rest; all: every edge",
        },
    )


# ---------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------
def _empty_part(p: dict, nbands: int) -> dict:
    return {
        "geo": np.zeros((0, len(_GEO))),
        "res": np.zeros((0, len(RES_FIELDS))),
        "curves": np.zeros((0, len(FREQS)), np.float32),
        "esfs": np.zeros(
            (0, 2 * p["halfwidth"] * 8 if p["method"] == "logistic" else 0), np.float32
        ),
        "cells": np.zeros((nbands, 3), np.int64),
        "front": None,
        "done": [],
        "rejected": np.zeros((nbands, len(STATUS)), np.int64),
        "n_measured": 0,
    }


def _not_measurable(scene: xr.DataArray, p: dict, meta: dict, why: str) -> SharpnessResult:
    return _finalize(_empty_part(p, meta["nbands"]), p, {**meta, "reason": why})


def _meta(scene: xr.DataArray) -> dict:
    tr = scene.attrs.get("transform")
    labels = (
        scene["band"].values if "band" in scene.coords else np.arange(1, scene.sizes["band"] + 1)
    )
    return {
        "nbands": scene.sizes["band"],
        "band_labels": np.asarray(labels),
        "crs": scene.attrs.get("crs"),
        "transform": tuple(float(v) for v in tr[:6]) if tr is not None else None,
    }


@register_metric(
    "sharpness",
    summary="Edge-method sharpness (RER, FWHM, MTF@Nyquist, MTF50) from natural edges.",
    outputs=("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50", "n_edges"),
    units=UNITS,
    chunk_invariant=True,
    halo=sharpness_halo,
    params=PARAMETERS,
    references=(
        "ISO 12233:2023, Photography - Electronic still picture imaging - Resolution and SFR",
        "Burns, P. D., sfrmat5 (slanted-edge SFR reference code, fir2fix derivative correction)",
        "van den Bergh, F., MTF Mapper (mtf_mapper.tex, accuracy section)",
        "Masaoka, K., 'OMNI-sine' slanted-edge oversampling, EI 2022 IQSP-332",
        "Cenci, L. et al. 2021, Remote Sens. 13(8):1593 (SaSbEM; IQUAFLOW sharpness)",
    ),
)
def sharpness(
    image: Any,
    *,
    mask: Any = None,
    method: str = "iso",
    compute: bool = True,
    **kw: Any,
) -> SharpnessResult | Any:
    """Measure sharpness from the natural edges of a scene.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        ``(y, x)`` or ``(band, y, x)`` NumPy/dask array or DataArray (dask-backed scenes
        are processed block by block). ``attrs["nodata"]`` and NaN mark invalid pixels.
    mask : array-like, optional
        Boolean validity mask (True = valid), ``(y, x)`` or ``(band, y, x)``.
    method : {"iso", "logistic"}
        ``"iso"`` (default): non-parametric ISO 12233-style ESF/LSF/MTF. ``"logistic"``:
        IQUAFLOW's logistic-model values on the same edges (for comparison).
    compute : bool
        If False, return a :class:`~iqx.metrics._lazy_result.LazyResult` (a dask
        collection; building it computes nothing, ``.compute()`` gives the result and its
        repr computes and prints the values).
    **kw
        Tuning (defaults in ``DEFAULTS``): ``cell`` (seed grid, 16 px), ``seeds_per_cell``
        (3), ``seed_separation`` (4 px), ``coherence_radius`` (2 px, seed score window),
        ``min_length`` (8) and ``max_length`` (64 px) of an edge segment, ``halfwidth`` (5 px,
        ESF extent each side), ``plateau`` (2 px), ``taper`` (2 px), ``oversampling``
        ((8, 6, 5, 4, 3, 2)), ``min_snr`` (per-pixel edge SNR 6), ``max_straightness``
        (0.5 px), ``max_fit_rms`` (0.5 px), ``max_noise_ratio`` (3), ``max_plateau_slope``
        (0.06 of the contrast), ``outlier_k`` (5), ``max_outlier_frac`` (0.03), ``max_tail``
        (0.25), ``direction_tolerance`` (15 deg), ``n_boot`` (500), ``seed`` (0, bootstrap).

    Returns
    -------
    SharpnessResult
        ``.dataset`` (summary per band and direction), ``.edges`` (per-edge table),
        ``.rejected`` (counts per reason), ``.flat_summary()``, ``.to_geojson(path)``.
        ``.dataset`` also holds the pooled MTF@Nyquist per direction
        (``mtf_nyquist_pooled`` with a bootstrap CI over edges).
        When nothing is measurable the values are NaN with ``n_edges == 0`` and a
        ``reason``; :func:`flat_summary` turns them into ``None`` + ``<key>_reason``.

    Raises
    ------
    UnsupportedDtypeError
        For non-numeric images (bool, complex, strings ...).
    InvalidParameterError
        For bad parameters or a mask of the wrong shape.

    Notes
    -----
    Dask chunks thinner than :func:`sharpness_halo` (e.g. the last chunk of a 1040-px axis
    in 1024-px chunks) are merged into their neighbour (``reduce_blocks(rechunk=True)``).
    """
    if method not in ("iso", "logistic"):
        raise InvalidParameterError(f"method must be 'iso' or 'logistic', got {method!r}")
    p = _params(kw)
    p["method"] = method
    scene = as_scene(image)
    _check_dtype(scene)
    meta = _meta(scene)
    scene = numpy_as_strips(scene, sharpness_halo(**kw))  # every core; same answer
    m = _mask_scene(scene, mask)
    extra = [] if m is None else [m]
    need = 2 * (p["halfwidth"] + 3) + 1
    if scene.sizes["y"] < need or scene.sizes["x"] < need:
        why = (
            f"image {scene.sizes['y']}x{scene.sizes['x']} is smaller than one edge patch "
            f"({need}x{need} px)"
        )
        res = _not_measurable(scene, p, meta, why)
        return res if compute else LazyResult(lazy_call(_identity, res), "sharpness")
    halo = sharpness_halo(**kw)
    nodata = _nodata(scene)

    def chunk(block: np.ndarray, info: BlockInfo, *ex: np.ndarray) -> dict:
        return _chunk(block, info, *ex, p=p, nodata=nodata)

    def combine(parts: list[dict]) -> dict:
        return _combine(parts, p)

    def finalize(part: dict) -> SharpnessResult:
        m2 = dict(meta)
        if part["n_measured"] == 0:
            m2["reason"] = "no edge candidates (constant, all-nodata or edgeless image)"
        return _finalize(part, p, m2)

    # rechunk=True: chunks thinner than the halo (e.g. the last of a 1040-px axis in
    # 1024-px chunks) are merged into their neighbour instead of raising
    out = reduce_blocks(
        chunk, combine, finalize, scene, halo=halo, extra=extra, compute=compute, rechunk=True
    )
    return out if compute else LazyResult(out, "sharpness")


def _mask_scene(scene: xr.DataArray, mask: Any) -> xr.DataArray | None:
    """The validity mask as a boolean ``(band, y, x)`` scene with the image's bands."""
    if mask is None:
        return None
    m = as_scene(mask)
    if m.sizes["y"] != scene.sizes["y"] or m.sizes["x"] != scene.sizes["x"]:
        raise InvalidParameterError(f"mask shape {m.shape} does not match the image {scene.shape}")
    if m.dtype != bool:
        raise InvalidParameterError(f"mask must be boolean (True = valid), got {m.dtype}")
    if m.sizes["band"] not in (1, scene.sizes["band"]):
        raise InvalidParameterError("mask must have 1 band or as many as the image")
    if m.sizes["band"] != scene.sizes["band"]:
        m = xr.concat([m] * scene.sizes["band"], dim="band")
    m = m.assign_coords(band=scene["band"].values)
    if hasattr(scene.data, "chunks") and not hasattr(m.data, "chunks"):
        m = m.chunk(dict(zip(scene.dims, scene.data.chunks, strict=True)))
    return m


def _identity(x: Any) -> Any:
    return x


#: Fewest edges of a direction for which ``flat_summary`` reports the pooled MTF@Nyquist
#: (and below which values are flagged low-confidence; :mod:`iqx.metrics._sharpness_result`).
MIN_POOLED_EDGES = MIN_CONFIDENT_EDGES


def _flat(result: SharpnessResult) -> dict[str, Any]:
    return flat_summary_from_dataset(result.dataset)


def flat_summary(image: Any, **kw: Any) -> dict[str, Any]:
    """Medians over edges as a flat JSON-able dict, every direction (for ``iqx measure``).

    Keys per direction ``d`` in ``x, y, other, all``: ``rer_d, fwhm_d, mtf_nyquist_d,
    mtf_nyquist_pooled_d, mtf_half_nyquist_d, mtf50_d, n_edges_d, low_confidence_d``.
    ``mtf_nyquist_d`` is the *pooled* estimate (``mtf_nyquist_pooled``, from the mean OTF
    of the edges) for a band with at least ``MIN_POOLED_EDGES`` (6) edges in that direction,
    the median of the per-edge values otherwise (single short natural edges are at the
    noise floor at Nyquist). ``low_confidence_d`` is True below 6 edges (the fewest for a
    distribution-free 95 % CI of the median; :mod:`iqx.metrics._sharpness_result`).
    Multi-band images: the mean over bands of the per-band values (bands without edges in
    that direction are skipped) and ``n_edges`` the total over bands. A value is ``None``
    with a ``<key>_reason`` string when no band had a measurable edge in that direction.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        As for :func:`sharpness`.
    **kw
        Passed to :func:`sharpness`.
    """
    kw.pop("compute", None)
    return _flat(sharpness(image, **kw))


sharpness.flat_summary = flat_summary  # type: ignore[attr-defined]


def sharpness_map(
    image: Any,
    *,
    tile: int = 1024,
    mask: Any = None,
    method: str = "iso",
    compute: bool = True,
    **kw: Any,
) -> xr.Dataset:
    """Per-tile sharpness map on a coarse grid (:func:`iqx.parallel.map_tiles_xr`).

    Each ``tile x tile`` tile (grid anchored at the scene origin, independent of the
    chunking) measures the candidates of its own seed cells exactly as :func:`sharpness`
    does (halo :func:`sharpness_halo`) and de-duplicates them among themselves; an edge
    belongs to the tile that holds its seed cell. Overlapping measurements of one edge
    seeded on both sides of a tile border are both kept (one per tile), so ``n_edges``
    summed over the map can slightly exceed :func:`sharpness`'s edge count.

    Parameters
    ----------
    image, mask, method, **kw
        As for :func:`sharpness`.
    tile : int
        Tile size (pixels).
    compute : bool
        If False and the scene is dask-backed, return the lazy Dataset (nothing computed).

    Returns
    -------
    xarray.Dataset
        Variables ``rer``, ``fwhm``, ``mtf_nyquist``, ``mtf_half_nyquist``, ``mtf50``
        (medians over the tile's edges, all directions; NaN where ``n_edges == 0``),
        ``mtf_nyquist_pooled`` (pooled over the tile's edges) and ``n_edges``, dims
        ``(band, y, x)``; coordinates and ``attrs["transform"]`` of the coarse grid as
        :func:`iqx.parallel.map_tiles_xr` gives them (tile centres in the scene's CRS when
        it has a ``transform``), attrs ``tile``, ``metric``.
    """
    if isinstance(tile, bool) or not isinstance(tile, int | np.integer) or tile < 1:
        raise InvalidParameterError(f"tile must be a positive integer, got {tile!r}")
    if method not in ("iso", "logistic"):
        raise InvalidParameterError(f"method must be 'iso' or 'logistic', got {method!r}")
    p = _params(kw)
    p["method"] = method
    scene = as_scene(image)
    _check_dtype(scene)
    m = _mask_scene(scene, mask)
    outputs = dict.fromkeys((*OUTPUTS, "mtf_nyquist_pooled"), np.float64)
    outputs["n_edges"] = np.int64
    ds = map_tiles_xr(
        _tile_values,
        scene,
        tile=int(tile),
        halo=sharpness_halo(**kw) + _map_context(p),
        outputs=outputs,
        mask=m,
        kwargs={"p": p, "nodata": _nodata(scene), "nbands": scene.sizes["band"]},
        attrs={"metric": "sharpness_map"},
    )
    for o in OUTPUTS:
        ds[o].attrs["units"] = UNITS[o]
    ds["mtf_nyquist_pooled"].attrs["units"] = "1"
    ds["n_edges"].attrs["units"] = "count"
    return ds.compute() if compute else ds


def _map_context(p: dict) -> int:
    """Width (px) of the ring of neighbouring cells a map tile also measures, so that an
    edge centred in the tile is found whatever cell seeds it and is de-duplicated against
    the overlapping measurements of its neighbours."""
    return math.ceil(_nms_reach(p) + p["max_length"] / 2.0 + 8.0)


def _tile_values(
    block: np.ndarray, info: BlockInfo, *mask: np.ndarray, p: dict, nodata: Any, nbands: int
) -> dict[str, np.ndarray]:
    """Medians (and pooled MTF@Nyq, count) per band of the edges seeded in one tile."""
    out = {o: np.full(nbands, np.nan) for o in (*OUTPUTS, "mtf_nyquist_pooled")}
    out["n_edges"] = np.zeros(nbands, np.int64)
    need = 2 * (p["halfwidth"] + 3) + 1
    if min(block.shape[1:]) < need:
        return out
    # measure the tile and a ring of context cells around it (each with its full halo),
    # de-duplicate all, keep the edges centred in the tile
    w = _map_context(p)
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
    edges, _, band, _ = _select(part, p, meta)
    ny, nx = block.shape[1:]
    y1 = info.y0 + ny - info.halo_top - info.halo_bottom
    x1 = info.x0 + nx - info.halo_left - info.halo_right
    # an edge belongs to the tile holding its centre (clipped into the scene)
    cy = np.clip(np.floor(edges["y"].to_numpy()), 0, info.shape[0] - 1)
    cx = np.clip(np.floor(edges["x"].to_numpy()), 0, info.shape[1] - 1)
    own = (cy >= info.y0) & (cy < y1) & (cx >= info.x0) & (cx < x1)
    edges, band = edges[own].reset_index(drop=True), band[own]
    rng = np.random.default_rng(0)
    for b in range(nbands):
        sel = band == b
        out["n_edges"][b] = int(sel.sum())
        if not sel.any():
            continue
        for o in OUTPUTS:
            out[o][b] = float(np.nanmedian(edges[o].to_numpy()[sel]))
        out["mtf_nyquist_pooled"][b] = _pooled_nyquist(edges, sel, rng, 0)[0]
    return out
