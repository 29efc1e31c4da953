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
from iqx.kernels.hb_blocks import hb_block_stds
from iqx.kernels.int_histogram import int_value_histogram
from iqx.kernels.key_counts import packed_key_counts

__all__ = [
    "FLOAT_VALUE_RES",
    "NO_MASK",
    "block_key_counts",
    "block_moments",
    "block_sums",
    "core_value_histogram",
    "hb_block_stds",
    "histogram_median",
    "key_to_log",
    "key_to_symlog",
    "log_key",
    "owned_origins",
    "sparse_merge",
    "symlog_key",
    "value_histogram",
]


#: a placeholder validity array for kernels called with ``use_valid=False`` (never read)
NO_MASK = np.ones((1, 1), dtype=np.bool_)


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
        for b in range(nx):
            good, m, ss, rss = _block_mean_rss(band, valid, True, oys[a], oxs[b], size, c, sii)
            if not good:
                continue
            ok[a, b] = True
            mean[a, b] = m
            if n > 1:
                var[a, b] = ss / (n - 1)
            if n > 3 and sii > 0:
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


@ngjit
def _block_mean_rss(band, valid, use_valid, y0, x0, size, c, sii):
    """``(ok, mean, ss, rss)`` of one block (two-pass float arithmetic), shared by
    :func:`block_moments` and the float path of :func:`block_key_counts`."""
    tot = 0.0
    for i in range(size):
        for j in range(size):
            if use_valid and not valid[y0 + i, x0 + j]:
                return False, 0.0, 0.0, 0.0
            tot += band[y0 + i, x0 + j]
    n = size * size
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
    rss = ss - sy * sy / sii - sx * sx / sii if sii > 0 else np.nan  # 1-pixel blocks: none
    return True, m, ss, rss


@ngjit
def _run_lengths(keys, weights):
    """Unique keys of a *sorted* key array and the summed weights of each."""
    n = keys.shape[0]
    uk = np.empty(n, dtype=np.int64)
    uc = np.empty(n, dtype=np.int64)
    m = 0
    for t in range(n):
        if m > 0 and keys[t] == uk[m - 1]:
            uc[m - 1] += weights[t]
        else:
            uk[m] = keys[t]
            uc[m] = weights[t]
            m += 1
    return uk[:m].copy(), uc[:m].copy()


@ngjit
def _sig_std_key(m, rvar, sig_res, eps, std_res, std_bits):
    """``(symlog_key(m) << std_bits) + (log_key(sqrt(rvar)) + 1)`` for one block."""
    g = np.log2(1.0 + abs(m) / eps)
    if m < 0:
        g = -g
    skey = np.int64(np.floor(sig_res * (g + 64.0)))
    sd = np.sqrt(rvar)
    if sd > 0:
        tkey = np.int64(max(np.floor(std_res * (np.log2(sd) + 64.0)), 0.0))
    else:
        tkey = np.int64(-1)
    return (skey << std_bits) + (tkey + 1)


@ngjit
def _block_keys_float(band, valid, use_valid, oys, oxs, size, sig_res, eps, std_res, std_bits):
    """Unsorted block keys, two-pass float arithmetic of :func:`block_moments` (any dtype)."""
    ny = oys.shape[0]
    nx = oxs.shape[0]
    keys = np.empty(ny * nx, dtype=np.int64)
    n = size * size
    c = (size - 1) / 2.0
    s1 = 0.0
    for i in range(size):
        s1 += (i - c) * (i - c)
    sii = s1 * size
    k = 0
    for a in range(ny):
        y0 = oys[a]
        for b in range(nx):
            good, m, _ss, rss = _block_mean_rss(band, valid, use_valid, y0, oxs[b], size, c, sii)
            if not good:
                continue
            rvar = max(rss, 0.0) / (n - 3)
            keys[k] = _sig_std_key(m, rvar, sig_res, eps, std_res, std_bits)
            k += 1
    return keys[:k]


@ngjit
def _block_keys_int(band, valid, use_valid, oys, oxs, size, sig_res, eps, std_res, std_bits):
    """Unsorted block keys for integer pixels of <= 16 bits, in one streaming pass.

    ``oxs`` must be contiguous blocks (step ``size``). Per row of blocks, column sums of
    ``v``, ``v**2`` and ``(2i - size + 1) v`` are accumulated in int64 (contiguous,
    vectorisable loops over the image rows), then reduced per block column by column (a
    strided loop over the blocks that vectorises, unlike one block at a time); so
    ``S = sum v``, ``n*ss = n*sum v^2 - S^2`` and the plane-fit projections are exact
    integers and only the final combination is rounded (float64).
    """
    ny = oys.shape[0]
    nx = oxs.shape[0]
    keys = np.empty(ny * nx, dtype=np.int64)
    if ny == 0 or nx == 0:
        return keys
    xa = oxs[0]
    w = nx * size
    cs = np.empty(w, np.int64)
    cq = np.empty(w, np.int64)
    cy = np.empty(w, np.int64)
    cb = np.zeros(w, np.int64)
    sb = np.empty(nx, np.int64)
    sq = np.empty(nx, np.int64)
    sy = np.empty(nx, np.int64)
    sx = np.empty(nx, np.int64)
    bad = np.zeros(nx, np.int64)
    rvar = np.empty(nx)
    n = size * size
    c = (size - 1) / 2.0
    s1 = 0.0
    for i in range(size):
        s1 += (i - c) * (i - c)
    sii4 = 4.0 * s1 * size  # sum over the block of (2i - size + 1)^2
    k = 0
    for a in range(ny):
        y0 = oys[a]
        cs[:] = 0
        cq[:] = 0
        cy[:] = 0
        for i in range(size):
            wt = 2 * i - (size - 1)
            row = band[y0 + i, xa : xa + w]
            for x in range(w):
                v = np.int64(row[x])
                cs[x] += v
                cq[x] += v * v
                cy[x] += wt * v
        # per block, its ``size`` contiguous columns (integer sums: the order is free)
        sb[:] = 0
        sq[:] = 0
        sy[:] = 0
        sx[:] = 0
        for j in range(size):
            wj = 2 * j - (size - 1)
            for b in range(nx):
                cj = cs[b * size + j]
                sb[b] += cj
                sq[b] += cq[b * size + j]
                sy[b] += cy[b * size + j]
                sx[b] += wj * cj
        if use_valid:
            cb[:] = 0
            for i in range(size):
                vrow = valid[y0 + i, xa : xa + w]
                for x in range(w):
                    if not vrow[x]:
                        cb[x] += 1
            bad[:] = 0
            for j in range(size):
                for b in range(nx):
                    bad[b] += cb[b * size + j]
        for b in range(nx):
            rss = (n * sq[b] - sb[b] * sb[b]) / n - (sy[b] * sy[b] + sx[b] * sx[b]) / sii4
            rvar[b] = max(rss, 0.0) / (n - 3)
        for b in range(nx):
            if use_valid and bad[b]:
                continue
            keys[k] = _sig_std_key(sb[b] / n, rvar[b], sig_res, eps, std_res, std_bits)
            k += 1
    return keys[:k]


