"""Cheap plateau gates of the slanted-edge kernel, tested before the line is fully refined.

Most measured candidates on natural scenes are rejected by a plateau gate (contrast, edge
SNR, noise homogeneity, flatness) of :func:`iqx.kernels.esf.measure_candidates`, after the
centroid and slope refinement that costs most of a measurement. :func:`plateau_gate`
evaluates those gates for one pass over the plateau zones of a line, with relaxed
thresholds, at two points of :func:`iqx.kernels._esf_refine.refine_line`:

* on the *traced* line, contrast and SNR only (``PRE_SNR``): a traced line can be
  0.5-2.5 px off the refined one, which inflates the plateau noise and slope of good
  edges, so homogeneity and flatness are not tested there (they rejected accepted edges
  even with thresholds relaxed 2-4x);
* after the first centroid pass (the line is then within a fraction of a pixel), all four
  (``MID_SNR``, ``MID_NOISE_RATIO``, ``MID_SLOPE``).

A candidate that fails either is rejected at once with that gate's status. The factors
were chosen on the real scenes of the test suite (both Inria tiles, pan1, sample_geotiff,
the Landsat chip; every band) and on parcel scenes (sigma 0.6-1.6 px, SNR 20-60): no
accepted edge is lost, so accepted edges are measured exactly as before and only the
reason (and geometry) recorded for some rejected candidates change. The next stricter
settings lose edges ((0.5, 2, 2) on the traced line lost 7 of 359 on the real scenes;
(0.7, 2.5, 2) after the first pass lost 1).
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._esf_fields import S_LOW_CONTRAST, S_LOW_SNR, S_NOT_FLAT, S_NOT_HOMOGENEOUS
from iqx.kernels._esf_geometry import row_span
from iqx.kernels._numba import ngjit

__all__: list[str] = []

#: Traced line: reject when the edge SNR is below ``PRE_SNR * min_snr`` (or contrast <= 0).
PRE_SNR = 0.4
#: After the first centroid pass: SNR below ``MID_SNR * min_snr`` ...
MID_SNR = 0.7
#: ... noise ratio of the sides above ``MID_NOISE_RATIO * max_noise_ratio`` ...
MID_NOISE_RATIO = 3.0
#: ... or a plateau slope above ``MID_SLOPE * max_plateau_slope * contrast``.
MID_SLOPE = 3.0


@ngjit
def gate_thresholds(min_snr: float, max_noise_ratio: float, max_plateau_slope: float) -> np.ndarray:
    """Relaxed thresholds of the two early gates, rows ``(min_snr, max_noise_ratio,
    max_plateau_slope)`` on the traced line and after the first pass (0 = not tested)."""
    out = np.zeros((2, 3))
    out[0, 0] = PRE_SNR * min_snr
    out[1, 0] = MID_SNR * min_snr
    out[1, 1] = MID_NOISE_RATIO * max_noise_ratio
    out[1, 2] = MID_SLOPE * max_plateau_slope
    return out


@ngjit
def plateau_gate(
    img: np.ndarray,
    sy: int,
    sx: int,
    cy: float,
    cx: float,
    ty: float,
    tx: float,
    lh: float,
    H: float,
    plateau: float,
    box: tuple[int, int, int, int],
    min_snr: float,
    max_noise_ratio: float,
    max_plateau_slope: float,
) -> int:
    """Plateau gates of one line (0 = pass, else the status code of the first failure).

    The plateau zones are those of the full measurement (``|along| <= lh``,
    ``H - plateau < |across| < H``) around the line through ``(cy, cx)`` (relative to the
    seed ``(sy, sx)``) with direction ``(ty, tx)``; ``box = (r0, r1, c0, c1)`` bounds the
    ROI. Thresholds are used as given (the caller relaxes them); ``max_noise_ratio`` or
    ``max_plateau_slope`` of 0 skip that gate.
    """
    r0, r1, c0, c1 = box
    nyv = tx
    nxv = -ty
    lo_s = lo_q = lo_n = lo_a = lo_an = 0.0
    hi_s = hi_q = hi_n = hi_a = hi_an = 0.0
    inner = H - plateau
    outer = H - 0.5 * plateau
    for r in range(r0, r1 + 1):
        lo, hi = row_span((r - sy) - cy, sx + cx, ty, tx, nyv, nxv, lh, H, c0, c1)
        for c in range(lo, hi + 1):
            dy = (r - sy) - cy
            dx = (c - sx) - cx
            d = dy * nyv + dx * nxv
            ad = abs(d)
            if ad <= inner or ad >= H or abs(dy * ty + dx * tx) > lh:
                continue
            v = img[r, c]
            if d < 0.0:
                lo_s += v
                lo_q += v * v
                lo_n += 1.0
                if ad > outer:
                    lo_a += v
                    lo_an += 1.0
            else:
                hi_s += v
                hi_q += v * v
                hi_n += 1.0
                if ad > outer:
                    hi_a += v
                    hi_an += 1.0
    if lo_n < 2.0 or hi_n < 2.0:
        return 0  # too few pixels to judge: left to the full measurement
    low = lo_s / lo_n
    high = hi_s / hi_n
    contrast = high - low
    if not contrast > 0.0:
        return S_LOW_CONTRAST
    lo_var = max(lo_q - lo_s * low, 0.0) / (lo_n - 1.0)
    hi_var = max(hi_q - hi_s * high, 0.0) / (hi_n - 1.0)
    noise = math.sqrt(0.5 * (lo_var + hi_var))
    if noise > 0.0 and contrast < min_snr * noise:
        return S_LOW_SNR
    if max_noise_ratio > 0.0:
        lo_sd = math.sqrt(lo_var)
        hi_sd = math.sqrt(hi_var)
        floor_sd = 1e-3 * contrast
        if max(lo_sd, hi_sd, floor_sd) > max_noise_ratio * max(min(lo_sd, hi_sd), floor_sd):
            return S_NOT_HOMOGENEOUS
    if max_plateau_slope > 0.0 and lo_an >= 1.0 and hi_an >= 1.0:
        lo_slope = abs(lo_a / lo_an - (lo_s - lo_a) / max(lo_n - lo_an, 1.0))
        hi_slope = abs(hi_a / hi_an - (hi_s - hi_a) / max(hi_n - hi_an, 1.0))
        if max(lo_slope, hi_slope) > max_plateau_slope * contrast:
            return S_NOT_FLAT
    return 0
