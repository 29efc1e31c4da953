"""Block statistics of IQUAFLOW's homogeneous-blocks (``hb``) SNR, in numba.

``hb`` takes the global median DN, then the sample stds of the blocks whose rounded mean
equals it. :func:`hb_block_stds` is the chunk step of the scalable two-pass reduction; for
an in-memory band :func:`hb_histogram_sums` reads the pixels once for both the value
histogram (hence the median) and every block's exact sum, and :func:`hb_select_stds`
then only revisits the few blocks at the median (the same floating-point operations as
:func:`hb_block_stds`, so the same stds in the same order).
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit
from iqx.kernels.int_histogram import count_row, read_out, tables

__all__ = [
    "INVALID_SUM",
    "hb_block_stds",
    "hb_histogram_sums",
    "hb_select_stds",
    "int_blocks",
    "mean_std",
    "pairwise_sum",
    "sigmaclip",
]

#: :func:`hb_block_sums` of a block holding an invalid pixel
INVALID_SUM = np.iinfo(np.int64).min


def int_blocks(band: np.ndarray, oxs: np.ndarray, size: int) -> bool:
    """True when the exact integer kernels apply: pixels of <= 16-bit integers and blocks
    contiguous along ``x`` (``oxs`` with step ``size``)."""
    regular = oxs.size < 2 or bool(np.all(np.diff(oxs) == size))
    return band.dtype.kind in "ui" and band.dtype.itemsize <= 2 and regular


def hb_block_stds(
    band: np.ndarray,
    valid: np.ndarray,
    use_valid: bool,
    oys: np.ndarray,
    oxs: np.ndarray,
    size: int,
    target: float,
) -> np.ndarray:
    """Sample stds (ddof=1) of the fully valid blocks whose ``rint(mean) == target``.

    Equal to ``sqrt(var[ok & (rint(mean) == target)])`` of :func:`block_moments`, in
    row-major block order, without per-block arrays. Integer pixels of up to 16 bits on
    contiguous blocks (``oxs`` with step ``size``) select blocks from exact int64 column
    sums in one streaming pass and compute the std only for the selected ones; the block
    mean (``sum / n``) and the two-pass std are the same floating-point operations as in
    the general kernel, so the result is identical.
    """
    if int_blocks(band, oxs, size):
        return _hb_block_stds_int(band, valid, use_valid, oys, oxs, size, target)
    return _hb_block_stds_float(band, valid, use_valid, oys, oxs, size, target)


@ngjit
def _hb_stds_one(band, y0, x0, size, m):
    """``sqrt(sum((v - m)**2) / (n - 1))`` of one block (NaN for 1-pixel blocks)."""
    n = size * size
    ss = 0.0
    for i in range(size):
        for j in range(size):
            d = band[y0 + i, x0 + j] - m
            ss += d * d
    return np.sqrt(ss / (n - 1)) if n > 1 else np.nan


@ngjit
def _hb_block_stds_int(band, valid, use_valid, oys, oxs, size, target):
    ny = oys.shape[0]
    nx = oxs.shape[0]
    out = np.empty(ny * nx)
    if ny == 0 or nx == 0:
        return out
    xa = oxs[0]
    w = nx * size
    cs = np.empty(w, np.int64)
    cb = np.zeros(w, np.int64)
    n = size * size
    k = 0
    for a in range(ny):
        y0 = oys[a]
        cs[:] = 0
        for i in range(size):
            row = band[y0 + i, xa : xa + w]
            for x in range(w):
                cs[x] += np.int64(row[x])
        if use_valid:
            cb[:] = 0
            for i in range(size):
                vrow = valid[y0 + i, xa : xa + w]
                for x in range(w):
                    if not vrow[x]:
                        cb[x] += 1
        for b in range(nx):
            base = b * size
            if use_valid:
                bad = 0
                for j in range(size):
                    bad += cb[base + j]
                if bad:
                    continue
            tot = np.int64(0)
            for j in range(size):
                tot += cs[base + j]
            m = tot / n  # == the float sum / n of the general kernel (exact below 2**53)
            if np.rint(m) != target:
                continue
            out[k] = _hb_stds_one(band, y0, xa + base, size, m)
            k += 1
    return out[:k].copy()


@ngjit
def _hb_block_stds_float(band, valid, use_valid, oys, oxs, size, target):
    ny = oys.shape[0]
    nx = oxs.shape[0]
    out = np.empty(ny * nx)
    n = size * size
    k = 0
    for a in range(ny):
        y0 = oys[a]
        for b in range(nx):
            x0 = oxs[b]
            good = True
            tot = 0.0
            for i in range(size):
                for j in range(size):
                    if use_valid and not valid[y0 + i, x0 + j]:
                        good = False
                        break
                    tot += band[y0 + i, x0 + j]
                if not good:
                    break
            if not good:
                continue
            m = tot / n
            if np.rint(m) != target:
                continue
            out[k] = _hb_stds_one(band, y0, x0, size, m)
            k += 1
    return out[:k].copy()


@ngjit
def _hist_sums(t, band, valid, use_valid, oys, oxs, size, off):
    ny = oys.shape[0]
    nx = oxs.shape[0]
    sums = np.empty((ny, nx), np.int64)
    xa = oxs[0] if nx else 0
    w = nx * size
    cs = np.zeros(w, np.int32)  # < size**2 * 2**16 < 2**31 (checked by the caller)
    cb = np.zeros(w, np.int32)
    y_first = oys[0] if ny else band.shape[0]
    y_end = y_first + ny * size
    for i in range(y_first):  # rows above the first block row, then below the last one
        count_row(t, band[i], valid[i] if use_valid else valid[0], use_valid, off)
    for i in range(y_end, band.shape[0]):
        count_row(t, band[i], valid[i] if use_valid else valid[0], use_valid, off)
    for a in range(ny):
        cs[:] = 0
        if use_valid:
            cb[:] = 0
        for i in range(oys[a], oys[a] + size):
            count_row(t, band[i], valid[i] if use_valid else valid[0], use_valid, off)
            row = band[i, xa : xa + w]
            for x in range(w):
                cs[x] += np.int32(row[x])
            if use_valid:
                vrow = valid[i, xa : xa + w]
                for x in range(w):
                    if not vrow[x]:
                        cb[x] += 1
        o = sums[a]  # block sums column by column: a strided, vectorised loop
        o[:] = 0
        for j in range(size):
            for b in range(nx):
                o[b] += cs[b * size + j]
        if use_valid:
            for b in range(nx):
                bad = 0
                for j in range(b * size, b * size + size):
                    bad += cb[j]
                if bad:
                    o[b] = INVALID_SUM
    keys, counts = read_out(t, off)
    return keys, counts, sums


def hb_histogram_sums(
    band: np.ndarray,
    valid: np.ndarray,
    use_valid: bool,
    oys: np.ndarray,
    oxs: np.ndarray,
    size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The value histogram of a whole band and the exact sums of its blocks, in one pass.

    For integer pixels of <= 16 bits on a contiguous block grid (``oys`` and ``oxs`` with
    step ``size``, :func:`int_blocks`, ``size <= 181``: int32 column sums) and fewer than
    2**32 pixels; None otherwise.

    Returns
    -------
    (values, counts, sums)
        The :func:`iqx.kernels.int_histogram.int_value_histogram` of the (valid) pixels,
        and the int64 sums of the ``(len(oys), len(oxs))`` blocks, :data:`INVALID_SUM` for
        a block with an invalid pixel (read by :func:`hb_select_stds`).
    """
    regular_y = oys.size < 2 or bool(np.all(np.diff(oys) == size))
    if not (int_blocks(band, oxs, size) and regular_y) or band.size >= 1 << 32 or size > 181:
        return None
    t = tables(1 << (8 * band.dtype.itemsize))
    off = -int(np.iinfo(band.dtype).min)
    return _hist_sums(t, band, valid, use_valid, oys, oxs, size, off)