def block_key_counts(
    band: np.ndarray,
    valid: np.ndarray,
    use_valid: bool,
    oys: np.ndarray,
    oxs: np.ndarray,
    size: int,
    sig_res: int,
    eps: float,
    std_res: int,
    std_bits: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sparse 2-D histogram of (signal key, residual-std key) over ``size x size`` blocks.

    Equal (to rounding) to :func:`block_moments` followed by ``symlog_key(mean, sig_res,
    eps)`` and ``log_key(sqrt(rvar), std_res)``: key ``(skey << std_bits) + (tkey + 1)`` for
    every fully valid block of the outer-product grid ``oys x oxs``, without per-block
    statistic arrays. Integer pixels of up to 16 bits use exact int64 sums in one streaming
    pass (blocks must be contiguous along ``x``: ``oxs`` with step ``size``); other dtypes
    use the two-pass float arithmetic of :func:`block_moments`.

    Parameters
    ----------
    band : 2-D ndarray (any real dtype)
    valid : 2-D bool ndarray, read only when ``use_valid`` (else e.g. :data:`NO_MASK`)
    use_valid : bool
    oys, oxs : 1-D int64 ndarrays
        Block origins.
    size : int
        Block edge (>= 3: the plane fit needs 3 dof).
    sig_res, eps, std_res, std_bits :
        Key grids (see :func:`symlog_key`, :func:`log_key`).

    Returns
    -------
    (keys, counts) : 1-D int64 ndarrays, keys sorted and unique
    """
    regular = oxs.size < 2 or bool(np.all(np.diff(oxs) == size))
    if band.dtype.kind in "ui" and band.dtype.itemsize <= 2 and regular:
        kern = _block_keys_int
    else:
        kern = _block_keys_float
    keys = kern(band, valid, use_valid, oys, oxs, size, sig_res, eps, std_res, std_bits)
    dense = packed_key_counts(keys, std_bits)  # O(n) counting when the key range is narrow
    if dense is not None:
        return dense
    keys = np.sort(keys)
    return _run_lengths(keys, np.ones(keys.size, dtype=np.int64))


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


def sparse_merge(
    parts: list[tuple[np.ndarray, np.ndarray]], bits: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Merge sparse ``(keys, counts)`` histograms (keys sorted on output).

    Keys packed as ``(high << bits) + low`` (``bits=0``: plain integers) are counted in a
    dense table over their range when it is narrow (O(n)); otherwise sorted and run-length
    summed. Both give the same keys and counts.
    """
    parts = [p for p in parts if p[0].size]
    if not parts:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    keys = np.concatenate([p[0] for p in parts]).astype(np.int64, copy=False)
    counts = np.concatenate([p[1] for p in parts]).astype(np.int64, copy=False)
    dense = packed_key_counts(keys, bits, counts)
    if dense is not None:
        return dense
    # a stable argsort is a timsort: O(n log k) on k sorted runs (np.unique hashes, ~20x slower)
    order = np.argsort(keys, kind="stable")
    return _run_lengths(keys[order], counts[order])


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
    k = np.sort(
        v.astype(np.int64) if v.dtype.kind in "ui" else symlog_key(v, FLOAT_VALUE_RES, 1e-12)
    )
    return _run_lengths(k, np.ones(k.size, dtype=np.int64))


def core_value_histogram(
    band: np.ndarray, valid: np.ndarray | None, r0: int, r1: int, c0: int, c1: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`value_histogram` of ``band[r0:r1, c0:c1]`` restricted to ``valid`` (None: all).

    For integers of up to 2 bytes it is one numba counting pass over the window (no masked
    copy, no int64 copy: :func:`iqx.kernels.int_histogram.int_value_histogram`); other
    dtypes fall back to :func:`value_histogram`.
    """
    if band.dtype.kind in "ui" and band.dtype.itemsize <= 2:
        return int_value_histogram(band, valid, r0, r1, c0, c1)
    core = band[r0:r1, c0:c1]
    if valid is not None:
        core = core[valid[r0:r1, c0:c1]]
    return value_histogram(core)


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
