"""ESF/LSF profile helpers of the slanted-edge kernel: ROI gathering, variable-oversampling
binning of the ESF, Savitzky-Golay fit, interpolation, level crossings and peak location."""

from __future__ import annotations

import numpy as np

from iqx.kernels._esf_geometry import row_span
from iqx.kernels._numba import ngjit

__all__ = ["sg_coefficients"]


@ngjit
def sg_coefficients(m: int) -> tuple[np.ndarray, np.ndarray]:
    """Savitzky-Golay cubic coefficients over ``2m+1`` points: (smoothing, first derivative)."""
    s0 = 0.0
    s2 = 0.0
    s4 = 0.0
    s6 = 0.0
    for j in range(-m, m + 1):
        jj = float(j * j)
        s0 += 1.0
        s2 += jj
        s4 += jj * jj
        s6 += jj * jj * jj
    smooth = np.empty(2 * m + 1)
    deriv = np.empty(2 * m + 1)
    d_even = s0 * s4 - s2 * s2
    d_odd = s2 * s6 - s4 * s4
    for j in range(-m, m + 1):
        smooth[j + m] = (s4 - s2 * j * j) / d_even
        deriv[j + m] = (s6 * j - s4 * j * j * j) / d_odd
    return smooth, deriv


@ngjit
def _interp(y: np.ndarray, x0: float, dx: float, x: float) -> float:
    t = (x - x0) / dx
    n = y.shape[0]
    if t <= 0.0:
        return y[0]
    if t >= n - 1:
        return y[n - 1]
    i = int(t)
    f = t - i
    return y[i] * (1.0 - f) + y[i + 1] * f


@ngjit
def _crossing(
    e: np.ndarray, x0: float, dx: float, start: int, level: float, direction: int
) -> float:
    """Position where ``e`` crosses ``level`` searching from index ``start`` in ``direction``."""
    n = e.shape[0]
    j = start
    if direction > 0:
        while j < n - 1:
            if e[j] < level <= e[j + 1]:
                return x0 + (j + (level - e[j]) / (e[j + 1] - e[j])) * dx
            j += 1
    else:
        while j > 0:
            if e[j - 1] < level <= e[j]:
                return x0 + (j - 1 + (level - e[j - 1]) / (e[j] - e[j - 1])) * dx
            j -= 1
    return np.nan


@ngjit
def _peak(v: np.ndarray, ip: int, step: float, half_window: float) -> float:
    """Peak height from a least-squares parabola over ``+-half_window`` around ``ip``."""
    m = max(2, int(half_window / step))
    i0 = max(0, ip - m)
    i1 = min(v.shape[0] - 1, ip + m)
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    s4 = 0.0
    t0 = 0.0
    t1 = 0.0
    t2 = 0.0
    for i in range(i0, i1 + 1):
        u = (i - ip) * step
        s0 += 1.0
        s1 += u
        s2 += u * u
        s3 += u * u * u
        s4 += u * u * u * u
        t0 += v[i]
        t1 += u * v[i]
        t2 += u * u * v[i]
    a = np.array([[s4, s3, s2], [s3, s2, s1], [s2, s1, s0]])
    rhs = np.array([t2, t1, t0])
    det = np.linalg.det(a)
    if abs(det) < 1e-300:
        return v[ip]
    c = np.linalg.solve(a, rhs)
    if c[0] >= 0.0:
        return v[ip]
    u0 = -c[1] / (2.0 * c[0])
    if abs(u0) > half_window:
        return v[ip]
    return c[2] - c[1] * c[1] / (4.0 * c[0])


@ngjit
def gather_roi(
    img: np.ndarray,
    valid: np.ndarray,
    sy: int,
    sx: int,
    cy: float,
    cx: float,
    ty: float,
    tx: float,
    lh: float,
    H: float,
    box: tuple[int, int, int, int],
) -> tuple[bool, np.ndarray, np.ndarray, int]:
    """Pixels of the ROI of a refined line: distance across (``dd``) and value (``vv``).

    The ROI is ``|along| <= lh``, ``|across| < H`` around the line through ``(cy, cx)``
    (relative to the seed ``(sy, sx)``) with direction ``(ty, tx)``, inside ``box = (r0,
    r1, c0, c1)``; ``ok`` is False when a pixel within ``H + 1`` of the line is invalid.
    Returns ``(ok, dd, vv, n)`` (the first ``n`` entries of ``dd`` and ``vv`` are set).
    """
    r0, r1, c0, c1 = box
    nyv = tx
    nxv = -ty
    ok = True
    npx_max = (r1 - r0 + 1) * (c1 - c0 + 1)
    dd = np.empty(npx_max)
    vv = np.empty(npx_max)
    npx = 0
    for r in range(r0, r1 + 1):
        lo, hi = row_span((r - sy) - cy, sx + cx, ty, tx, nyv, nxv, lh, H + 1.0, c0, c1)
        for c in range(lo, hi + 1):
            dy = (r - sy) - cy
            dx = (c - sx) - cx
            a = dy * ty + dx * tx
            d = dy * nyv + dx * nxv
            if abs(a) > lh or abs(d) > H + 1.0:
                continue
            if not valid[r, c]:
                ok = False
            if abs(d) < H:
                dd[npx] = d
                vv[npx] = img[r, c]
                npx += 1
    return ok, dd, vv, npx


@ngjit
def bin_esf(
    dd: np.ndarray, vv: np.ndarray, npx: int, halfwidth: int, oversamplings: np.ndarray
) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """Variable-oversampling ESF: the finest bin width with no empty bin, binned and
    resampled onto the regular grid.

    Returns ``(oi, os, bval, bcnt, esf)``: index and value of the chosen oversampling in
    ``oversamplings`` (``os = 0`` when every one leaves an empty bin: too few phases), the
    bin means and counts, and the ESF on the regular grid ``-H + (j + 1/2) / os``.
    """
    H = float(halfwidth)
    os = 0
    oi = 0
    for q in range(oversamplings.shape[0]):
        o = oversamplings[q]
        nb = int(2 * halfwidth * o)
        cnt = np.zeros(nb, np.int64)
        for i in range(npx):
            b = int((dd[i] + H) * o)
            if 0 <= b < nb:
                cnt[b] += 1
        if cnt.min() >= 1:
            os = o
            oi = q
            break
    if os == 0:
        e = np.zeros(0)
        return 0, 0, e, e, e
    delta = 1.0 / os
    nb = int(2 * halfwidth * os)
    bsum = np.zeros(nb)
    bcnt = np.zeros(nb)
    bpos = np.zeros(nb)
    for i in range(npx):
        b = int((dd[i] + H) * os)
        if 0 <= b < nb:
            bsum[b] += vv[i]
            bcnt[b] += 1.0
            bpos[b] += dd[i]
    bval = bsum / bcnt
    bpos = bpos / bcnt
    x0 = -H + 0.5 * delta
    # resample the bin means from their centroid positions onto the regular grid
    # (phases cluster for near-rational slopes: a bin centre is not its samples' mean)
    esf = np.empty(nb)
    q = 0
    for j in range(nb):
        xj = x0 + j * delta
        while q < nb - 2 and bpos[q + 1] < xj:
            q += 1
        t = (xj - bpos[q]) / (bpos[q + 1] - bpos[q])
        esf[j] = bval[q] + (bval[q + 1] - bval[q]) * t
    return oi, os, bval, bcnt, esf
