"""Geometry helpers of the slanted-edge kernel: the 50 % point of each half of the edge
(slope refinement), rotation of the edge direction, and the duplicate test."""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._edges_nms import segments_clash
from iqx.kernels._esf_fields import C_STATUS, S_OK
from iqx.kernels._numba import ngjit

__all__: list[str] = []


@ngjit
def _half_x50(
    py: np.ndarray,
    px: np.ndarray,
    pv: np.ndarray,
    n: int,
    ty: float,
    tx: float,
    lh: float,
    H: float,
    side: int,
) -> tuple[float, float]:
    """Edge position (ESF 50 % crossing) and mean along-position of one half of the ROI."""
    os = 4
    nb = int(2.0 * H * os)
    bs = np.zeros(nb)
    bn = np.zeros(nb)
    bp = np.zeros(nb)
    asum = 0.0
    acnt = 0.0
    for i in range(n):
        a = py[i] * ty + px[i] * tx
        d = py[i] * tx - px[i] * ty
        if abs(a) > lh or abs(d) >= H or (a < 0.0) != (side < 0):
            continue
        b = int((d + H) * os)
        bs[b] += pv[i]
        bn[b] += 1.0
        bp[b] += d
        asum += a
        acnt += 1.0
    lo = 0.0
    lon = 0.0
    hi = 0.0
    hin = 0.0
    for b in range(nb):
        if bn[b] == 0.0:
            return np.nan, 0.0
        bs[b] /= bn[b]
        bp[b] /= bn[b]
        xb = -H + (b + 0.5) / os
        if xb < -H + 2.0:
            lo += bs[b]
            lon += 1.0
        elif xb > H - 2.0:
            hi += bs[b]
            hin += 1.0
    lo /= lon
    hi /= hin
    if not hi > lo:
        return np.nan, 0.0
    half = 0.5 * (lo + hi)
    best = np.nan
    for b in range(nb - 1):
        if bs[b] < half <= bs[b + 1]:
            x = bp[b] + (half - bs[b]) * (bp[b + 1] - bp[b]) / (bs[b + 1] - bs[b])
            if np.isnan(best) or abs(x) < abs(best):
                best = x
    return best, asum / acnt


@ngjit
def row_span(
    dy: float,
    base: float,
    ty: float,
    tx: float,
    nyv: float,
    nxv: float,
    along: float,
    across: float,
    c0: int,
    c1: int,
) -> tuple[int, int]:
    """Columns ``[lo, hi]`` of one ROI row that can hold ``|dy ty + dx tx| <= along`` and
    ``|dy nyv + dx nxv| <= across`` (``dx = c - base``), within ``[c0, c1]``.

    A superset (one column of margin each side, no bound from a coefficient below 1e-6):
    the callers keep their exact per-pixel test and loop order, so skipping the columns
    outside only skips pixels that the test rejects (same sums, bit for bit, far fewer
    tests on oblique edges, whose bounding box is up to ~3x the ROI).
    """
    lo = float(c0)
    hi = float(c1)
    if abs(tx) > 1e-6:
        u = (-along - dy * ty) / tx
        v = (along - dy * ty) / tx
        lo = max(lo, base + min(u, v) - 1.0)
        hi = min(hi, base + max(u, v) + 1.0)
    if abs(nxv) > 1e-6:
        u = (-across - dy * nyv) / nxv
        v = (across - dy * nyv) / nxv
        lo = max(lo, base + min(u, v) - 1.0)
        hi = min(hi, base + max(u, v) + 1.0)
    if lo != lo or hi != hi:  # NaN geometry: every column, as the per-pixel test would
        return c0, c1
    if lo > hi:
        return c0, c0 - 1
    return math.floor(lo), math.ceil(hi)


@ngjit
def _rotate(ty: float, tx: float, beta: float) -> tuple[float, float]:
    nt = math.sqrt(1.0 + beta * beta)
    return (ty + beta * tx) / nt, (tx - beta * ty) / nt


@ngjit
def _duplicate(
    cand: np.ndarray, res: np.ndarray, g0: int, k: int, cos_max: float, across: float
) -> bool:
    """Does candidate ``k`` overlap an accepted candidate in rows ``g0 .. k-1``?"""
    for j in range(g0, k):
        # centre offset: integer seed offset + seed-relative floats (block independent)
        dy = (cand[k, 0] - cand[j, 0]) + (cand[k, 2] - cand[j, 2])
        dx = (cand[k, 1] - cand[j, 1]) + (cand[k, 3] - cand[j, 3])
        if res[j, C_STATUS] == S_OK and segments_clash(
            dy, dx, cand[k, 4], cand[k, 5], cand[k, 6], cand[j, 4], cand[j, 5], cand[j, 6],
            cos_max, across,
        ):  # fmt: skip
            return True
    return False
