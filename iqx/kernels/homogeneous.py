"""Block statistics for homogeneous-block SNR (pure NumPy + numba, one ndarray block).

Blocks are aligned to a *global* grid: a block with global origin ``(gy, gx)`` exists when
``gy % stride == 0``, ``gx % stride == 0`` and it fits inside the scene. A chunk owns the
blocks whose origin lies in its core; with a halo of ``size - 1`` below and to the right it
can see them whole, so the set of blocks (and every statistic) is the same for any chunking.

Keys used by the streaming histograms are fixed, data-independent grids (``symlog_key``,
``log_key``), so partial histograms from different chunks add up exactly.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = [
    "FLOAT_VALUE_RES",
    "block_moments",
    "block_sums",
    "histogram_median",
    "key_to_log",
    "key_to_symlog",
    "log_key",
    "owned_origins",
    "sparse_merge",
    "symlog_key",
    "value_histogram",
]


def owned_origins(
    core_start: int, core_len: int, ext_start: int, scene_len: int, size: int, stride: int
) -> np.ndarray:
    """Local origins (in the halo-extended block) of the grid blocks a chunk owns.

    Parameters
    ----------
    core_start, core_len : int
        Global index of the chunk's first core pixel and the core length along the axis.
    ext_start : int
        Global index of the extended block's first pixel (``core_start - halo_before``).
    scene_len : int
        Scene length along the axis.
    size, stride : int
        Block size and grid step.

    Returns
    -------
    numpy.ndarray of int64
        Origins relative to the extended block.
    """
    first = -(-core_start // stride) * stride
    g = np.arange(first, core_start + core_len, stride, dtype=np.int64)
    g = g[g + size <= scene_len]
    return g - ext_start


@ngjit
def block_moments(band, valid, oys, oxs, size):
    """Mean, sample variance and plane-detrended variance of ``size x size`` blocks.

    Parameters
    ----------
    band : 2-D ndarray (any real dtype)
    valid : 2-D bool ndarray, same shape
    oys, oxs : 1-D int64 ndarrays
        Block origins; every ``(oy, ox)`` pair of the outer product is a block.
    size : int

    Returns
    -------
    mean, var, rvar : 2-D float64 ndarrays of shape ``(len(oys), len(oxs))``
        ``var`` is the sample variance (ddof=1, two-pass); ``rvar`` is the residual
        variance after removing the least-squares plane ``a + b*i + c*j`` (dof ``n - 3``),
        NaN when ``size < 2``.
    ok : 2-D bool ndarray
        True when every pixel of the block is valid (statistics are NaN otherwise).
    """
    ny = oys.shape[0]
    nx = oxs.shape[0]
    mean = np.full((ny, nx), np.nan)
    var = np.full((ny, nx), np.nan)
    rvar = np.full((ny, nx), np.nan)
    ok = np.zeros((ny, nx), dtype=np.bool_)
    n = size * size
    c = (size - 1) / 2.0
    s1 = 0.0
    for i in range(size):
        s1 += (i - c) * (i - c)
    sii = s1 * size  # sum over the block of (i - c)^2 (same for j)
    for a in range(ny):
        y0 = oys[a]
        for b in range(nx):
            x0 = oxs[b]
            good = True
            tot = 0.0
            for i in range(size):
                for j in range(size):
                    if not valid[y0 + i, x0 + j]:
                        good = False
                        break
                    tot += band[y0 + i, x0 + j]
                if not good:
                    break
            if not good:
                continue
            m = tot / n
            ss = 0.0
            sy = 0.0
            sx = 0.0
            for i in range(size):
                for j in range(size):
                    d = band[y0 + i, x0 + j] - m
                    ss += d * d
                    sy += d * (i - c)
                    sx += d * (j - c)
            ok[a, b] = True
            mean[a, b] = m
            if n > 1:
                var[a, b] = ss / (n - 1)
            if n > 3 and sii > 0:
                rss = ss - sy * sy / sii - sx * sx / sii
                rvar[a, b] = max(rss, 0.0) / (n - 3)
    return mean, var, rvar, ok


@ngjit
def block_sums(arr, oys, oxs, size):
    """Sum of ``arr`` over each ``size x size`` block of the outer-product grid."""
    out = np.zeros((oys.shape[0], oxs.shape[0]))
    for a in range(oys.shape[0]):
        for b in range(oxs.shape[0]):
            tot = 0.0
            for i in range(size):
                for j in range(size):
                    tot += arr[oys[a] + i, oxs[b] + j]
            out[a, b] = tot
    return out


def symlog_key(x: np.ndarray, res: int, eps: float) -> np.ndarray:
    """Monotone fixed-grid key of real values: ``floor(res * (g(x) + 64))``.

    ``g(x) = sign(x) * log2(1 + |x| / eps)``: relative resolution ``~ln 2 / res`` for
    ``|x| >> eps`` and absolute resolution ``~eps / res`` near 0.
    """
    x = np.asarray(x, dtype=np.float64)
    g = np.sign(x) * np.log2(1.0 + np.abs(x) / eps)
    return np.floor(res * (g + 64.0)).astype(np.int64)


def key_to_symlog(key: np.ndarray, res: int, eps: float) -> np.ndarray:
    """Centre of the :func:`symlog_key` bin (inverse map)."""
    g = (np.asarray(key, dtype=np.float64) + 0.5) / res - 64.0
    return np.sign(g) * eps * (np.exp2(np.abs(g)) - 1.0)


def log_key(x: np.ndarray, res: int) -> np.ndarray:
    """Key of non-negative values on a log grid: ``-1`` for 0, else ``floor(res*(log2 x + 64))``."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore"):
        k = np.floor(res * (np.log2(x) + 64.0))
    k = np.where(x > 0, np.maximum(k, 0), -1)
    return k.astype(np.int64)


