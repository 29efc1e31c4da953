"""The GIQE's inputs that are not edge statistics: GSD, elevation, edge overshoot.

* :func:`gsd_from_attrs` reads the ground sample distance (metres, per axis) from a scene's
  ``transform`` and ``crs`` attributes, or says why it cannot.
* :func:`elevation_from_attrs` reads a sensor elevation angle from common metadata keys.
* :func:`edge_response` / :func:`overshoot_from_mtf` rebuild the edge response from a
  measured MTF curve (zero-phase, i.e. symmetric, LSF) and take GIQE 4's overshoot ``H``.
* :func:`gaussian_overshoot` is ``H`` of a Gaussian PSF of the same RER (used to carry the
  RER's bootstrap spread over to ``H``, and as the map's ``H``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy.special import erfinv, ndtr

__all__ = [
    "edge_response",
    "resolve_elevation",
    "resolve_gsd",
    "elevation_from_attrs",
    "gaussian_overshoot",
    "gsd_from_attrs",
    "overshoot_from_mtf",
]

#: metadata keys (lower case) holding the sensor elevation angle in degrees
ELEVATION_KEYS = ("elevation_angle", "sensor_elevation", "satellite_elevation", "meansatel")
#: metadata keys (lower case) holding the off-nadir view angle in degrees
OFF_NADIR_KEYS = ("off_nadir", "off_nadir_angle", "meanoffnadirviewangle")
#: GIQE 4's overshoot positions (px from the edge): 1.0-3.0 in 0.25-px steps
H_POSITIONS = np.arange(1.0, 3.0 + 1e-9, 0.25)
#: largest drop of the edge response (fraction of the edge height) still called monotone
H_MONOTONE_TOL = 0.01


def gsd_from_attrs(
    attrs: Mapping[str, Any], shape: tuple[int, int]
) -> tuple[float | None, float | None, str]:
    """``(gsd_x_m, gsd_y_m, reason)`` from ``attrs["transform"]`` and ``attrs["crs"]``.

    The pixel spacing along each image axis (``hypot(a, d)``, ``hypot(b, e)`` of the affine
    transform ``(a, b, c, d, e, f)``) in the CRS's linear unit, converted to metres; for a
    geographic CRS (degrees) at the latitude of the scene centre (WGS 84 series for the
    metres per degree). ``reason`` is empty when measured, else says why not (no CRS, an
    identity transform of a non-georeferenced image, an unreadable CRS).
    """
    tr = attrs.get("transform")
    crs = attrs.get("crs")
    if tr is None:
        return None, None, "no georeferencing (no transform): pass gsd="
    a, b, _c, d, e, f = (float(v) for v in tuple(tr)[:6])
    px, py = math.hypot(a, d), math.hypot(b, e)
    if not crs:
        return None, None, "no CRS (image not georeferenced): pass gsd= in metres"
    if not (px > 0 and py > 0):
        return None, None, f"degenerate transform {tuple(tr)[:6]}"
    try:
        from pyproj import CRS

        ref = CRS.from_user_input(crs)
    except Exception as exc:  # any CRS parsing failure is a reason, not an error
        return None, None, f"CRS not readable ({type(exc).__name__}): pass gsd="
    if ref.is_geographic:
        ny, nx = shape
        lat = math.radians(f + e * ny / 2.0 + d * nx / 2.0)
        m_lat = 111132.954 - 559.822 * math.cos(2 * lat) + 1.175 * math.cos(4 * lat)
        m_lon = 111412.84 * math.cos(lat) - 93.5 * math.cos(3 * lat)
        return math.hypot(a * m_lon, d * m_lat), math.hypot(b * m_lon, e * m_lat), ""
    unit = ref.axis_info[0].unit_conversion_factor if ref.axis_info else None
    if not unit:
        return None, None, f"CRS without a linear unit ({ref.name}): pass gsd="
    return px * unit, py * unit, ""


def elevation_from_attrs(attrs: Mapping[str, Any]) -> tuple[float | None, str]:
    """``(elevation_deg, key)`` from the first known metadata key, else ``(None, "")``.

    Elevation keys (:data:`ELEVATION_KEYS`) are taken as they are; off-nadir keys
    (:data:`OFF_NADIR_KEYS`) as ``90 - angle`` (flat-Earth approximation).
    """
    low = {str(k).lower(): v for k, v in attrs.items()}
    for keys, conv in ((ELEVATION_KEYS, lambda v: v), (OFF_NADIR_KEYS, lambda v: 90.0 - v)):
        for k in keys:
            if k in low:
                try:
                    v = float(low[k])
                except (TypeError, ValueError):
                    continue
                if math.isfinite(v):
                    return float(conv(v)), k
    return None, ""


def resolve_gsd(gsd: Any, scene: Any) -> tuple[float | None, str, str]:
    """``(geometric-mean GSD in metres, source, reason)`` from ``gsd`` (metres, or
    ``(x, y)``) when given, else from the scene's georeferencing."""
    if gsd is not None:
        gx, gy = gsd if isinstance(gsd, tuple) else (gsd, gsd)
        return math.sqrt(gx * gy), "given", ""
    gx, gy, why = gsd_from_attrs(scene.attrs, (scene.sizes["y"], scene.sizes["x"]))
    if why or gx is None or gy is None:
        return None, "", why
    return math.sqrt(gx * gy), "georeferencing", ""


