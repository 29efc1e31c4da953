"""Exact value histograms of small-integer pixels (<= 16 bits) over a window, in numba.

The SNR methods need the median DN of the valid pixels of every chunk's core. For 8- and
16-bit integers the histogram is exact: four interleaved count tables over the dtype's
range (so that runs of equal neighbouring values do not serialise on one counter), read
out as sparse ``(values, counts)`` by the same kernel, which zeroes the counters it used.
The tables (65536 x 4 uint32 for 16 bits, 1 MB) are kept per thread: a fresh table per
chunk costs its page faults and zeroing, and a separate ``flatnonzero`` pass, every time.
"""

from __future__ import annotations

import threading

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["count_row", "int_value_histogram", "read_out", "tables"]

#: pixels per kernel call: each of the four uint32 tables counts at most a quarter of them
_MAX_PIXELS = 1 << 31


@ngjit
def _count_into(t, band, valid, use_valid, r0, r1, c0, c1, off):
    """Add the window's (valid) pixels to the all-zero tables ``t`` (value ``v`` at column
    ``v + off``), then read the sparse ``(values, counts)`` out, zeroing ``t`` again."""
    for i in range(r0, r1):
        count_row(t, band[i, c0:c1], valid[i, c0:c1] if use_valid else valid[0], use_valid, off)
    return read_out(t, off)


@ngjit
def read_out(t, off):
    """The sparse ``(values, counts)`` of count tables ``t`` (value ``v`` at column
    ``v + off``), zeroing the counters it reads (the tables end all-zero)."""
    m = 0
    for k in range(t.shape[1]):
        m += (t[0, k] | t[1, k] | t[2, k] | t[3, k]) != 0
    keys = np.empty(m, dtype=np.int64)
    counts = np.empty(m, dtype=np.int64)
    m = 0
    for k in range(t.shape[1]):
        c = np.int64(t[0, k]) + np.int64(t[1, k]) + np.int64(t[2, k]) + np.int64(t[3, k])
        if c:
            keys[m] = k - off
            counts[m] = c
            m += 1
            t[0, k] = 0
            t[1, k] = 0
            t[2, k] = 0
            t[3, k] = 0
    return keys, counts


@ngjit
def count_row(t, row, vrow, use_valid, off):
    """Add one row of pixels (where ``vrow``, if ``use_valid``) to the tables ``t``.

    Columns are unsigned (``v + off >= 0``), so numba adds no negative-index wraparound
    to the scatter (a runtime ``off`` otherwise costs 60 % more time).
    """
    w = row.shape[0]
    if use_valid:
        for j in range(w):
            if vrow[j]:
                t[j & 3, np.uintp(np.intp(row[j]) + off)] += 1
        return
    j = 0
    while j + 4 <= w:
        t[0, np.uintp(np.intp(row[j]) + off)] += 1
        t[1, np.uintp(np.intp(row[j + 1]) + off)] += 1
        t[2, np.uintp(np.intp(row[j + 2]) + off)] += 1
        t[3, np.uintp(np.intp(row[j + 3]) + off)] += 1
        j += 4
    while j < w:
        t[0, np.uintp(np.intp(row[j]) + off)] += 1
        j += 1


_LOCAL = threading.local()


def tables(nbins: int) -> np.ndarray:
    """This thread's all-zero ``(4, nbins)`` uint32 count tables (kept between calls: a
    fresh 1 MB table per chunk costs its page faults and zeroing every time)."""
    pool = getattr(_LOCAL, "tables", None)
    if pool is None:
        pool = _LOCAL.tables = {}
    t = pool.get(nbins)
    if t is None:
        t = pool[nbins] = np.zeros((4, nbins), dtype=np.uint32)
    return t


def int_value_histogram(
    band: np.ndarray, valid: np.ndarray | None, r0: int, r1: int, c0: int, c1: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact histogram of ``band[r0:r1, c0:c1]`` (integers of <= 16 bits) where ``valid``.

    Parameters
    ----------
    band : 2-D ndarray of (u)int8 or (u)int16
    valid : 2-D bool ndarray of the same shape, or None (every pixel valid)
    r0, r1, c0, c1 : int
        The window.

    Returns
    -------
    (values, counts) : 1-D int64 ndarrays
        The distinct values, ascending, and how many valid pixels hold each.
    """
    use = valid is not None
    vmask = valid if use else np.ones((1, 1), dtype=np.bool_)
    nbins = 1 << (8 * band.dtype.itemsize)
    off = -int(np.iinfo(band.dtype).min)
    t = tables(nbins)
    step = max(1, _MAX_PIXELS // max(c1 - c0, 1))  # rows per call: < 2**31 pixels
    parts = [
        _count_into(t, band, vmask, use, s0, min(r1, s0 + step), c0, c1, off)
        for s0 in range(r0, max(r1, r0 + 1), step)
    ]
    if len(parts) == 1:
        return parts[0]
    keys = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    uk, inv = np.unique(keys, return_inverse=True)
    return uk, np.bincount(inv, weights=counts, minlength=uk.size).astype(np.int64)
