"""Bootstrap helpers (numba): medians of resamples without sorting each one."""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["resample_medians"]


@ngjit
def resample_medians(idx: np.ndarray, rank: np.ndarray, v_sorted: np.ndarray) -> np.ndarray:
    """``np.median(v[idx], axis=1)``, bit for bit, in O(n) per row without sorting: the
    counts of the drawn ranks locate the middle order statistic(s) in ``v_sorted``
    (``rank[i]`` is the position of ``v[i]`` in ``v_sorted``)."""
    rows, n = idx.shape
    out = np.empty(rows)
    cnt = np.zeros(n, np.int64)
    k1 = (n - 1) // 2
    k2 = n // 2
    for r in range(rows):
        cnt[:] = 0
        for i in range(n):
            cnt[rank[idx[r, i]]] += 1
        cum = 0
        a = np.nan
        for q in range(n):
            cum += cnt[q]
            if cum > k1 and np.isnan(a):
                a = v_sorted[q]
            if cum > k2:
                out[r] = a if k1 == k2 else (a + v_sorted[q]) / 2.0
                break
    return out
