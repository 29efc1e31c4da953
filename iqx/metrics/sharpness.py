"""Edge-method sharpness of any scene: RER, FWHM, MTF at Nyquist / half Nyquist and MTF50.

Natural step edges are found block by block (a sparse reduction, see ``docs/sharpness.md``):

1. **Candidate search** (per block, numba, :mod:`iqx.kernels.edges`): Sobel gradient; one
   seed per cell of a scene-aligned grid (its strongest gradient); the edge is traced both
   ways from the seed and fitted with a line (length and straightness gates).
2. **Measurement** (per candidate, numba, :mod:`iqx.kernels.esf`): ISO 12233-style slanted
   edge along the edge normal: centroid + slope refinement, variable-oversampling ESF,
   contrast / SNR / homogeneity / flatness / outlier / isolation gates, RER, FWHM and MTF
   corrected for the bin and derivative filters.
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
from iqx.kernels.edges import (
    candidate_reach,
    cell_seeds,
    seed_score,
    sobel,
    trace_candidates,
)
from iqx.kernels.esf import RES_FIELDS, STATUS, measure_candidates
from iqx.parallel import BlockInfo, as_scene, reduce_blocks
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

DEFAULTS: dict[str, Any] = {
    "cell": 16,
    "seeds_per_cell": 3,
    "seed_separation": 4,
    "coherence_radius": 2,
    "min_length": 8.0,
    "max_length": 64,
    "halfwidth": 5,
    "plateau": 2.0,
    "taper": 2.0,
    "oversampling": (8, 6, 5, 4, 3, 2),
    "min_snr": 6.0,
    "max_straightness": 0.5,
    "max_fit_rms": 0.5,
    "max_noise_ratio": 3.0,
    "max_plateau_slope": 0.06,
    "outlier_k": 5.0,
    "max_outlier_frac": 0.03,
    "max_tail": 0.25,
    "stop_ratio": 0.35,
    "max_turn": 25.0,
    "trim": 2.0,
    "direction_tolerance": 15.0,
    "n_boot": 500,
    "seed": 0,
}


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
def _chunk(
    block: np.ndarray, info: BlockInfo, *extra: np.ndarray, p: dict, nodata: float | None
) -> dict:
    """Candidates of one block (all bands): small arrays of per-edge measurements."""
    mask = extra[0] if extra else None
    ny, nx = block.shape[1:]
    ext_y0 = info.y0 - info.halo_top
    ext_x0 = info.x0 - info.halo_left
    core_y1 = info.y0 + ny - info.halo_top - info.halo_bottom
    core_x1 = info.x0 + nx - info.halo_left - info.halo_right
    rows, curves, esfs, bands, cells = [], [], [], [], []
    osr = np.asarray(p["oversampling"], dtype=np.int64)
    for b in range(block.shape[0]):
        img = np.asarray(block[b], dtype=np.float64)
        valid = np.isfinite(img)
        if nodata is not None and not math.isnan(nodata):
            valid &= img != nodata
        if mask is not None:
            valid &= np.asarray(mask[b if mask.shape[0] > 1 else 0], dtype=bool)
        img = np.where(valid, img, 0.0)
        gy, gx = sobel(img, valid)
        score = seed_score(gy, gx, p["coherence_radius"])
        seeds = cell_seeds(
            score, ext_y0, ext_x0, info.y0, core_y1, info.x0, core_x1,
            info.shape[0], info.shape[1], p["cell"], p["seeds_per_cell"], p["seed_separation"],
        )  # fmt: skip
        cand = trace_candidates(
            gy, gx, seeds, p["max_length"] // 2, float(p["min_length"]),
            float(p["max_straightness"]), p["stop_ratio"], p["max_turn"], p["trim"],
        )  # fmt: skip
        cells.append(np.bincount(cand[:, 9].astype(np.int64), minlength=3)[:3])
        keep = cand[:, 9] == 0
        cand = cand[keep]
        res, crv, esf = measure_candidates(
            img, valid, gy, gx, cand, p["halfwidth"], p["plateau"], p["taper"], osr, FREQS,
            p["min_snr"], p["max_noise_ratio"], p["max_plateau_slope"], p["outlier_k"],
            p["max_outlier_frac"], p["max_tail"], p["max_fit_rms"],
        )  # fmt: skip
        # global position: integer seed offset + seed-relative float (bit-identical)
        res[:, _R["cy"]] += cand[:, 0] + ext_y0
        res[:, _R["cx"]] += cand[:, 1] + ext_x0
        rows.append(res)
        # curves and ESFs only for accepted rows (memory ~ accepted edges, not candidates);
        # the ESFs are only needed by the logistic path
        acc = res[:, 0] == 0
        curves.append(crv[acc])
        esfs.append(esf[acc] if p["method"] == "logistic" else esf[acc][:, :0])
        bands.append(np.full(len(res), b, np.int64))
    return {
        "res": np.concatenate(rows),
        "curves": np.concatenate(curves),
        "esfs": np.concatenate(esfs),
        "band": np.concatenate(bands),
        "cells": np.stack(cells),
    }


def _combine(parts: list[dict]) -> dict:
    out = {k: np.concatenate([q[k] for q in parts]) for k in ("res", "curves", "esfs", "band")}
    out["cells"] = np.sum([q["cells"] for q in parts], axis=0)
    return out


# ---------------------------------------------------------------------------------------
# selection and statistics
# ---------------------------------------------------------------------------------------
def _nms(res: np.ndarray, halfwidth: float) -> np.ndarray:
    """Indices of non-overlapping measurements (accepted and longest first)."""
    from scipy.spatial import cKDTree

    n = len(res)
    if n == 0:
        return np.zeros(0, np.int64)
    cy, cx = res[:, _R["cy"]], res[:, _R["cx"]]
    ty, tx = res[:, _R["ty"]], res[:, _R["tx"]]
    lh = res[:, _R["half_length"]]
    ok = res[:, _R["status"]] == 0
    order = np.lexsort((cx, cy, -lh, ~ok))
    tree = cKDTree(np.column_stack([cy, cx]))
    radius = 2.0 * float(np.max(lh)) + 1.0
    kept = np.zeros(n, bool)
    for i in order:
        clash = False
        for j in tree.query_ball_point((cy[i], cx[i]), radius):
            if not kept[j]:
                continue
            if abs(ty[i] * ty[j] + tx[i] * tx[j]) < math.cos(math.radians(20)):
                continue
            dy, dx = cy[i] - cy[j], cx[i] - cx[j]
            along = abs(dy * ty[j] + dx * tx[j])
            across = abs(dy * tx[j] - dx * ty[j])
            if across < halfwidth and along < lh[i] + lh[j]:
                clash = True
                break
        if not clash:
            kept[i] = True
    return np.flatnonzero(kept)


def _direction(angle: np.ndarray, tol: float) -> np.ndarray:
    out = np.full(angle.shape, "other", dtype=object)
    out[(angle <= tol) | (angle >= 180.0 - tol)] = "x"
    out[(angle >= 90.0 - tol) & (angle <= 90.0 + tol)] = "y"
    return out


def _stats(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict[str, float]:
    v = values[np.isfinite(values)]
    if len(v) == 0:
        return dict.fromkeys(("median", "mean", "std", "iqr", "ci_low", "ci_high"), np.nan)
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    if len(v) > 1:
        idx = rng.integers(0, len(v), size=(n_boot, len(v)))
        meds = np.median(v[idx], axis=1)
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
        ``mtf(band, direction, frequency)``, ``n_rejected(band, reason)`` and a ``reason``
        string where nothing was measurable.
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
        n = len(self.edges)
        by = self.edges["direction"].value_counts().to_dict() if n else {}
        return f"<SharpnessResult: {n} edges {by}, rejected {self.rejected}>"


def _to_map(transform: tuple[float, ...] | None, y: float, x: float) -> tuple[float, float]:
    """Pixel (row, col) *index* coordinates -> map coordinates of the pixel-centre point."""
    if transform is None:
        return (x, y)
    a, b, c, d, e, f = transform[:6]
    xx, yy = x + 0.5, y + 0.5
    return (a * xx + b * yy + c, d * xx + e * yy + f)


def _finalize(part: dict, p: dict, scene_meta: dict) -> SharpnessResult:
    res, band = part["res"], part["band"]
    nbands = scene_meta["nbands"]
    rejected: dict[int, dict[str, int]] = {b: {} for b in range(nbands)}
    for b in range(nbands):
        cells = part["cells"][b] if len(part["cells"]) else np.zeros(3, np.int64)
        for code in (1, 2):
            if cells[code]:
                rejected[b][STATUS[code]] = int(cells[code])
    keep_rows = []
    for b in range(nbands):
        idx = np.flatnonzero(band == b)
        sel = idx[_nms(res[idx], float(p["halfwidth"]))]
        for i in sel:
            st = int(res[i, 0])
            if st != 0:
                rejected[b][STATUS[st]] = rejected[b].get(STATUS[st], 0) + 1
            else:
                keep_rows.append(i)
    keep = np.asarray(sorted(keep_rows, key=lambda i: (band[i], res[i, 1], res[i, 2])), np.int64)
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
    table["mtf_nyquist_signed"] = r[:, _R["mtf_nyquist_signed"]]
    edges = pd.DataFrame(table)
    if len(edges):
        mx, my = zip(
            *(
                _to_map(scene_meta["transform"], yy, xx)
                for yy, xx in zip(edges.y, edges.x, strict=True)
            ),
            strict=True,
        )
    else:
        mx, my = (), ()
    edges.insert(3, "map_x", np.asarray(mx, dtype=np.float64))
    edges.insert(4, "map_y", np.asarray(my, dtype=np.float64))
    row_of = np.cumsum(res[:, 0] == 0) - 1  # row of each accepted candidate in curves/esfs
    curves = part["curves"][row_of[keep]]
    esfs = part["esfs"][row_of[keep]]
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
        edges = edges[ok].reset_index(drop=True)
        curves = vals["curves"][ok]
        band_kept = bkeep[ok]
    else:
        band_kept = band[keep]
    ds = _summary_dataset(edges, curves, band_kept, rejected, p, scene_meta)
    return SharpnessResult(
        dataset=ds,
        edges=edges,
        rejected={int(scene_meta["band_labels"][b]): v for b, v in rejected.items()},
        crs=scene_meta["crs"],
        transform=scene_meta["transform"],
        params={k: v for k, v in p.items()},
    )


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
    reason = np.full((nb, nd), "", dtype=object)
    direction = edges["direction"].to_numpy() if len(edges) else np.zeros(0, object)
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
                # MTF@Nyq: statistics of the unclipped debiased estimate (unbiased where
                # single short edges are at the noise floor), clipped at 0 afterwards
                src = "mtf_nyquist_signed" if o == "mtf_nyquist" else o
                st = _stats(edges[src].to_numpy()[sel], rng, p["n_boot"])
                if o == "mtf_nyquist":
                    st = {k: max(v, 0.0) if k != "std" and k != "iqr" else v for k, v in st.items()}
                for s in stats:
                    data[(o, s)][b, k] = st[s]
            mtf[b, k] = np.nanmedian(curves[sel], axis=0)
    dims = ("band", "direction")
    dv: dict[str, Any] = {}
    for o in OUTPUTS:
        dv[o] = (dims, data[(o, "median")], {"units": UNITS[o], "statistic": "median over edges"})
        for s in stats[1:]:
            dv[f"{o}_{s}"] = (dims, data[(o, s)], {"units": UNITS[o]})
    dv["n_edges"] = (dims, counts, {"units": "count"})
    dv["mtf"] = ((*dims, "frequency"), mtf, {"statistic": "median MTF curve over edges"})
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
def _not_measurable(scene: xr.DataArray, p: dict, meta: dict, why: str) -> SharpnessResult:
    meta = {**meta, "reason": why}
    part = {
        "res": np.zeros((0, len(RES_FIELDS))),
        "curves": np.zeros((0, len(FREQS)), np.float32),
        "esfs": np.zeros((0, 2 * p["halfwidth"] * 8), np.float32),
        "band": np.zeros(0, np.int64),
        "cells": np.zeros((meta["nbands"], 3), np.int64),
    }
    return _finalize(part, p, meta)


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
        If False, return a ``dask.delayed`` object (building the graph computes nothing).
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
        When nothing is measurable the values are NaN with ``n_edges == 0`` and a
        ``reason``; :func:`flat_summary` turns them into ``None`` + ``<key>_reason``.

    Raises
    ------
    UnsupportedDtypeError
        For non-numeric images (bool, complex, strings ...).
    InvalidParameterError
        For bad parameters or a mask of the wrong shape.
    HaloTooLargeError
        If a chunk is smaller than :func:`sharpness_halo`; rechunk the scene.
    """
    if method not in ("iso", "logistic"):
        raise InvalidParameterError(f"method must be 'iso' or 'logistic', got {method!r}")
    p = _params(kw)
    p["method"] = method
    scene = as_scene(image)
    _check_dtype(scene)
    meta = _meta(scene)
    extra = []
    if mask is not None:
        m = as_scene(mask)
        if m.sizes["y"] != scene.sizes["y"] or m.sizes["x"] != scene.sizes["x"]:
            raise InvalidParameterError(
                f"mask shape {m.shape} does not match the image {scene.shape}"
            )
        if m.dtype != bool:
            raise InvalidParameterError(f"mask must be boolean (True = valid), got {m.dtype}")
        if m.sizes["band"] not in (1, scene.sizes["band"]):
            raise InvalidParameterError("mask must have 1 band or as many as the image")
        if m.sizes["band"] != scene.sizes["band"]:
            m = xr.concat([m] * scene.sizes["band"], dim="band")
        m = m.assign_coords(band=scene["band"].values)
        if hasattr(scene.data, "chunks") and not hasattr(m.data, "chunks"):
            m = m.chunk(dict(zip(scene.dims, scene.data.chunks, strict=True)))
        extra = [m]
    need = 2 * (p["halfwidth"] + 3) + 1
    if scene.sizes["y"] < need or scene.sizes["x"] < need:
        why = (
            f"image {scene.sizes['y']}x{scene.sizes['x']} is smaller than one edge patch "
            f"({need}x{need} px)"
        )
        res = _not_measurable(scene, p, meta, why)
        if compute:
            return res
        import dask

        return dask.delayed(lambda r: r)(res)
    halo = sharpness_halo(**kw)
    nodata = _nodata(scene)

    def chunk(block: np.ndarray, info: BlockInfo, *ex: np.ndarray) -> dict:
        return _chunk(block, info, *ex, p=p, nodata=nodata)

    def finalize(part: dict) -> SharpnessResult:
        n_valid_cand = len(part["res"])
        m2 = dict(meta)
        if n_valid_cand == 0:
            m2["reason"] = "no edge candidates (constant, all-nodata or edgeless image)"
        return _finalize(part, p, m2)

    return reduce_blocks(chunk, _combine, finalize, scene, halo=halo, extra=extra, compute=compute)


