"""ESF/LSF profile helpers of the slanted-edge kernel: Savitzky-Golay fit, interpolation,
level crossings and peak location."""

from __future__ import annotations

import numpy as np

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
