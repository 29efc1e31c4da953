"""Spectrum step of the slanted-edge kernel: the edge's OTF from its windowed LSF
(:func:`edge_otf`, DFTs as products with the precomputed tables), the LSF's DFT at any
frequency and its MTF corrected for the bin box, difference filter and window truncation,
and the MTF50, RER and FWHM read from it."""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._esf_fields import (
    _DF,
    C_MTF50,
    C_MTF_HALF_NYQUIST,
    C_MTF_NYQUIST,
    C_MTF_NYQUIST_SIGNED,
    C_NOISE_POWER_NYQUIST,
    C_OTF_NYQUIST_IM,
    C_OTF_NYQUIST_RE,
    Q_HALF_NYQUIST,
    Q_NYQUIST,
)
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


@ngjit
def edge_otf(
    lsf: np.ndarray,
    w: np.ndarray,
    xl_: np.ndarray,
    var_b: np.ndarray,
    delta: float,
    dc: float,
    wsig: float,
    oi: int,
    freqs: np.ndarray,
    tables: tuple,
    row: np.ndarray,
    curve: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """OTF of one edge's windowed LSF, its MTF values and its signed MTF curve.

    ``lsf`` (forward differences of the normalised ESF on bins of ``delta`` px), window
    ``w``, bin-centre positions ``xl_`` relative to the 50 % point, noise variance
    ``var_b`` of each ESF bin, DC term ``dc``, window-truncation sigma ``wsig`` (0 = none)
    and oversampling index ``oi`` into the :func:`iqx.kernels._esf_tables.dft_tables`
    ``tables``. Writes the Nyquist OTF (re, im), its noise power, MTF at half Nyquist and
    Nyquist (debiased power, and its signed root) and MTF50 into the result ``row``, and
    the signed MTF at ``freqs`` into ``curve``. Returns the corrected OTF on the ``_DF``
    grid (``ore``, ``oim``) and its length ``nk``.
    """
    t_cg, t_sg, t_corr_g, t_cf, t_sf, t_corr_f, _, _ = tables
    nb = var_b.shape[0]
    nl = lsf.shape[0]
    # OTF on a regular grid (phasor recurrence, no trig in the inner loop), corrected
    # for the bin box and the difference filter; noise variance of each term
    va = 0.0
    vb = 0.0
    for i in range(nb):
        wa = w[i - 1] if i >= 1 else 0.0
        wb = w[i] if i < nl else 0.0
        va += var_b[i] * (wa * wa + wb * wb)
        vb += var_b[i] * wa * wb
    df = _DF
    fmax = min(2.0, 0.4 / delta)
    nk = int(fmax / df + 0.5) + 1
    nf = freqs.shape[0]
    # DFTs of the windowed LSF on the regular grid and at ``freqs``: matrix products with
    # the tables (sum_j v_j exp(-2 pi i f j delta)), then the phase of the first sample
    va_ = np.zeros(nk)
    vb_ = np.zeros(nk)
    fa_ = np.zeros(nf)
    fb_ = np.zeros(nf)
    for j in range(nl):
        v = lsf[j] * w[j]
        if v == 0.0:
            continue
        for q in range(nk):
            va_[q] += v * t_cg[oi, j, q]
            vb_[q] += v * t_sg[oi, j, q]
        for q in range(nf):
            fa_[q] += v * t_cf[oi, j, q]
            fb_[q] += v * t_sf[oi, j, q]
    ore = np.empty(nk)
    oim = np.empty(nk)
    mtf = np.empty(nk)
    nyq_p2 = 0.0
    nyq_corr = t_corr_g[oi, Q_NYQUIST]
    for q in range(nk):
        f = q * df
        ph = 2.0 * math.pi * f * xl_[0]
        cph = math.cos(ph)
        sph = math.sin(ph)
        re = va_[q] * cph - vb_[q] * sph
        im = -va_[q] * sph - vb_[q] * cph
        vn = (va - 2.0 * vb * t_cg[oi, 1, q]) / (delta * delta)
        corr = t_corr_g[oi, q]
        if wsig > 0.0:
            corr /= window_correction(xl_, w, wsig, f)
        ore[q] = re / dc / corr
        oim[q] = im / dc / corr
        p2 = (re * re + im * im - vn) / (dc * dc)
        mtf[q] = math.sqrt(p2) / corr if p2 > 0.0 else 0.0
        if q == Q_NYQUIST:
            nyq_p2 = p2
            nyq_corr = corr
            row[C_OTF_NYQUIST_RE] = ore[q]
            row[C_OTF_NYQUIST_IM] = oim[q]
            row[C_NOISE_POWER_NYQUIST] = vn / (dc * dc) / (corr * corr)
    for q in range(nf):
        ph = 2.0 * math.pi * freqs[q] * xl_[0]
        cph = math.cos(ph)
        sph = math.sin(ph)
        re = fa_[q] * cph - fb_[q] * sph
        im = -fa_[q] * sph - fb_[q] * cph
        vn = (va - 2.0 * vb * t_cf[oi, 1, q]) / (delta * delta)
        p2 = (re * re + im * im - vn) / (dc * dc)
        cw = window_correction(xl_, w, wsig, freqs[q]) if wsig > 0.0 else 1.0
        curve[q] = math.copysign(math.sqrt(abs(p2)), p2) / t_corr_f[oi, q] * cw
    row[C_MTF_HALF_NYQUIST] = mtf[Q_HALF_NYQUIST]
    row[C_MTF_NYQUIST] = mtf[Q_NYQUIST]
    row[C_MTF_NYQUIST_SIGNED] = math.copysign(math.sqrt(abs(nyq_p2)), nyq_p2) / nyq_corr
    row[C_MTF50] = _mtf50(mtf, nk, df, lsf, w, xl_, dc, delta, wsig)
    return ore, oim, nk
