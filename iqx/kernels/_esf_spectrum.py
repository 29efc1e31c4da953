"""Spectrum helpers of the slanted-edge kernel: the LSF's DFT at any frequency and its
MTF corrected for the bin box, difference filter and window truncation."""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit
from iqx.kernels.esf_window import window_correction

__all__: list[str] = []


@ngjit
def _dft(
    lsf: np.ndarray, w: np.ndarray, xfirst: float, delta: float, f: float
) -> tuple[float, float]:
    """DFT of ``lsf * w`` sampled at ``xfirst + j * delta`` (phasor recurrence)."""
    ph = -2.0 * math.pi * f * xfirst
    zr = math.cos(ph)
    zi = math.sin(ph)
    rr = math.cos(2.0 * math.pi * f * delta)
    ri = -math.sin(2.0 * math.pi * f * delta)
    re = 0.0
    im = 0.0
    for j in range(lsf.shape[0]):
        v = lsf[j] * w[j]
        re += v * zr
        im += v * zi
        t = zr * rr - zi * ri
        zi = zr * ri + zi * rr
        zr = t
    return re, im


@ngjit
def _mtf_at(
    lsf: np.ndarray, w: np.ndarray, x: np.ndarray, dc: float, delta: float, f: float
) -> float:
    s = 1.0
    if f > 0.0:
        a = math.pi * f * delta
        s = math.sin(a) / a
        s = s * s
    re, im = _dft(lsf, w, x[0], x[1] - x[0], f)
    return math.sqrt(re * re + im * im) / dc / s


@ngjit
def _mtf_corr(
    lsf: np.ndarray, w: np.ndarray, x: np.ndarray, dc: float, delta: float, f: float, sig: float
) -> float:
    """:func:`_mtf_at` with the window-truncation correction (``sig > 0``, esf_window)."""
    m = _mtf_at(lsf, w, x, dc, delta, f)
    return m * window_correction(x, w, sig, f) if sig > 0.0 else m
