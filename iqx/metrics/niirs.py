"""NIIRS from what iqx measures: the GIQE fed with blind RER, SNR and the scene's GSD.

For each band: RER per direction is the median over the natural edges that
:func:`iqx.metrics.sharpness` accepted (``x``: profile along x, ``y``: along y); GSD comes
from the georeferencing (``attrs["transform"]``/``["crs"]``, metres; converted to inches for
the GIQE) or is given; the elevation angle from metadata or given (nadir otherwise, said
so); SNR is the **median edge SNR of the same edges** (contrast between the two plateaus /
the plateau pixel noise), the blind counterpart of the GIQE's contrast SNR (the DN
difference of a 7 %/15 % reflectance target pair over the noise) measured after all
processing; ``snr="scene"`` uses :func:`iqx.metrics.snr` (median DN / noise) instead, and
a number is taken as given. GIQE 4 and 3 also take the edge overshoot ``H`` (from the
measured MTF curves, :mod:`iqx.metrics._niirs_inputs`) and the noise gain ``G`` (1: the
measured noise already holds whatever sharpening did to it). The uncertainty is a seeded
bootstrap over the edges (and, for ``snr="scene"``, over the SNR estimate's standard
error, which stands in for its blocks). See ``docs/niirs.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.metrics._niirs_inputs import (
    gaussian_overshoot,
    overshoot_from_mtf,
    resolve_elevation,
    resolve_gsd,
)
from iqx.metrics.giqe import GIQE_SE, GIQE_VERSIONS, INCH, giqe, giqe5_rer
from iqx.parallel import as_scene
from iqx.registry import register_metric

__all__ = ["NiirsOptions", "NiirsResult", "flat_summary", "niirs", "niirs_map"]

#: NIIRS range over which the GIQE was fitted and validated (visible band)
NIIRS_DOMAIN = (2.0, 7.0)
#: per-band variables of :attr:`NiirsResult.dataset` (besides ``reason`` and the sources)
BAND_VARS = (
    "niirs",
    "niirs_ci_low",
    "niirs_ci_high",
    "niirs_se",
    "rer_x",
    "rer_x_se",
    "rer_y",
    "rer_y_se",
    "rer",
    "rer_gm",
    "snr",
    "snr_se",
    "h",
    "h_se",
    "g",
    "gsd_m",
    "gsd_in",
    "elevation_deg",
    "n_edges_x",
    "n_edges_y",
)


@dataclass(frozen=True)
class NiirsOptions:
    """How :func:`niirs` turns measurements into NIIRS (see :func:`niirs` for each field)."""

    version: int = 5
    gsd: float | tuple[float, float] | None = None
    elevation: float | None = None
    snr: str | float = "edges"
    noise_gain: float = 1.0
    overshoot: float | None = None
    directions: str = "xy"
    n_boot: int = 500
    seed: int = 0

    def __post_init__(self) -> None:
        if self.version not in GIQE_VERSIONS:
            raise InvalidParameterError(f"version must be one of {GIQE_VERSIONS}")
        g = self.gsd if isinstance(self.gsd, tuple) else (self.gsd,) if self.gsd else ()
        if any(not (isinstance(v, int | float) and v > 0) for v in g) or len(g) > 2:
            raise InvalidParameterError(f"gsd must be > 0 metres or (x, y), got {self.gsd!r}")
        if self.elevation is not None and not 0 < self.elevation <= 90:
            raise InvalidParameterError(f"elevation must be in (0, 90] deg, got {self.elevation}")
        if isinstance(self.snr, str) and self.snr not in ("edges", "scene"):
            raise InvalidParameterError(f"snr must be 'edges', 'scene' or > 0, got {self.snr!r}")
        if not isinstance(self.snr, str) and not self.snr > 0:
            raise InvalidParameterError(f"snr must be > 0, got {self.snr!r}")
        if not self.noise_gain > 0 or (self.overshoot is not None and not self.overshoot > 0):
            raise InvalidParameterError("noise_gain and overshoot must be > 0")
        if self.directions not in ("xy", "all"):
            raise InvalidParameterError(f"directions must be 'xy' or 'all', got {self.directions}")
        if not isinstance(self.n_boot, int) or self.n_boot < 10:
            raise InvalidParameterError(f"n_boot must be an integer >= 10, got {self.n_boot!r}")


@dataclass
class NiirsResult:
    """NIIRS of one scene, per band and combined, with every input beside it.

    Attributes
    ----------
    dataset : xarray.Dataset
        On ``band``: :data:`BAND_VARS` (``rer`` is the RER the equation used: the geometric
        mean for GIQE 3/4, GIQE 5's ``(max min^2)^(1/3)``; ``rer_gm`` the geometric mean;
        ``_se`` bootstrap standard errors; CI 95 % percentile) and ``reason`` (empty when
        measured). attrs: ``version``, ``snr_source``, ``gsd_source``, ``elevation_source``,
        ``h_source``, ``model_se`` (the equation's own error, :data:`GIQE_SE`).
    scene : dict
        The combined value (mean over measurable bands, bootstrap replicates averaged
        likewise): ``niirs``, ``niirs_ci_low``/``_high``, ``niirs_se`` and the band-mean
        inputs, or ``None`` values and ``reason``.
    options : NiirsOptions
    """

    dataset: xr.Dataset
    scene: dict[str, Any]
    options: NiirsOptions = field(default_factory=NiirsOptions)

    @property
    def value(self) -> float | None:
        """The scene's NIIRS (None when not measurable)."""
        return self.scene.get("niirs")

    def flat_summary(self) -> dict[str, Any]:
        """JSON-able keys for ``iqx measure`` / MLflow: ``niirs`` and ``niirs_<input>``."""
        out: dict[str, Any] = {}
        for k, v in self.scene.items():
            key = k if k.startswith("niirs") else f"niirs_{k}"
            out[key] = v
        return out

    def __repr__(self) -> str:
        s = self.scene
        head = f"NIIRS (GIQE {self.options.version}): "
        if s.get("niirs") is None:
            return head + f"not measurable: {s.get('reason')}"
        return head + (
            f"{s['niirs']:.2f} [{s['niirs_ci_low']:.2f}, {s['niirs_ci_high']:.2f}] "
            f"(+- {GIQE_SE} equation) | GSD {s['gsd_m']:.3g} m ({s['gsd_in']:.3g} in, "
            f"{s['gsd_source']}), RER x {s['rer_x']:.3f} y {s['rer_y']:.3f}, "
            f"SNR {s['snr']:.1f} ({s['snr_source']}), H {s['h']:.3f}, G {s['g']:.2f}, "
            f"elevation {s['elevation_deg']:.1f} deg ({s['elevation_source']})"
            + ("" if s["in_domain"] else " | OUTSIDE the GIQE's domain (NIIRS 2-7)")
        )


def _medians(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    return np.median(values[idx], axis=1)


def _band(
    b: int,
    edges: pd.DataFrame,
    sres: Any,
    snr_ds: xr.Dataset | None,
    gsd_m: float,
    elev: float,
    opts: NiirsOptions,
) -> tuple[dict[str, Any], np.ndarray | None]:
    """Values of one band and its bootstrap replicates of NIIRS (None if not measurable)."""
    label = sres.dataset["band"].values[b]
    e = edges[edges["band"] == label]
    pick = {"x": e["direction"] == "x", "y": e["direction"] == "y"}
    if opts.directions == "all":
        pick = {"x": np.ones(len(e), bool), "y": np.ones(len(e), bool)}
    rx, ry = (e["rer"].to_numpy(float)[np.asarray(pick[d])] for d in ("x", "y"))
    used = np.asarray(pick["x"]) | np.asarray(pick["y"])
    out: dict[str, Any] = {"n_edges_x": len(rx), "n_edges_y": len(ry), "reason": ""}
    for d, r in (("x", rx), ("y", ry)):
        if len(r) == 0:
            why = str(sres.dataset["reason"].sel(band=label, direction=d).item() or "")
            out["reason"] = f"RER not measurable: no accepted edge in direction {d}" + (
                f" ({why})" if why else ""
            )
            return out, None
    rng = np.random.default_rng([opts.seed, b])
    nb = opts.n_boot
    rx_b = _medians(rx, rng.integers(0, len(rx), (nb, len(rx))))
    ry_b = _medians(ry, rng.integers(0, len(ry), (nb, len(ry))))
    out["rer_x"], out["rer_y"] = float(np.median(rx)), float(np.median(ry))
    # SNR
    if opts.snr == "edges":
        s = e["edge_snr"].to_numpy(float)[used]
        out["snr"] = float(np.median(s))
        snr_b = _medians(s, rng.integers(0, len(s), (nb, len(s))))
    elif opts.snr == "scene":
        v = float(snr_ds["snr"].values[b])
        se = float(snr_ds["snr_std"].values[b])
        if not math.isfinite(v):
            out["reason"] = f"SNR not measurable: {snr_ds['reason'].values[b]}"
            return out, None
        out["snr"] = v
        snr_b = np.clip(rng.normal(v, se if math.isfinite(se) else 0.0, nb), 1e-3, None)
    else:
        out["snr"] = float(opts.snr)
        snr_b = np.full(nb, float(opts.snr))
    # overshoot H (GIQE 3/4), its bootstrap carried over from the RER via a Gaussian PSF
    gm = math.sqrt(out["rer_x"] * out["rer_y"])
    gm_b = np.sqrt(rx_b * ry_b)
    if opts.overshoot is not None:
        out["h"], h_b = float(opts.overshoot), np.full(nb, float(opts.overshoot))
    else:
        freqs = sres.dataset["frequency"].values
        hs = []
        for d in ("x", "y") if opts.directions == "xy" else ("all", "all"):
            curve = sres.dataset["mtf"].sel(band=label, direction=d).values
            hs.append(overshoot_from_mtf(freqs, curve))
        h = (
            math.sqrt(hs[0] * hs[1])
            if all(map(math.isfinite, hs))
            else float(gaussian_overshoot(gm))
        )
        out["h"] = h
        h_b = h + gaussian_overshoot(gm_b) - gaussian_overshoot(gm)
    g = float(opts.noise_gain)
    gsd_in = gsd_m / INCH
    kw = {"gsd_in": gsd_in, "elevation_deg": elev, "g": g}
    val = giqe(
        opts.version, rer_x=out["rer_x"], rer_y=out["rer_y"], snr=out["snr"], h=out["h"], **kw
    )
    boot = np.asarray(giqe(opts.version, rer_x=rx_b, rer_y=ry_b, snr=snr_b, h=h_b, **kw))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    comb = giqe5_rer(out["rer_x"], out["rer_y"]) if opts.version == 5 else gm
    out.update(
        niirs=float(val),
        niirs_ci_low=float(lo),
        niirs_ci_high=float(hi),
        niirs_se=float(boot.std(ddof=1)),
        rer_x_se=float(rx_b.std(ddof=1)),
        rer_y_se=float(ry_b.std(ddof=1)),
        rer=float(comb),
        rer_gm=gm,
        snr_se=float(snr_b.std(ddof=1)),
        h_se=float(h_b.std(ddof=1)),
        g=g,
    )
    return out, boot


def _result(
    scene: xr.DataArray, sres: Any, snr_ds: xr.Dataset | None, opts: NiirsOptions
) -> NiirsResult:
    bands = sres.dataset["band"].values
    gsd_m, gsd_src, gsd_why = resolve_gsd(opts.gsd, scene)
    elev, elev_src = resolve_elevation(opts.elevation, scene.attrs)
    rows, boots = [], []
    for b in range(len(bands)):
        if gsd_m is None:
            row, boot = {"reason": f"GSD not measurable: {gsd_why}"}, None
        else:
            row, boot = _band(b, sres.edges, sres, snr_ds, gsd_m, elev, opts)
        row.setdefault("gsd_m", gsd_m if gsd_m is not None else math.nan)
        row["gsd_in"] = row["gsd_m"] / INCH
        row["elevation_deg"] = elev
        rows.append(row)
        if boot is not None:
            boots.append(boot)
    data = {v: ("band", [float(r.get(v, math.nan)) for r in rows]) for v in BAND_VARS}
    data["reason"] = ("band", [r["reason"] for r in rows])
    h_src = (
        "given"
        if opts.overshoot is not None
        else "edge response of the median MTF curves (x, y)"
        if opts.version != 5
        else "not used by GIQE 5"
    )
    attrs = {
        "version": opts.version,
        "snr_source": opts.snr if isinstance(opts.snr, str) else "given",
        "gsd_source": gsd_src,
        "elevation_source": elev_src,
        "h_source": h_src,
        "model_se": GIQE_SE,
        "metric": "niirs",
    }
    ds = xr.Dataset(data, coords={"band": bands}, attrs=attrs)
    ok = [r for r in rows if math.isfinite(r.get("niirs", math.nan))]
    summary: dict[str, Any]
    if not ok:
        reasons = sorted({r["reason"] for r in rows})
        summary = {"niirs": None, "reason": "; ".join(reasons)}
    else:
        boot = np.mean(boots, axis=0)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        summary = {
            "niirs": float(np.mean([r["niirs"] for r in ok])),
            "niirs_ci_low": float(lo),
            "niirs_ci_high": float(hi),
            "niirs_se": float(boot.std(ddof=1)),
            "niirs_version": opts.version,
            "niirs_model_se": GIQE_SE,
        }
        for k in ("gsd_m", "gsd_in", "elevation_deg", "rer_x", "rer_y", "rer", "rer_gm"):
            summary[k] = float(np.mean([r[k] for r in ok]))
        for k in ("snr", "snr_se", "h", "h_se", "g", "rer_x_se", "rer_y_se"):
            summary[k] = float(np.mean([r[k] for r in ok]))
        summary["n_edges_x"] = int(sum(r["n_edges_x"] for r in ok))
        summary["n_edges_y"] = int(sum(r["n_edges_y"] for r in ok))
        summary.update(
            gsd_source=gsd_src,
            elevation_source=elev_src,
            snr_source=attrs["snr_source"],
            h_source=h_src,
            n_bands=len(ok),
            in_domain=bool(NIIRS_DOMAIN[0] <= np.mean([r["niirs"] for r in ok]) <= NIIRS_DOMAIN[1]),
            reason="",
        )
    return NiirsResult(ds, summary, opts)


@register_metric(
    "niirs",
    summary="NIIRS by the GIQE (5 default; 4, 3) from blind RER, edge SNR and the scene's GSD.",
    outputs=("niirs", "niirs_ci_low", "niirs_ci_high", "niirs_se"),
    units={"niirs": "NIIRS", "niirs_se": "NIIRS", "gsd_m": "m", "gsd_in": "inch"},
    chunk_invariant=True,
    references=(
        "Leachtenauer, J. C. et al. 1997, General Image-Quality Equation: GIQE, Appl. Opt. "
        "36(32):8322-8328",
        "NGA, General Image Quality Equation (GIQE) version 5.0, 16 Sep 2015",
        "Kitware pyBSM, pybsm.metrics.functional.giqe3/giqe4/giqe5 (validation reference)",
    ),
)
def niirs(
    image: Any,
    *,
    version: int = 5,
    gsd: float | tuple[float, float] | None = None,
    elevation: float | None = None,
    snr: str | float = "edges",
    noise_gain: float = 1.0,
    overshoot: float | None = None,
    directions: str = "xy",
    mask: Any = None,
    n_boot: int = 500,
    seed: int = 0,
    sharpness_result: Any = None,
    snr_result: xr.Dataset | None = None,
    **sharpness_kw: Any,
) -> NiirsResult:
    """NIIRS of a scene from iqx's blind measurements and the GIQE.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        ``(y, x)`` or ``(band, y, x)`` scene (NumPy, dask or DataArray).
    version : {5, 4, 3}
        GIQE version (5: NGA 2015, the default; 4: Leachtenauer et al. 1997; 3).
    gsd : float or (float, float), optional
        Ground sample distance in metres (x, y). Default: from ``attrs["transform"]`` and
        ``attrs["crs"]``; without them NIIRS is not measurable (a reason, no number).
    elevation : float, optional
        Sensor elevation angle in degrees (90 = nadir). Default: from metadata keys
        (``elevation_angle``, ``MEANSATEL``, off-nadir keys ...), else nadir.
    snr : {"edges", "scene"} or float
        ``"edges"``: median edge SNR (step contrast / plateau noise) of the edges used
        for the RER; ``"scene"``: :func:`iqx.metrics.snr` (median DN / noise); a number.
    noise_gain : float
        GIQE 3/4's ``G`` (1: the measured SNR already holds the processing's noise).
    overshoot : float, optional
        GIQE 3/4's ``H``; default: from the measured median MTF curves.
    directions : {"xy", "all"}
        ``"xy"``: RER_x and RER_y from edges within 15 deg of each axis (both needed);
        ``"all"``: every edge's RER for both (scenes without axis-aligned edges).
    mask : array-like, optional
        Validity mask (True = valid), passed to the measurements.
    n_boot : int
        Bootstrap replicates (over edges) for the uncertainty.
    seed : int
        Bootstrap seed.
    sharpness_result, snr_result : optional
        Results of :func:`iqx.metrics.sharpness` / :func:`iqx.metrics.snr` already
        computed on this scene (not measured again).
    **sharpness_kw
        Passed to :func:`iqx.metrics.sharpness`.

    Returns
    -------
    NiirsResult
        ``.dataset`` per band, ``.scene`` combined, ``.value``, ``.flat_summary()``.
    """
    from iqx.metrics.sharpness import sharpness
    from iqx.metrics.snr import snr as measure_snr

    opts = NiirsOptions(
        version, gsd, elevation, snr, noise_gain, overshoot, directions, n_boot, seed
    )
    scene = as_scene(image)
    sres = sharpness_result
    if sres is None:
        sres = sharpness(scene, mask=mask, **sharpness_kw)
    snr_ds = None
    if opts.snr == "scene":
        snr_ds = snr_result if snr_result is not None else measure_snr(scene, mask=mask)
    return _result(scene, sres, snr_ds, opts)


def flat_summary(image: Any, **kw: Any) -> dict[str, Any]:
    """``niirs(image, **kw).flat_summary()``: JSON-able keys for ``iqx measure``."""
    return niirs(image, **kw).flat_summary()


niirs.flat_summary = flat_summary  # type: ignore[attr-defined]


from iqx.metrics._niirs_map import niirs_map  # noqa: E402  (re-export)
