"""Counting sorted unique int64 keys without sorting them (dense table over their range).

The SNR ``blocks`` method reduces each chunk to a sparse 2-D histogram of packed keys
``(signal_key << std_bits) + std_key``. Within one chunk both parts span a narrow range,
so a dense count table over ``[min, max]`` of each part replaces ``np.sort`` + run
lengths (O(n log n), most of the chunk's time) by two O(n) passes. The output is the same:
keys ascending and unique, with their counts.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["packed_key_counts"]

#: Largest dense table (cells) before falling back to sorting.
MAX_TABLE = 1 << 22


@ngjit
def _ranges(keys: np.ndarray, bits: int) -> tuple[int, int, int, int]:
    lo_mask = (np.int64(1) << bits) - 1
    hmin = np.iinfo(np.int64).max
    hmax = np.iinfo(np.int64).min
    lmin = np.iinfo(np.int64).max
    lmax = np.iinfo(np.int64).min
    for i in range(keys.shape[0]):
        k = keys[i]
        h = k >> bits
        lo = k & lo_mask
        hmin = min(hmin, h)
        hmax = max(hmax, h)
        lmin = min(lmin, lo)
        lmax = max(lmax, lo)
    return hmin, hmax, lmin, lmax


@ngjit
def _dense_counts(
    keys: np.ndarray,
    weights: np.ndarray,
    use_weights: bool,
    bits: int,
    hmin: int,
    nh: int,
    lmin: int,
    nl: int,
) -> tuple[np.ndarray, np.ndarray]:
    lo_mask = (np.int64(1) << bits) - 1
    table = np.zeros(nh * nl, np.int64)
    for i in range(keys.shape[0]):
        k = keys[i]
        table[((k >> bits) - hmin) * nl + ((k & lo_mask) - lmin)] += (
            weights[i] if use_weights else 1
        )
    n = 0
    for t in range(table.shape[0]):
        if table[t]:
            n += 1
    out_k = np.empty(n, np.int64)
    out_c = np.empty(n, np.int64)
    j = 0
    for t in range(table.shape[0]):
        if table[t]:
            out_k[j] = ((t // nl + hmin) << bits) + (t % nl + lmin)
            out_c[j] = table[t]
            j += 1
    return out_k, out_c


def packed_key_counts(
    keys: np.ndarray, bits: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Unique keys (ascending) and their counts, for keys ``(high << bits) + low`` with
    ``0 <= low < 2**bits``; None when the dense table would be too large (sort instead).

    Parameters
    ----------
    keys : 1-D int64 ndarray
        Packed keys (unsorted, repeats allowed).
    bits : int
        Width of the low part (0: plain integer keys).
    weights : 1-D int64 ndarray, optional
        Count of each key (default 1 each): merging sparse histograms.

    Returns
    -------
    (keys, counts) or None
    """
    if keys.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    hmin, hmax, lmin, lmax = _ranges(keys, bits)
    nh = int(hmax - hmin + 1)
    nl = int(lmax - lmin + 1)
    if nh * nl > min(MAX_TABLE, 8 * keys.size + 4096):
        return None
    use_weights = weights is not None
    w = np.asarray(weights, dtype=np.int64) if use_weights else keys
    return _dense_counts(keys, w, use_weights, bits, hmin, nh, lmin, nl)
