"""The ``pca`` SNR method's finalize step (Liu et al. 2013 selection, Chen et al. 2015 split).

The chunk step groups weak-texture patches by texture-strength key and sums their
covariances; here the texture threshold is iterated and the eigenvalues are split.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats

from iqx.kernels import homogeneous as hk
from iqx.kernels import noise_estimators as ne
from iqx.metrics._snr_common import _TEX_RES, _median, _nan_result, _ratio_result
from iqx.metrics._snr_options import SNROptions

__all__: list[str] = []


def _finalize_pca(part: dict[str, Any], p: SNROptions, ctx: dict) -> dict:
    groups = part["pca"]
    size = p.block_size
    d = size * size
    keys = np.array(sorted(k for k in groups if k >= 0), dtype=np.int64)  # drop constant patches
    total = int(sum(groups[k][0] for k in keys))
    if total == 0 and groups:
        return _nan_result(
            f"all valid {size}x{size} patches are exactly constant (constant image, fill or "
            "saturation)"
        )
    if total < p.min_blocks:
        return _nan_result(
            f"only {total} fully valid {size}x{size} patches (need >= {p.min_blocks})",
            n_blocks=total,
        )
    lower = hk.key_to_log(keys, _TEX_RES)
    n_diff = 2 * size * (size - 1)
    # Liu 2013: xi ~ Gamma(shape d/2, scale 2 sigma^2 tr(D^T D) / d), tr = 2 n_diff
    tau_unit = stats.gamma.ppf(p.confidence, a=d / 2.0, scale=2.0 * 2 * n_diff / d)

    def estimate(sel: np.ndarray) -> tuple[float, int, int]:
        n = int(sum(groups[k][0] for k in keys[sel]))
        sxx = sum(groups[k][1] for k in keys[sel])
        lam = np.linalg.eigvalsh(sxx / n)[1:]  # drop the DC-removal null eigenvalue
        var, ntail = ne.chen_split_variance(lam)
        return var, n, ntail

    sel = np.ones(keys.size, dtype=bool)
    var, n, ntail = estimate(sel)
    for _ in range(10):
        new = lower <= var * tau_unit
        cum = np.cumsum([groups[k][0] for k in keys])
        if cum[new].max(initial=0) < p.min_blocks:
            new = np.arange(keys.size) <= np.searchsorted(cum, p.min_blocks)
        if np.array_equal(new, sel):
            break
        sel = new
        var, n, ntail = estimate(sel)
    sigma = math.sqrt(var)
    se = sigma / math.sqrt(2.0 * n * ntail) if n * ntail > 0 else math.nan
    return _ratio_result(_median(part, ctx["is_float"]), sigma, se, n)
