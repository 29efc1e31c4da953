"""What a user reads from a sharpness measurement: the result, its flat summary, its repr.

The flat summary and the text repr work on the summary variables of
:func:`iqx.metrics.sharpness` (dims ``band`` x ``direction``), so they need nothing from the
measuring code. :class:`SharpnessResult` keeps its values as NumPy arrays and builds its
``dataset`` and ``edges`` (an :class:`xarray.Dataset` and a :class:`pandas.DataFrame`) when
they are first read: ``iqx measure`` reads only the flat summary, and on a small image those
two objects cost more than the measurement (docs/design.md, "Blind results").

**Low confidence.** A value measured from fewer than :data:`MIN_CONFIDENT_EDGES` (6) edges
of a band and direction is flagged ``low_confidence``. Six is the smallest number of edges
for which a distribution-free 95 % confidence interval of the median exists: with ``n``
edges the interval from the smallest to the largest value holds the median with
probability ``1 - 2 * 0.5**n`` (0.969 for 6 edges, 0.938 for 5, 0.875 for 4), so below 6
no 95 % statement about the median is possible whatever the values, and the bootstrap CI of
the median is too narrow. The same count is the threshold from which the *pooled*
MTF at Nyquist (mean OTF of the edges, noise averaged as ``1/n``) is the headline
``mtf_nyquist`` value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = [
    "MIN_CONFIDENT_EDGES",
    "SharpnessResult",
    "SharpnessSummary",
    "edge_frame",
    "flat_summary_from_dataset",
    "format_sharpness",
]

#: Fewest edges of a (band, direction) whose values are not flagged low-confidence, and
#: from which ``mtf_nyquist`` is the pooled estimate (see the module docstring).
MIN_CONFIDENT_EDGES = 6

#: Per-direction keys of the flat summary and the dataset variable each is taken from.
_FLAT_KEYS = {
    "rer": "rer",
    "fwhm": "fwhm",
    "mtf_nyquist": "mtf_nyquist",
    "mtf_nyquist_pooled": "mtf_nyquist_pooled",
    "mtf_half_nyquist": "mtf_half_nyquist",
    "mtf50": "mtf50",
}


def _reason(reasons: np.ndarray) -> str:
    """The distinct non-empty reasons of one direction's bands, sorted and joined."""
    return "; ".join(sorted({r for r in reasons.tolist() if r}))


def _by_direction(ds: xr.Dataset, name: str) -> np.ndarray:
    """Variable ``name`` as NumPy with ``direction`` last (one column per direction)."""
    return ds.variables[name].transpose(..., "direction").values


def flat_summary_from_dataset(ds: xr.Dataset) -> dict[str, Any]:
    """Flat JSON-able summary of a sharpness dataset, for every direction.

    For each direction ``d`` in ``x, y, other, all`` (``x``: edges within 15 degrees of
    vertical, ``y``: of horizontal, ``other``: the rest, so that a slanted target at any
    angle is reported; ``all``: every edge): ``rer_d``, ``fwhm_d``, ``mtf_half_nyquist_d``,
    ``mtf50_d`` (medians over edges), ``mtf_nyquist_d`` (the pooled estimate where a band
    has at least :data:`MIN_CONFIDENT_EDGES` edges, else the median of the per-edge
    values), ``mtf_nyquist_pooled_d`` (always the pooled estimate), ``n_edges_d`` and
    ``low_confidence_d`` (True when a band contributing to the values had fewer than
    :data:`MIN_CONFIDENT_EDGES` edges). Multi-band scenes: the mean over the bands that
    have edges in that direction; ``n_edges`` is the total. A value is ``None`` with a
    ``<key>_reason`` string when no band had an edge in that direction.

    Parameters
    ----------
    ds : xarray.Dataset
        :attr:`iqx.metrics.sharpness.SharpnessResult.dataset`.

    Returns
    -------
    dict
        Floats, ints, bools, ``None`` and reason strings only.
    """
    # every variable read once as NumPy: ``.sel`` per key and direction cost ~20 ms a scene
    names = ("n_edges", "reason", *_FLAT_KEYS.values())
    tables = {name: _by_direction(ds, name) for name in names if name in ds}
    return _flat_summary(ds["direction"].values.tolist(), tables)