@ngjit
def hb_select_stds(band, sums, oys, oxs, size, target):
    """:func:`hb_block_stds` from the block sums of :func:`hb_histogram_sums`.

    Parameters
    ----------
    band : 2-D ndarray of integers (<= 16 bits)
    sums : 2-D int64 ndarray from :func:`hb_histogram_sums`
    oys, oxs : 1-D int64 ndarrays
        The block origins ``sums`` was computed on.
    size : int
    target : float
        The median DN.

    Returns
    -------
    numpy.ndarray of float64
        Sample stds (ddof=1) of the valid blocks with ``rint(mean) == target``, row-major.
    """
    n = size * size
    out = np.empty(sums.size)
    # rint(tot / n) == target needs |tot - n * target| <= n / 2: an exact integer
    # pre-test (with a margin) skips the division for almost every block
    lo = np.int64(np.floor(n * target)) - n
    hi = np.int64(np.ceil(n * target)) + n
    k = 0
    for a in range(oys.shape[0]):
        row = sums[a]
        for b in range(oxs.shape[0]):
            tot = row[b]
            if tot < lo or tot > hi or tot == INVALID_SUM:
                continue
            m = tot / n
            if np.rint(m) != target:
                continue
            out[k] = _hb_stds_one(band, oys[a], oxs[b], size, m)
            k += 1
    return out[:k].copy()


