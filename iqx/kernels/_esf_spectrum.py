"""Spectrum helpers of the slanted-edge kernel: the LSF's DFT at any frequency and its
MTF corrected for the bin box, difference filter and window truncation."""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._esf_profile import _peak
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


@ngjit
def _mtf50(
    mtf: np.ndarray,
    nk: int,
    df: float,
    lsf: np.ndarray,
    w: np.ndarray,
    xl_: np.ndarray,
    dc: float,
    delta: float,
    wsig: float,
) -> float:
    """MTF50 (cy/px): the first grid step below 0.5, refined by secant steps on the
    continuous corrected DFT; NaN when the MTF stays above 0.5 on the grid."""
    for q in range(1, nk):
        if mtf[q] < 0.5:
            f_lo = (q - 1) * df
            f_hi = q * df
            m_lo = _mtf_corr(lsf, w, xl_, dc, delta, f_lo, wsig)
            m_hi = _mtf_corr(lsf, w, xl_, dc, delta, f_hi, wsig)
            if m_lo >= 0.5 > m_hi:
                for _ in range(4):
                    fm = f_lo + (m_lo - 0.5) * (f_hi - f_lo) / (m_lo - m_hi)
                    mv = _mtf_corr(lsf, w, xl_, dc, delta, fm, wsig)
                    if mv >= 0.5:
                        f_lo = fm
                        m_lo = mv
                    else:
                        f_hi = fm
                        m_hi = mv
                return f_lo + (m_lo - 0.5) * (f_hi - f_lo) / (m_lo - m_hi)
            else:
                return f_lo + (mtf[q - 1] - 0.5) * df / (mtf[q - 1] - mtf[q])
    return math.nan


@ngjit
def _rer(ore: np.ndarray, nk: int, df: float) -> float:
    """RER from the corrected OTF (real part, phase at the ESF 50 % point)."""
    # RER = integral of the LSF over [x50 - 1/2, x50 + 1/2] = 2 int Re OTF(f) sinc(f) df
    rer = 0.0
    for q in range(nk):
        f = q * df
        sc = 1.0 if f == 0.0 else math.sin(math.pi * f) / (math.pi * f)
        tw_ = 0.5 if (q == 0 or q == nk - 1) else 1.0
        rer += tw_ * ore[q] * sc
    return 2.0 * rer * df


@ngjit
def _fwhm(
    ore: np.ndarray,
    oim: np.ndarray,
    nk: int,
    df: float,
    sig: float,
    delta: float,
    lv_c: np.ndarray,
    lv_s: np.ndarray,
    oi: int,
) -> tuple[bool, float]:
    """FWHM (px) of the LSF rebuilt from the corrected OTF with a Gaussian taper of std
    ``s = sig / 2`` (its ``8 ln2 s^2`` removed again); ``(False, nan)`` when the rebuilt
    LSF has no half-maximum crossing on both sides."""
    s = 0.5 * sig
    xs = 3.0 * sig + 1.0
    step = 0.5 * delta
    nxs = int(2.0 * xs / step) + 1
    lv = np.zeros(nxs)
    tabled = nxs <= lv_c.shape[2]
    for q in range(nk):
        f = q * df
        g = math.exp(-2.0 * math.pi * math.pi * s * s * f * f)
        tw_ = 0.5 if (q == 0 or q == nk - 1) else 1.0
        cr = ore[q] * g * tw_
        ci = oim[q] * g * tw_
        ph0 = -2.0 * math.pi * f * xs
        zr = math.cos(ph0)
        zi = math.sin(ph0)
        if tabled:
            # (cr + i ci) exp(i ph0) exp(2 pi i f i step), the last factor tabled
            ar = cr * zr - ci * zi
            ai = cr * zi + ci * zr
            for i in range(nxs):
                lv[i] += ar * lv_c[oi, q, i] - ai * lv_s[oi, q, i]
            continue
        rr = math.cos(2.0 * math.pi * f * step)
        ri = math.sin(2.0 * math.pi * f * step)
        for i in range(nxs):
            lv[i] += cr * zr - ci * zi
            t_ = zr * rr - zi * ri
            zi = zr * ri + zi * rr
            zr = t_
    for i in range(nxs):
        lv[i] *= 2.0 * df
    ip = np.argmax(lv)
    pkv = _peak(lv, ip, step, 0.5 * sig)
    half = 0.5 * pkv
    il = ip
    while il > 0 and lv[il] >= half:
        il -= 1
    ir = ip
    while ir < nxs - 1 and lv[ir] >= half:
        ir += 1
    if lv[il] >= half or lv[ir] >= half:
        return False, math.nan
    xl = -xs + (il + (half - lv[il]) / (lv[il + 1] - lv[il])) * step
    xr = -xs + (ir - 1 + (lv[ir - 1] - half) / (lv[ir - 1] - lv[ir])) * step
    fw = xr - xl
    fw2 = fw * fw - 8.0 * math.log(2.0) * s * s
    return True, (math.sqrt(fw2) if fw2 > 0.0 else fw)