def _flat_summary(directions: list[str], tables: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """:func:`flat_summary_from_dataset` from the variables as NumPy arrays, ``direction``
    last (``n_edges``, ``reason`` if present, and the :data:`_FLAT_KEYS` variables present)."""
    out: dict[str, Any] = {}
    counts = tables["n_edges"]
    reasons = tables.get("reason")
    for j, d in enumerate(directions):
        n = counts[..., j]
        ok = n > 0
        for key, var in _FLAT_KEYS.items():
            if var not in tables:
                continue
            v = tables[var][..., j]
            if key == "mtf_nyquist" and "mtf_nyquist_pooled" in tables:
                pooled = tables["mtf_nyquist_pooled"][..., j]
                v = np.where(n >= MIN_CONFIDENT_EDGES, pooled, v)
            good = ok & np.isfinite(v)
            if good.any():
                out[f"{key}_{d}"] = float(np.mean(v[good]))
            else:
                out[f"{key}_{d}"] = None
                reason = _reason(reasons[..., j]) if reasons is not None else ""
                out[f"{key}_{d}_reason"] = reason or "not measurable"
        out[f"n_edges_{d}"] = int(n.sum())
        out[f"low_confidence_{d}"] = bool(not ok.any() or n[ok].min() < MIN_CONFIDENT_EDGES)
    return out


def _fmt(v: float, digits: int = 3) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{v:.{digits}f}"


def format_sharpness(ds: xr.Dataset, rejected: dict, method: str = "iso") -> str:
    """Multi-line text table of a sharpness dataset (the repr of ``SharpnessResult``).

    One block per band, one row per direction: edge count, RER with its bootstrap 95 % CI,
    FWHM (px), MTF at Nyquist/2, MTF at Nyquist (pooled, with CI), MTF50 (cy/px), and a
    ``low confidence`` mark below :data:`MIN_CONFIDENT_EDGES` edges.
    """
    total = int(ds["n_edges"].sel(direction="all").sum()) if "all" in ds.direction else 0
    lines = [f"<SharpnessResult: {total} edges, method {method}>"]
    head = (
        f"{'direction':<9} {'n':>5}  {'RER [95% CI]':<21} {'FWHM':>5}  {'MTF@Nyq/2':>9}  "
        f"{'MTF@Nyq pooled [95% CI]':<25} {'MTF50':>5}"
    )
    for b in ds["band"].values.tolist():
        sel = ds.sel(band=b)
        lines.append(f"band {b}")
        lines.append("  " + head)
        for d in ds["direction"].values.tolist():
            s = sel.sel(direction=d)
            n = int(s["n_edges"])
            if n == 0:
                lines.append(f"  {d:<9} {0:>5}  (no edges)")
                continue
            rer = (
                f"{_fmt(float(s['rer']))} [{_fmt(float(s['rer_ci_low']), 2)}, "
                f"{_fmt(float(s['rer_ci_high']), 2)}]"
            )
            nyq = "-"
            if "mtf_nyquist_pooled" in s:
                nyq = (
                    f"{_fmt(float(s['mtf_nyquist_pooled']))} "
                    f"[{_fmt(float(s['mtf_nyquist_pooled_ci_low']))}, "
                    f"{_fmt(float(s['mtf_nyquist_pooled_ci_high']))}]"
                )
            flag = "  low confidence" if n < MIN_CONFIDENT_EDGES else ""
            lines.append(
                f"  {d:<9} {n:>5}  {rer:<21} {_fmt(float(s['fwhm']), 2):>5}  "
                f"{_fmt(float(s['mtf_half_nyquist'])):>9}  {nyq:<25} "
                f"{_fmt(float(s['mtf50'])):>5}{flag}"
            )
    rej = {b: v for b, v in rejected.items() if v}
    if rej:
        lines.append(f"rejected candidates: {rej}")
    return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class SharpnessSummary:
    """The summary of a sharpness measurement as NumPy arrays, before any xarray object.

    Attributes
    ----------
    variables : dict
        ``name -> (dims, values, attrs)`` of every variable of
        :attr:`SharpnessResult.dataset` (``values`` NumPy, dims ``band``, ``direction`` and
        ``frequency`` or ``reason_code``).
    coords : dict
        Its coordinates, as :class:`xarray.Dataset` takes them.
    attrs : dict
        Its attributes.
    """

    variables: dict[str, tuple]
    coords: dict[str, Any]
    attrs: dict[str, Any]

    def to_dataset(self) -> xr.Dataset:
        """The summary as the :class:`xarray.Dataset` :attr:`SharpnessResult.dataset`."""
        return xr.Dataset(self.variables, coords=self.coords, attrs=self.attrs)

    def flat_summary(self) -> dict[str, Any]:
        """:func:`flat_summary_from_dataset` of :meth:`to_dataset`, without building it."""
        tables = {
            name: values
            for name, (dims, values, *_) in self.variables.items()
            if dims == ("band", "direction")
        }
        return _flat_summary(list(self.coords["direction"]), tables)


def edge_frame(
    columns: Mapping[str, np.ndarray], transform: tuple[float, ...] | None
) -> pd.DataFrame:
    """The edge table of :attr:`SharpnessResult.edges`: ``columns`` with the map position
    of each edge centre (``map_x``, ``map_y``) inserted after ``x``."""
    edges = pd.DataFrame(dict(columns))
    # the dtype pandas gives a non-empty column of strings, for any number of rows (an
    # empty object array would stay ``object``)
    edges["direction"] = edges["direction"].astype(str)
    mx, my = _to_map(transform, edges["y"].to_numpy(), edges["x"].to_numpy())
    edges.insert(3, "map_x", np.asarray(mx, dtype=np.float64))
    edges.insert(4, "map_y", np.asarray(my, dtype=np.float64))
    return edges


@dataclass(frozen=True, eq=False)
class SharpnessResult:
    """What :func:`sharpness` measured on one scene (immutable: fields cannot be reassigned).

    The values are kept as NumPy arrays (``summary``, ``edge_columns``); ``dataset`` and
    ``edges`` are built from them when first read, then kept.

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
    summary : SharpnessSummary
        The arrays ``dataset`` is built from.
    edge_columns : dict
        The columns of ``edges`` (all but the map position) as NumPy arrays.
    rejected : dict
        ``{band: {reason: count}}`` for candidates that failed a gate.
    crs, transform : optional
        Georeferencing of the scene (for the map position and the GeoJSON export).
    params : dict
        The parameters of the measurement.
    """

    summary: SharpnessSummary
    edge_columns: Mapping[str, np.ndarray]
    rejected: dict[int, dict[str, int]]
    crs: str | None = None
    transform: tuple[float, ...] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def dataset(self) -> xr.Dataset:
        """The summary per band and direction (see the class docstring)."""
        return self.summary.to_dataset()

    @cached_property
    def edges(self) -> pd.DataFrame:
        """The table of accepted edges (see the class docstring)."""
        return edge_frame(self.edge_columns, self.transform)

    @property
    def measurable(self) -> bool:
        """True if at least one edge was measured."""
        return len(self.edge_columns["y"]) > 0

    def flat_summary(self) -> dict[str, Any]:
        """JSON-able medians (see :func:`flat_summary`), read from :attr:`summary`."""
        return self.summary.flat_summary()

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
