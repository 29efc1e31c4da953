"""The ``blocks`` SNR method's finalize step: noise curve from block-std quantiles.

The chunk step is :func:`iqx.kernels.homogeneous.block_key_counts` (packed signal/std
keys), the combine step a sparse merge; here the keys become signal bins, a bias-corrected
low quantile of the stds per bin, an affine variance model and the noise at the median DN.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.optimize import nnls

from iqx.kernels import homogeneous as hk
from iqx.metrics._snr_common import (
    _SIG_RES,
    _STD_BITS,
    _STD_RES,
    _median,
    _nan_result,
    _ratio_result,
)
from iqx.metrics._snr_options import SNROptions

__all__: list[str] = []


@functools.lru_cache(maxsize=64)
def _chi_quantile_factor(q: float, dof: int) -> float:
    """q-quantile of s/sigma for a sample std with ``dof`` degrees of freedom."""
    return math.sqrt(stats.chi2.ppf(q, dof) / dof)


@functools.lru_cache(maxsize=64)
def _quantile_density(q: float, dof: int) -> float:
    """``pdf * y`` of s/sigma at its q-quantile ``y`` (scipy.stats calls cost ~0.3 ms)."""
    y = _chi_quantile_factor(q, dof)
    return stats.chi2.pdf(dof * y * y, dof) * 2.0 * dof * y * y


def _quantile_se(q: float, dof: int, n: int) -> float:
    """Relative standard error of sigma estimated from the q-quantile of n block stds."""
    return math.sqrt(q * (1 - q) / n) / _quantile_density(q, dof)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(sorted_keys, return_index=True)`` of an already sorted array: the first
    index of each run of equal keys, without sorting again (a tenth of the cost; the
    finalize step runs alone after every chunk, so it is on the critical path)."""
    if sorted_keys.size == 0:
        return sorted_keys[:0], np.empty(0, np.intp)
    first = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    first = np.concatenate([np.zeros(1, first.dtype), first])
    return sorted_keys[first], first


def _finalize_blocks(part: dict[str, Any], p: SNROptions, ctx: dict) -> dict:
    keys, counts = part["blocks"]
    size = p.block_size
    nonconst = ((keys & ((1 << _STD_BITS) - 1)) - 1) >= 0
    n_const = int(counts[~nonconst].sum())
    keys, counts = keys[nonconst], counts[nonconst]
    total = int(counts.sum())
    if total == 0 and n_const:
        return _nan_result(
            f"all {n_const} valid {size}x{size} blocks are exactly constant (constant image, "
            "fill or saturation; noise below the quantisation step)",
            n_blocks=0,
        )
    if total < p.min_blocks:
        return _nan_result(
            f"only {total} fully valid {size}x{size} blocks (need >= {p.min_blocks})",
            n_blocks=total,
        )
    dof = size * size - 3
    q = p.quantile
    factor = _chi_quantile_factor(q, dof)
    eps = 1e-6 if ctx["is_float"] else 1.0
    skeys = keys >> _STD_BITS
    tkeys = (keys & ((1 << _STD_BITS) - 1)) - 1
    # equal-count signal bins on the signal-key grid
    uniq_s, first = _runs(skeys)
    per_s = np.add.reduceat(counts, first)
    nbins = int(max(1, min(p.max_bins, total // max(p.min_blocks, 1))))
    cum = np.cumsum(per_s)
    edges = np.searchsorted(cum, np.arange(1, nbins) * total / nbins, side="left")
    groups = np.split(np.arange(uniq_s.size), np.unique(edges[(edges > 0)]))
    # the keys are sorted, so a group of signal keys is one contiguous run of them
    starts = np.append(first, skeys.size)
    rows = []
    for g in groups:
        if g.size == 0:
            continue
        sel = slice(int(starts[g[0]]), int(starts[g[-1] + 1]))
        n = int(counts[sel].sum())
        if n < p.min_blocks:
            continue
        dn = float(np.sum(hk.key_to_symlog(skeys[sel], _SIG_RES, eps) * counts[sel]) / n)
        # quantile of the block stds, linear inside the log-spaced key bin
        tk, tc = tkeys[sel], counts[sel]
        order = np.argsort(tk, kind="stable")
        tk, tc = tk[order], tc[order]
        uk, idx = _runs(tk)
        uc = np.add.reduceat(tc, idx)
        ccum = np.cumsum(uc)
        target = q * n
        i = int(np.searchsorted(ccum, target, side="left"))
        if uk[i] < 0:
            s_q = 0.0
        else:
            below = ccum[i - 1] if i > 0 else 0
            frac = (target - below) / uc[i]
            s_q = float(np.exp2((uk[i] + frac) / _STD_RES - 64.0))
        sigma = s_q / factor
        rows.append((dn, sigma, sigma * _quantile_se(q, dof, n), n))
    if not rows:
        return _nan_result("no signal bin holds enough blocks", n_blocks=total)
    curve = np.array(rows)
    signal = _median(part, ctx["is_float"])
    sigma, se = _noise_at(curve, signal)
    return _ratio_result(signal, sigma, se, int(curve[:, 3].sum()), curve=curve)


def _noise_at(curve: np.ndarray, dn: float) -> tuple[float, float]:
    """sigma(dn) from the affine variance model ``sigma^2 = a + b*DN`` fitted to the bins."""
    x, sig, se = curve[:, 0], curve[:, 1], curve[:, 2]
    if np.any(sig <= 0):
        # a quantisation-limited bin: report the bin nearest to dn as is
        k = int(np.argmin(np.abs(x - dn)))
        return float(sig[k]), float(se[k])
    var_se = np.maximum(2 * sig * se, 1e-300)
    w = 1.0 / var_se
    if curve.shape[0] == 1 or np.ptp(x) <= 1e-9 * max(abs(x).max(), 1.0):
        wt = w**2
        v = float(np.sum(wt * sig**2) / np.sum(wt))
        vse = float(1.0 / np.sqrt(np.sum(wt)))
        return math.sqrt(v), vse / (2 * math.sqrt(v))
    scale = float(np.abs(x).max())
    design = np.stack([np.ones_like(x), x / scale], axis=1)
    coef, _ = nnls(design * w[:, None], sig**2 * w)
    active = coef > 0
    xv = np.array([1.0, dn / scale])
    var = float(coef @ xv)
    if var <= 0:
        k = int(np.argmin(np.abs(x - dn)))
        return float(sig[k]), float(se[k])
    a = design[:, active] * w[:, None]
    cov = np.linalg.pinv(a.T @ a)
    vvar = float(xv[active] @ cov @ xv[active])
    return math.sqrt(var), math.sqrt(max(vvar, 0.0)) / (2 * math.sqrt(var))