def _flat(result: SharpnessResult) -> dict[str, Any]:
    ds = result.dataset
    out: dict[str, Any] = {}
    keys = {"rer": "rer", "fwhm": "fwhm", "mtf_nyquist": "mtf_nyquist", "mtf50": "mtf50"}
    for d in ("x", "y"):
        n = ds["n_edges"].sel(direction=d).values
        for key, var in keys.items():
            v = ds[var].sel(direction=d).values
            ok = n > 0
            if ok.any():
                out[f"{key}_{d}"] = float(np.mean(v[ok]))
            else:
                out[f"{key}_{d}"] = None
                out[f"{key}_{d}_reason"] = "; ".join(
                    sorted(set(ds["reason"].sel(direction=d).values.tolist()))
                )
        out[f"n_edges_{d}"] = int(n.sum())
    return out


def flat_summary(image: Any, **kw: Any) -> dict[str, Any]:
    """Medians over edges as a flat JSON-able dict (for ``iqx measure``).

    Keys: ``rer_x, rer_y, fwhm_x, fwhm_y, mtf_nyquist_x, mtf_nyquist_y, mtf50_x, mtf50_y,
    n_edges_x, n_edges_y``. Multi-band images: the value is the mean over bands of the
    per-band medians (bands without edges in that direction are skipped) and ``n_edges``
    the total over bands. A value is ``None`` with a ``<key>_reason`` string when no band
    had a measurable edge in that direction.

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
) -> xr.Dataset | Any:
    """Per-tile sharpness map on a coarse grid.

    Edges are found and measured as in :func:`sharpness` (so the map is chunk-invariant)
    and grouped by the tile of ``tile x tile`` pixels that holds their centre.

    Parameters
    ----------
    image, mask, method, **kw
        As for :func:`sharpness`.
    tile : int
        Tile size (pixels).
    compute : bool
        If False, return a ``dask.delayed`` object.

    Returns
    -------
    xarray.Dataset
        Variables ``rer``, ``fwhm``, ``mtf_nyquist``, ``mtf_half_nyquist``, ``mtf50``
        (medians over the tile's edges, all directions; NaN where ``n_edges == 0``) and
        ``n_edges``, dims ``(band, y, x)`` with tile-centre coordinates in the scene's CRS
        when it has a ``transform`` (pixel coordinates otherwise); attrs ``transform``
        (scaled by ``tile``), ``crs``, ``tile``.
    """
    if isinstance(tile, bool) or not isinstance(tile, int | np.integer) or tile < 1:
        raise InvalidParameterError(f"tile must be a positive integer, got {tile!r}")
    scene = as_scene(image)
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    meta = _meta(scene)
    res = sharpness(scene, mask=mask, method=method, compute=compute, **kw)
    if compute:
        return _tile_map(res, tile, ny, nx, meta)
    import dask

    return dask.delayed(_tile_map)(res, tile, ny, nx, meta)


def _tile_map(res: SharpnessResult, tile: int, ny: int, nx: int, meta: dict) -> xr.Dataset:
    ty_, tx_ = -(-ny // tile), -(-nx // tile)
    nb = meta["nbands"]
    out = {o: np.full((nb, ty_, tx_), np.nan) for o in OUTPUTS}
    count = np.zeros((nb, ty_, tx_), np.int64)
    e = res.edges
    if len(e):
        labels = list(meta["band_labels"])
        bi = np.array([labels.index(b) for b in e["band"]])
        iy = np.clip((e["y"].to_numpy() // tile).astype(int), 0, ty_ - 1)
        ix = np.clip((e["x"].to_numpy() // tile).astype(int), 0, tx_ - 1)
        key = pd.DataFrame({"b": bi, "iy": iy, "ix": ix})
        for (b, i, j), idx in key.groupby(["b", "iy", "ix"]).groups.items():
            count[b, i, j] = len(idx)
            for o in OUTPUTS:
                out[o][b, i, j] = float(np.nanmedian(e[o].to_numpy()[np.asarray(idx)]))
    tr = meta["transform"]
    cy = np.arange(ty_) * tile + np.minimum(tile, ny - np.arange(ty_) * tile) / 2.0
    cx = np.arange(tx_) * tile + np.minimum(tile, nx - np.arange(tx_) * tile) / 2.0
    attrs: dict[str, Any] = {"tile": tile, "metric": "sharpness_map"}
    if tr is not None:
        a, b, c, d, e_, f = tr
        xs = a * cx + c
        ys = e_ * cy + f
        attrs["transform"] = (a * tile, b * tile, c, d * tile, e_ * tile, f)
    else:
        xs, ys = cx, cy
    if meta["crs"] is not None:
        attrs["crs"] = meta["crs"]
    dv = {o: (("band", "y", "x"), out[o], {"units": UNITS[o]}) for o in OUTPUTS}
    dv["n_edges"] = (("band", "y", "x"), count, {"units": "count"})
    return xr.Dataset(dv, coords={"band": meta["band_labels"], "y": ys, "x": xs}, attrs=attrs)