@ngjit
def _pairwise_leaf(a, lo, n):
    """NumPy's ``pairwise_sum`` of at most 128 values (no split)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0 = a[lo]
    r1 = a[lo + 1]
    r2 = a[lo + 2]
    r3 = a[lo + 3]
    r4 = a[lo + 4]
    r5 = a[lo + 5]
    r6 = a[lo + 6]
    r7 = a[lo + 7]
    end = lo + n - (n % 8)
    i = lo + 8
    while i < end:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < lo + n:
        res += a[i]
        i += 1
    return res


@ngjit
def pairwise_sum(a, lo, n):
    """``numpy.add.reduce(a[lo:lo + n])`` (minus its leading ``0.0 +``) of a 1-D float64
    array, bit for bit.

    NumPy sums a contiguous float64 array with its pairwise algorithm (``pairwise_sum`` in
    ``loops_utils.h``): fewer than 8 values in order from 0.0; up to 128 with 8 interleaved
    partial sums combined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`` and the
    remainder added in order; longer runs split at half (rounded down to a multiple of 8),
    ``left + right``. The same operations in the same order give the same value (checked
    against NumPy in the tests for many lengths, beyond its 8192-element buffer too). The
    recursion is unrolled with explicit stacks (numba's cache mishandles recursion).
    """
    if n <= 128:
        return _pairwise_leaf(a, lo, n)
    los = np.empty(64, np.int64)
    ns = np.empty(64, np.int64)
    state = np.empty(64, np.int64)
    vals = np.empty(64)
    los[0] = lo
    ns[0] = n
    state[0] = 0
    sp = 1
    vsp = 0
    while sp > 0:
        top = sp - 1
        m = ns[top]
        if m <= 128:
            vals[vsp] = _pairwise_leaf(a, los[top], m)
            vsp += 1
            sp -= 1
            continue
        n2 = m // 2
        n2 -= n2 % 8
        if state[top] == 0:
            state[top] = 1
            los[sp] = los[top]
            ns[sp] = n2
            state[sp] = 0
            sp += 1
        elif state[top] == 1:
            state[top] = 2
            los[sp] = los[top] + n2
            ns[sp] = m - n2
            state[sp] = 0
            sp += 1
        else:
            vals[vsp - 2] = vals[vsp - 2] + vals[vsp - 1]
            vsp -= 1
            sp -= 1
    return vals[0]


@ngjit
def mean_std(a, tmp):
    """``(numpy.mean(a), numpy.std(a))`` of a non-empty 1-D float64 array, bit for bit
    (NumPy's operations: pairwise sum / n, then the pairwise sum of the squared
    deviations / n and its square root); ``tmp`` is scratch of at least ``a.size``."""
    n = a.shape[0]
    mean = (0.0 + pairwise_sum(a, 0, n)) / n
    for i in range(n):
        d = a[i] - mean
        tmp[i] = d * d
    return mean, np.sqrt((0.0 + pairwise_sum(tmp, 0, n)) / n)


@ngjit
def sigmaclip(a, low, high):
    """:func:`scipy.stats.sigmaclip`'s ``clipped`` of a 1-D float64 array, bit for bit.

    Iterates ``keep mean - low * std <= c <= mean + high * std`` until nothing is removed,
    with NumPy's mean and std (:func:`mean_std`), in place on one copy: tens of passes
    over a few thousand values take microseconds here, against ~8 us of NumPy dispatch
    per pass.
    """
    c = a.copy()
    tmp = np.empty_like(c)
    n = c.shape[0]
    while n > 0:
        mean, std = mean_std(c[:n], tmp)
        lo = mean - std * low
        hi = mean + std * high
        k = 0
        for i in range(n):
            v = c[i]
            if v >= lo and v <= hi:
                c[k] = v
                k += 1
        if k == n:
            break
        n = k
    return c[:n].copy()