def resolve_elevation(elevation: float | None, attrs: Mapping[str, Any]) -> tuple[float, str]:
    """``(elevation_deg, source)``: given, from metadata, else nadir (and said so)."""
    if elevation is not None:
        return float(elevation), "given"
    v, key = elevation_from_attrs(attrs)
    if v is not None and 0 < v <= 90:
        return v, f"metadata {key}"
    return 90.0, "assumed nadir (no elevation in the metadata)"


def edge_response(freqs: np.ndarray, mtf: np.ndarray, d: Any) -> np.ndarray:
    """Edge response at ``d`` px from the edge of a zero-phase MTF sampled on ``freqs``.

    ``ESF(d) = 1/2 + (1/pi) int_0^fmax MTF(f) sin(2 pi f d) / f df`` (trapezoid rule; the
    integrand's limit at ``f = 0`` is ``2 pi d MTF(0)``). ``ESF(1/2) - ESF(-1/2)`` is the RER
    (``2 int MTF(f) sinc(f) df``), the same integral iqx's sharpness uses.
    """
    f = np.asarray(freqs, np.float64)
    m = np.asarray(mtf, np.float64)
    d = np.atleast_1d(np.asarray(d, np.float64))
    arg = 2.0 * np.pi * np.outer(d, f)
    with np.errstate(invalid="ignore", divide="ignore"):
        kern = np.where(f > 0, np.sin(arg) / np.where(f > 0, f, 1.0), 2.0 * np.pi * d[:, None])
    y = kern * m
    integral = ((y[:, 1:] + y[:, :-1]) * 0.5 * np.diff(f)).sum(axis=1)
    return 0.5 + integral / np.pi


def overshoot_from_mtf(freqs: np.ndarray, mtf: np.ndarray, tol: float = H_MONOTONE_TOL) -> float:
    """GIQE 4's ``H`` of one direction: the peak edge response 1-3 px from the edge (0.25-px
    steps), or the value at 1.25 px when it rises monotonically there. NaN for a NaN curve.

    "Monotonically" allows drops up to ``tol`` (of the edge height): a measured curve's
    ripple of a few 1e-4 after the edge has reached its plateau would otherwise switch a
    Gaussian edge (H = ESF(1.25 px), 0.963 at sigma 0.7 px) to its plateau value (~1.0).
    """
    m = np.asarray(mtf, np.float64)
    if m.size == 0 or not np.isfinite(m).all():
        return math.nan
    er = edge_response(freqs, m, H_POSITIONS)
    return float(er[1]) if np.all(np.diff(er) > -tol) else float(er.max())


def gaussian_overshoot(rer: Any) -> Any:
    """``H`` of a Gaussian PSF with this RER: ``Phi(1.25 / sigma)``, ``sigma`` from
    ``RER = erf(1 / (2 sqrt(2) sigma))`` (monotone edge, so the value at 1.25 px)."""
    r = np.clip(np.asarray(rer, np.float64), 1e-6, 1 - 1e-12)
    sigma = 1.0 / (2.0 * math.sqrt(2.0) * erfinv(r))
    return ndtr(1.25 / sigma)
