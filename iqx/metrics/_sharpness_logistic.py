"""IQUAFLOW's logistic-model sharpness values (steps 5-9 of its ``SharpnessMeasure``).

Re-implemented from the algorithm description (``reference/iquaflow.md`` section 2.3), not
from its code, and applied to the ESF of edges that iqx found and gated. Per edge:

5. ESF on a 0.1 px grid ``x = arange(-6, 6, 0.1)`` (iqx's super-sampled ESF, linearly
   resampled); centring by a circular roll that puts the largest ESF step within
   ``|x| <= 3`` at the centre; ``LSF = |diff(ESF)|``.
6. Gaussian fit of the LSF (``curve_fit``, p0 ``[max, 0, 1]``); ``lim1 = round((|x0| +
   3 s) * 2) / 2 + 0.5`` bounds the ESF used below.
7. Logistic fit ``E(x) = a / (1 + exp((x - b) / c)) + d`` (p0 ``[median, 0.5, -0.5,
   q05]``), normalisation by the model's asymptotes, refit of the normalised ESF.
8. Gates: ``R^2 >= 0.995`` and edge SNR (1 / mean std of the tails outside the fitted
   transition) ``>= 50``.
9. ``RER = E(x50 + 0.5) - E(x50 - 0.5)`` on the normalised model, ``FWHM`` = distance of
   the two half-maximum roots of ``|diff(E_fit)|`` (spline) / 10, MTF = ``|FFT|`` of that
   model LSF (no window, no padding) normalised at DC, cubic-spline interpolated at 0.25
   and 0.5 cycles/px. MTF50 (not in IQUAFLOW) is the spline's 0.5 crossing.

Deliberate differences from IQUAFLOW 1.0.1 (documented in ``docs/sharpness.md``): the ESF
comes from iqx's binned projection instead of spline-resampled nearest-neighbour
transects; the "angle check" that tests the intercept and the ``shift == 0`` rejection of
step 6 are not reproduced (they depend on IQUAFLOW's own patch geometry), and the Gaussian
p0 amplitude is scaled to the normalised ESF.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import interpolate, optimize

__all__ = ["logistic_values"]

X = np.round(np.arange(-6.0, 6.0, 0.1), 10)
R2_THRESHOLD = 0.995
SNR_THRESHOLD = 50.0


def _logistic(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    with np.errstate(over="ignore"):
        return a / (1.0 + np.exp((x - b) / c)) + d


def _gauss(x: np.ndarray, a: float, x0: float, s: float) -> np.ndarray:
    return a * np.exp(-((x - x0) ** 2) / (2.0 * s * s))


def _one(esf_grid: np.ndarray, delta: float, halfwidth: int) -> tuple[dict, str | None]:
    n = round(2 * halfwidth / delta)
    e = esf_grid[:n].astype(np.float64)
    xg = -halfwidth + (np.arange(n) + 0.5) * delta
    esf = np.interp(X, xg, e)
    # step 5: centring
    win = np.flatnonzero(np.abs(X) <= 3.0 + 1e-9)
    d = np.diff(esf[win])
    a = int(np.argmax(np.abs(d)))
    shift = len(win) // 2 - a
    esf = np.roll(esf, shift)
    lsf = np.abs(np.diff(esf))
    k = abs(shift)
    if k:
        x_, lsf_ = X[k + 1 : -k], lsf[k:-k]
    else:
        x_, lsf_ = X[1:], lsf
    # step 6: Gaussian LSF fit
    try:
        gp, _ = optimize.curve_fit(_gauss, x_, lsf_, p0=[float(lsf_.max()), 0.0, 1.0], maxfev=2000)
        lim1 = round((abs(gp[1]) + 3 * abs(gp[2])) * 2) / 2 + 0.5
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return {}, "logistic_lsf_fit"
    if lim1 <= 0:
        lim1 = X[-1]
    idx1 = np.flatnonzero(np.abs(X) <= lim1)
    x_esf, esf_s = X[idx1[1:]], esf[idx1[1:]]
    if len(x_esf) < 8:
        return {}, "logistic_lsf_fit"
    # step 7: logistic fits
    try:
        p0 = [float(np.median(esf_s)), 0.5, -0.5, float(np.quantile(esf_s, 0.05))]
        ep, _ = optimize.curve_fit(_logistic, x_esf, esf_s, p0=p0, maxfev=5000)
        hi = _logistic(np.arange(x_esf[-1], x_esf[-1] + 4, 0.1), *ep).max()
        lo = _logistic(np.arange(x_esf[0] - 4, x_esf[0], 0.1), *ep).min()
        if hi == lo:
            return {}, "logistic_fit"
        en = (esf_s - lo) / (hi - lo)
        npp, _ = optimize.curve_fit(_logistic, x_esf, en, p0=[1.0, 0.5, 0.5, 0.0], maxfev=5000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return {}, "logistic_fit"
    # step 8: gates
    model = _logistic(x_esf, *npp)
    ss_tot = np.sum((en - en.mean()) ** 2)
    r2 = 1.0 - np.sum((en - model) ** 2) / ss_tot if ss_tot > 0 else -np.inf
    if r2 < R2_THRESHOLD:
        return {}, "logistic_r2"
    g = np.diff(model)
    t = np.flatnonzero(g / g.max() < 0.05) if g.max() > 0 else np.zeros(0, int)
    gaps = np.flatnonzero(np.diff(t) > 1)
    if len(t) <= 5 or len(gaps) == 0:
        return {}, "logistic_tails"
    xl, xr = t[gaps[0]], t[gaps[0] + 1]
    tails = [s for s in (en[:xl], en[xr:]) if len(s) > 1]
    noise = float(np.mean([np.std(s) for s in tails])) if tails else 0.0
    if not noise > 0 or 1.0 / noise < SNR_THRESHOLD:
        return {}, "logistic_snr"
    # step 9: values from the models
    x50 = x_esf[np.argmin(np.abs(model - 0.5))]
    rer = float(_logistic(x50 + 0.5, *npp) - _logistic(x50 - 0.5, *npp))
    efit = _logistic(x_esf, *ep)
    lsf_m = np.abs(np.diff(efit))
    roots = interpolate.UnivariateSpline(
        np.arange(len(lsf_m)), lsf_m - lsf_m.max() / 2, s=0
    ).roots()
    fwhm = float(abs(roots[1] - roots[0]) / 10.0) if len(roots) == 2 else np.nan
    nl = len(lsf_m)
    f = np.fft.fftfreq(nl, 0.1)[: nl // 2]
    mtf = np.abs(np.fft.fft(lsf_m)[: nl // 2]) * 2 / nl
    mtf = mtf / mtf[0]
    sel = f < 1.5
    if sel.sum() < 4:
        return {}, "logistic_fit"
    spl = interpolate.CubicSpline(f[sel], mtf[sel])
    fq = np.round(np.arange(0.0, 1.0 + 1e-9, 0.01), 10)
    curve = spl(fq)
    below = np.flatnonzero(curve < 0.5)
    mtf50 = np.nan
    if len(below) and below[0] > 0:
        i = below[0]
        try:
            mtf50 = float(optimize.brentq(lambda z: spl(z) - 0.5, fq[i - 1], fq[i]))
        except ValueError:
            mtf50 = np.nan
    return {
        "rer": rer,
        "fwhm": fwhm,
        "mtf_nyquist": float(spl(0.5)),
        "mtf_half_nyquist": float(spl(0.25)),
        "mtf50": mtf50,
        "curve": curve,
    }, None


def logistic_values(
    esfs: np.ndarray, deltas: np.ndarray, halfwidth: int
) -> tuple[dict[str, np.ndarray], list[str | None]]:
    """IQUAFLOW's logistic-model values for each edge ESF.

    Parameters
    ----------
    esfs : ndarray, shape (n, m)
        Normalised ESFs on their bin grids (NaN padded), as returned by
        :func:`iqx.kernels.esf.measure_candidates`.
    deltas : ndarray, shape (n,)
        Bin width of each ESF (px).
    halfwidth : int
        ESF half-extent (px).

    Returns
    -------
    values : dict
        Arrays ``rer``, ``fwhm``, ``mtf_nyquist``, ``mtf_half_nyquist``, ``mtf50`` (NaN
        where rejected) and ``curves`` (n, 101).
    reasons : list
        ``None`` for accepted edges, else the rejection reason.
    """
    n = len(esfs)
    out = {
        k: np.full(n, np.nan) for k in ("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50")
    }
    curves = np.full((n, 101), np.nan)
    reasons: list[str | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            vals, why = _one(esfs[i], float(deltas[i]), halfwidth)
            reasons.append(why)
            if why is None:
                for k in out:
                    out[k][i] = vals[k]
                curves[i] = vals["curve"]
    out["curves"] = curves
    return out, reasons