def key_to_log(key: np.ndarray, res: int) -> np.ndarray:
    """Lower edge of a :func:`log_key` bin (0 for the key ``-1``)."""
    key = np.asarray(key, dtype=np.float64)
    return np.where(key < 0, 0.0, np.exp2(key / res - 64.0))


def sparse_merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge sparse ``(keys, counts)`` histograms (keys sorted on output)."""
    parts = [p for p in parts if p[0].size]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    keys = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    uk, inv = np.unique(keys, return_inverse=True)
    return uk, np.bincount(inv, weights=counts, minlength=uk.size).astype(np.int64)


#: relative resolution of the float value histogram (keys of :func:`symlog_key`)
FLOAT_VALUE_RES = 8192


def value_histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sparse histogram of pixel values: exact for integers, fine log grid for floats.

    Integer keys are the values themselves; float keys are
    ``symlog_key(v, FLOAT_VALUE_RES, 1e-12)`` (relative bin width ~8.5e-5).
    """
    v = np.asarray(values).ravel()
    if v.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if v.dtype.kind in "ui" and v.dtype.itemsize <= 2:
        lo = int(np.iinfo(v.dtype).min)
        counts = np.bincount(v.astype(np.int64) - lo)
        nz = np.flatnonzero(counts)
        return nz.astype(np.int64) + lo, counts[nz].astype(np.int64)
    if v.dtype.kind in "ui":
        k, c = np.unique(v.astype(np.int64), return_counts=True)
        return k, c.astype(np.int64)
    k, c = np.unique(symlog_key(v, FLOAT_VALUE_RES, 1e-12), return_counts=True)
    return k, c.astype(np.int64)


def histogram_median(keys: np.ndarray, counts: np.ndarray, is_float: bool) -> float:
    """Median of a :func:`value_histogram` (mean of the two middle values, like NumPy)."""
    total = int(counts.sum())
    if total == 0:
        return math.nan
    cum = np.cumsum(counts)
    lo = keys[np.searchsorted(cum, (total - 1) // 2 + 1)]
    hi = keys[np.searchsorted(cum, total // 2 + 1)]
    if is_float:
        lo, hi = key_to_symlog(np.array([lo, hi]), FLOAT_VALUE_RES, 1e-12)
    return (float(lo) + float(hi)) / 2.0
