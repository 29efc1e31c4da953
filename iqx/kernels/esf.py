"""Slanted-edge measurement of one candidate: edge refinement, super-sampled ESF, LSF, MTF.

Pure NumPy + numba (ISO 12233 / sfrmat style, measured along the edge normal):

1. **Refinement.** The candidate line is refined twice from the centroids of the Sobel
   gradient (projected on the normal) in 1-px strips along the edge, as sfrmat does per row.
   Before it, a cheap pre-gate (:mod:`iqx.kernels._esf_gates`) tests contrast and edge
   SNR on the traced line and rejects hopeless candidates for one pass over their plateaus.
2. **Projection and variable binning.** Pixel centres inside the ROI (``|along| <= L/2``,
   ``|across| <= H``) are projected on the normal and averaged in bins of ``1/os`` px. The
   oversampling ``os`` is the largest in ``oversamplings`` that leaves no empty bin
   (Masaoka's remedy for the angle-dependent bin misalignment of a fixed 4x grid; edges too
   close to 0/45/90 degrees, which have too few phases, are rejected).
3. **Gates.** Plateau levels (outer ``plateau`` px of each side), contrast, edge SNR
   (contrast / plateau noise), noise homogeneity between the sides, plateau flatness,
   outliers (another structure in the ROI) and isolation of the LSF.
4. **RER and FWHM** from a Savitzky-Golay cubic fit of the normalised ESF (smoothed ESF and
   its derivative, half-window ~ sigma/2): a cubic local fit has no second-moment
   (variance) bias, so no smoothing correction is needed; the bin box adds ``delta^2/12``
   to the LSF variance, which is removed from the FWHM.
5. **MTF** = |DFT| of the forward-difference LSF, Tukey-windowed around the edge, evaluated
   directly at any frequency (no zero-padding grid limits), normalised at DC and divided by
   ``sinc(f delta)^2`` (bin box and difference filter, sfrmat's ``fir2fix``). MTF50 is
   refined by secant steps on the continuous DFT.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._esf_fields import (
    _DF,
    _NF,
    C_CONTRAST,
    C_CX,
    C_CY,
    C_DELTA,
    C_EDGE_SNR,
    C_FIT_RMS,
    C_FWHM,
    C_HALF_LENGTH,
    C_HIGH,
    C_LOW,
    C_N_PIXELS,
    C_NOISE,
    C_RER,
    C_SIGMA_EST,
    C_STATUS,
    C_TX,
    C_TY,
    RES_FIELDS,
    S_LOW_CONTRAST,
    S_LOW_SNR,
    S_NO_LSF,
    S_NODATA,
    S_NOT_FLAT,
    S_NOT_HOMOGENEOUS,
    S_NOT_ISOLATED,
    S_NOT_STEP,
    S_NOT_STRAIGHT,
    S_OK,
    S_TOO_FEW_PHASES,
    STATUS,
)
from iqx.kernels._esf_gates import gate_thresholds
from iqx.kernels._esf_geometry import _duplicate
from iqx.kernels._esf_profile import _crossing, _interp, bin_esf, gather_roi, sg_coefficients
from iqx.kernels._esf_refine import refine_line
from iqx.kernels._esf_spectrum import _fwhm, _rer, edge_otf
from iqx.kernels._esf_tables import dft_tables
from iqx.kernels._numba import ngjit
from iqx.kernels.esf_window import window_truncates

__all__ = ["RES_FIELDS", "STATUS", "dft_tables", "measure_candidates", "sg_coefficients"]


@ngjit
def measure_candidates(
    img: np.ndarray,
    valid: np.ndarray,
    gy: np.ndarray,
    gx: np.ndarray,
    cand: np.ndarray,
    halfwidth: int,
    plateau: float,
    taper: float,
    oversamplings: np.ndarray,
    freqs: np.ndarray,
    min_snr: float,
    max_noise_ratio: float,
    max_plateau_slope: float,
    outlier_k: float,
    max_outlier_frac: float,
    max_tail: float,
    max_fit_rms: float,
    tables: tuple,
    group: np.ndarray,
    dup_cos: float,
    dup_across: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Measure every candidate of :func:`iqx.kernels.edges.trace_candidates` with status 0.

    Candidates of one ``group`` (consecutive rows, e.g. the seeds of one cell, best first)
    that overlap an *accepted* earlier candidate of their group
    (:func:`iqx.kernels.edges.segments_clash` on the traced lines, with ``dup_cos`` and
    ``dup_across``) are duplicates of it and are not measured (status -1): the global
    de-duplication would drop them anyway. Candidates with ``group < 0`` are all measured.

    Parameters
    ----------
    img : ndarray of float64
        Extended block (one band).
    valid : ndarray of bool
        Validity of ``img``.
    gy, gx : ndarray
        Sobel gradient of ``img``.
    cand : ndarray
        Candidate rows (``CAND_FIELDS``).
    halfwidth : int
        ESF half-extent ``H`` across the edge (px).
    plateau : float
        Width of each plateau zone at the ends of the ESF (px).
    taper : float
        Width of the cosine taper of the LSF window at each end (px).
    oversamplings : ndarray of int
        Candidate oversampling factors, finest first.
    freqs : ndarray
        Frequencies (cycles/px) of the returned MTF curves.
    min_snr, max_noise_ratio, max_plateau_slope, outlier_k, max_outlier_frac, max_tail, max_fit_rms : float
        Gate thresholds (see :func:`iqx.metrics.sharpness`).
    tables : tuple of ndarray
        :func:`dft_tables` ``(oversamplings, halfwidth, freqs)``: the DFT kernels of every
        bin width (the per-edge DFTs are then matrix products, no trigonometry per term).
    group : ndarray of int64
        De-duplication group of each candidate (see above).
    dup_cos, dup_across : float
        Overlap limits of the in-group de-duplication (cosine of the largest angle, largest
        distance across, px).

    Returns
    -------
    res : ndarray, shape (n, len(RES_FIELDS))
    curves : ndarray of float32, shape (n, len(freqs))
        Per-edge MTF, *signed*: ``sign(P) sqrt(|P|)`` of the noise-debiased power ``P``
        (clip at 0 for the MTF); NaN when not measured.
    esfs : ndarray of float32, shape (n, 2 * H * 8)
        Per-edge normalised ESF on the grid of its bin width (NaN padded).
    """
    lv_c, lv_s = tables[6], tables[7]  # FWHM tables (the DFT ones are for edge_otf)
    n = cand.shape[0]
    H = float(halfwidth)
    nmax = 2 * halfwidth * 8
    gates = gate_thresholds(min_snr, max_noise_ratio, max_plateau_slope)
    res = np.full((n, _NF), np.nan)
    curves = np.full((n, freqs.shape[0]), np.nan, np.float32)
    esfs = np.full((n, nmax), np.nan, np.float32)
    g0 = 0  # first row of the current group
    for k in range(n):
        if k == 0 or group[k] != group[k - 1]:
            g0 = k
        res[k, C_STATUS] = cand[k, 9]
        if cand[k, 9] != 0:
            continue
        if group[k] >= 0 and _duplicate(cand, res, g0, k, dup_cos, dup_across):
            res[k, C_STATUS] = -1
            continue
        sy = int(cand[k, 0])
        sx = int(cand[k, 1])
        cy = cand[k, 2]
        cx = cand[k, 3]
        ty = cand[k, 4]
        tx = cand[k, 5]
        lh = cand[k, 6]
        status, cy, cx, ty, tx, fit_rms, r0, r1, c0, c1 = refine_line(
            img, gy, gx, sy, sx, cy, cx, ty, tx, lh, H, plateau, gates
        )
        res[k, C_CY] = cy
        res[k, C_CX] = cx
        res[k, C_TY] = ty
        res[k, C_TX] = tx
        res[k, C_HALF_LENGTH] = lh
        res[k, C_FIT_RMS] = fit_rms
        if status == 0 and fit_rms > max_fit_rms:
            status = S_NOT_STRAIGHT
        if status != 0:
            res[k, C_STATUS] = status
            continue
        ok, dd, vv, npx = gather_roi(img, valid, sy, sx, cy, cx, ty, tx, lh, H, (r0, r1, c0, c1))
        res[k, C_N_PIXELS] = npx
        if not ok:
            res[k, C_STATUS] = S_NODATA
            continue
        oi, os, bval, bcnt, esf = bin_esf(dd, vv, npx, halfwidth, oversamplings)
        if os == 0:
            res[k, C_STATUS] = S_TOO_FEW_PHASES
            continue
        delta = 1.0 / os
        nb = esf.shape[0]
        x0 = -H + 0.5 * delta
        # plateaus, contrast, noise
        lo_s = 0.0
        lo_n = 0.0
        hi_s = 0.0
        hi_n = 0.0
        lo_a = 0.0
        lo_an = 0.0
        hi_a = 0.0
        hi_an = 0.0
        for i in range(npx):
            d = dd[i]
            if d < -H + plateau:
                lo_s += vv[i]
                lo_n += 1.0
                if d < -H + 0.5 * plateau:
                    lo_a += vv[i]
                    lo_an += 1.0
            elif d > H - plateau:
                hi_s += vv[i]
                hi_n += 1.0
                if d > H - 0.5 * plateau:
                    hi_a += vv[i]
                    hi_an += 1.0
        low = lo_s / lo_n
        high = hi_s / hi_n
        contrast = high - low
        res[k, C_DELTA] = delta
        res[k, C_LOW] = low
        res[k, C_HIGH] = high
        res[k, C_CONTRAST] = contrast
        if not contrast > 0.0:
            res[k, C_STATUS] = S_LOW_CONTRAST
            continue
        lo_v = 0.0
        hi_v = 0.0
        for i in range(npx):
            d = dd[i]
            if d < -H + plateau:
                lo_v += (vv[i] - low) ** 2
            elif d > H - plateau:
                hi_v += (vv[i] - high) ** 2
        lo_sd = math.sqrt(lo_v / max(lo_n - 1.0, 1.0))
        hi_sd = math.sqrt(hi_v / max(hi_n - 1.0, 1.0))
        noise = math.sqrt(0.5 * (lo_sd * lo_sd + hi_sd * hi_sd))
        snr = contrast / noise if noise > 0.0 else 1e9
        res[k, C_NOISE] = noise
        res[k, C_EDGE_SNR] = snr
        if snr < min_snr:
            res[k, C_STATUS] = S_LOW_SNR
            continue
        floor_sd = 1e-3 * contrast
        if max(lo_sd, hi_sd, floor_sd) > max_noise_ratio * max(min(lo_sd, hi_sd), floor_sd):
            res[k, C_STATUS] = S_NOT_HOMOGENEOUS
            continue
        lo_slope = abs(lo_a / lo_an - (lo_s - lo_a) / max(lo_n - lo_an, 1.0))
        hi_slope = abs(hi_a / hi_an - (hi_s - hi_a) / max(hi_n - hi_an, 1.0))
        if max(lo_slope, hi_slope) > max_plateau_slope * contrast:
            res[k, C_STATUS] = S_NOT_FLAT
            continue
        # outliers: pixels far from the ESF (another structure in the ROI)
        thr = max(outlier_k * noise, 0.05 * contrast)
        nout = 0
        for i in range(npx):
            e = _interp(esf, x0, delta, dd[i])
            if abs(vv[i] - e) > thr:
                nout += 1
        if nout > max_outlier_frac * npx:
            res[k, C_STATUS] = S_NOT_ISOLATED
            continue
        en = (esf - low) / contrast
        for j in range(nb):
            esfs[k, j] = en[j]
        # first pass: coarse sigma from the 10-90 % rise on a lightly smoothed ESF
        sm, dv = sg_coefficients(2)
        es = en.copy()
        for j in range(2, nb - 2):
            acc = 0.0
            for q in range(5):
                acc += sm[q] * en[j - 2 + q]
            es[j] = acc
        jc = int((0.0 - x0) / delta)
        x50 = _crossing(es, x0, delta, jc, 0.5, 1)
        x50b = _crossing(es, x0, delta, jc + 1, 0.5, -1)
        if np.isnan(x50) or (not np.isnan(x50b) and abs(x50b) < abs(x50)):
            x50 = x50b
        if np.isnan(x50):
            res[k, C_STATUS] = S_NO_LSF
            continue
        j50 = int((x50 - x0) / delta)
        x10 = _crossing(es, x0, delta, j50, 0.1, -1)
        x90 = _crossing(es, x0, delta, j50, 0.9, 1)
        if np.isnan(x10) or np.isnan(x90):
            res[k, C_STATUS] = S_NO_LSF
            continue
        sig = max((x90 - x10) / 2.5631, 0.2)
        res[k, C_SIGMA_EST] = sig
        # isolation: the LSF (SG cubic derivative) must be small far from the edge
        m = max(2, int(0.5 * sig / delta + 0.5))
        m = min(m, nb // 4)
        sm, dv = sg_coefficients(m)
        ls = np.zeros(nb)
        for j in range(m, nb - m):
            acd = 0.0
            for q in range(2 * m + 1):
                acd += dv[q] * en[j - m + q]
            ls[j] = acd / delta
        pk = 0.0
        for j in range(m, nb - m):
            if abs(x0 + j * delta - x50) <= 2.0 * sig + 0.5:
                pk = max(pk, ls[j])
        tail_lim = 3.0 * sig + 1.5
        tmax = 0.0
        for j in range(m, nb - m):
            if abs(x0 + j * delta - x50) > tail_lim:
                tmax = max(tmax, abs(ls[j]))
        if not pk > 0.0 or tmax > max_tail * pk:
            res[k, C_STATUS] = S_NOT_ISOLATED
            continue
        # LSF: forward differences, Tukey window centred on x50 (adaptive extent)
        hw = min(H, max(3.0, 4.0 * sig + 2.0))
        tw = min(taper, 0.5 * hw)
        flat = hw - tw
        nl = nb - 1
        lsf = np.empty(nl)
        xl_ = np.empty(nl)
        w = np.empty(nl)
        dc = 0.0
        for j in range(nl):
            lsf[j] = (en[j + 1] - en[j]) / delta
            xl_[j] = x0 + (j + 0.5) * delta - x50
            u = abs(xl_[j])
            if u <= flat:
                w[j] = 1.0
            elif u < hw:
                w[j] = 0.5 * (1.0 + math.cos(math.pi * (u - flat) / tw))
            else:
                w[j] = 0.0
            dc += lsf[j] * w[j]
        if not dc > 0.0:
            res[k, C_STATUS] = S_NO_LSF
            continue
        # window truncation of wide LSFs: correction factor per frequency (esf_window)
        wsig = sig if window_truncates(sig, hw) else 0.0
        # noise variance of each normalised ESF bin
        # (the scatter of the pixels around their bin means, not the plateau spread: on
        # natural edges the plateaus hold scene structure that is not in the ESF noise)
        rss = 0.0
        for i in range(npx):
            b_ = int((dd[i] + H) * os)
            if 0 <= b_ < nb:
                rss += (vv[i] - bval[b_]) ** 2
        noise_b = math.sqrt(rss / max(npx - nb, 1.0))
        var_b = np.empty(nb)
        for j in range(nb):
            var_b[j] = (noise_b / contrast) ** 2 / bcnt[j]
        ore, oim, nk = edge_otf(
            lsf, w, xl_, var_b, delta, dc, wsig, oi, freqs, tables, res[k], curves[k]
        )
        df = _DF
        res[k, C_RER] = _rer(ore, nk, df)
        ok, fwhm = _fwhm(ore, oim, nk, df, sig, delta, lv_c, lv_s, oi)
        if not ok:
            res[k, C_STATUS] = S_NO_LSF
            continue
        res[k, C_FWHM] = fwhm
        # shape consistency: a step blurred by a unimodal PSF has RER ~ erf(1/(2 sqrt2 s))
        # with s = FWHM / 2.3548; pedestals, double edges and lines violate it
        sg = res[k, C_FWHM] / 2.3548200450309493
        if abs(res[k, C_RER] - math.erf(1.0 / (2.0 * math.sqrt(2.0) * sg))) > 0.15:
            res[k, C_STATUS] = S_NOT_STEP
            continue
        res[k, C_STATUS] = S_OK
    return res, curves, esfs
