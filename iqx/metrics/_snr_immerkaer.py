"""The ``immerkaer`` SNR method's finalize step (Immerkaer 1996).

The chunk step is one numba pass (:func:`iqx.kernels.noise_estimators.immerkaer_sums`);
the lag-correlation correction of the standard error is computed on first use.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from iqx.kernels import noise_estimators as ne
from iqx.metrics._snr_common import _median, _nan_result, _ratio_result
from iqx.metrics._snr_options import SNROptions

__all__: list[str] = []


@functools.cache
def _immerkaer_corr() -> float:
    """Sum over lags of corr(|c_0|, |c_lag|) for the Immerkaer response of white noise."""
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=float)
    from scipy.signal import correlate2d

    rho = correlate2d(k, k) / 36.0
    g = rho * np.arcsin(np.clip(rho, -1, 1)) + np.sqrt(1 - np.clip(rho, -1, 1) ** 2) - 1
    return float(g.sum() / (math.pi / 2 - 1))


def _finalize_immerkaer(part: dict[str, Any], p: SNROptions, ctx: dict) -> dict:
    is_float = ctx["is_float"]
    s, _, n = part["imm"]
    if n < p.min_blocks:
        return _nan_result(
            f"only {n} pixels have a fully valid 3x3 neighbourhood (need >= {p.min_blocks})"
        )
    sigma = ne.IMMERKAER_FACTOR * s / n
    s1, s2 = part["imm"][0] / n, part["imm"][1] / n
    se = ne.IMMERKAER_FACTOR * math.sqrt(max(s2 - s1 * s1, 0.0) * _immerkaer_corr() / n)
    return _ratio_result(_median(part, is_float), sigma, se, n)
