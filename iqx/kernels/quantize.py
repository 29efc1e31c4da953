"""Bit-depth reduction of unsigned integer blocks (numba, exact integer arithmetic).

Three rules, for a source of ``B`` bits reduced to ``b`` bits (``b <= B``), ``M = 2**B - 1``
and ``m = 2**b - 1``:

``round`` (default)
    ``q = floor((v * m + M // 2) / M)`` (nearest of the ``2**b`` levels, halves rounded up),
    then rescaled back to the source range: ``out = floor((q * M + m // 2) / m)``. The output
    keeps the source dtype and bit depth and holds only ``2**b`` distinct values spread over
    the full range (``0`` stays ``0``, ``M`` stays ``M``).
``mask``
    ``out = v & ~(2**(B - b) - 1)``: the low bits are cleared, nothing is rescaled
    (IQUAFLOW's ``img & (0xFF << (8 - bits))`` generalised to any ``B``).
``shift``
    ``out = v >> (B - b)``: the values as a ``b``-bit sensor would deliver them (truncation);
    the output's bit depth is ``b``.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["QUANTIZE_MODES", "quantize_block"]

QUANTIZE_MODES = ("round", "mask", "shift")


@ngjit
def _round_rescale(src, src_max, dst_max, out):
    fs = src.ravel()
    fo = out.ravel()
    half_s = src_max // 2
    half_d = dst_max // 2
    for k in range(fs.shape[0]):
        v = np.int64(fs[k])
        if v > src_max:
            v = src_max
        q = (v * dst_max + half_s) // src_max
        fo[k] = (q * src_max + half_d) // dst_max


@ngjit
def _mask(src, keep, out):
    fs = src.ravel()
    fo = out.ravel()
    for k in range(fs.shape[0]):
        fo[k] = np.int64(fs[k]) & keep


@ngjit
def _shift(src, shift, dst_max, out):
    fs = src.ravel()
    fo = out.ravel()
    for k in range(fs.shape[0]):
        v = np.int64(fs[k]) >> shift
        if v > dst_max:
            v = dst_max
        fo[k] = v


def quantize_block(
    block: np.ndarray, *, bits: int, source_bits: int, mode: str = "round", out_dtype=None
) -> np.ndarray:
    """Reduce an unsigned-integer block from ``source_bits`` to ``bits`` (see module doc).

    Values above ``2**source_bits - 1`` are treated as the maximum in ``round`` and ``shift``
    modes.
    """
    block = np.ascontiguousarray(block)
    out = np.empty(block.shape, dtype=out_dtype or block.dtype)
    src_max = (1 << int(source_bits)) - 1
    dst_max = (1 << int(bits)) - 1
    if mode == "round":
        _round_rescale(block, np.int64(src_max), np.int64(dst_max), out)
    elif mode == "mask":
        keep = ~np.int64((1 << (int(source_bits) - int(bits))) - 1)
        _mask(block, keep, out)
    elif mode == "shift":
        _shift(block, np.int64(int(source_bits) - int(bits)), np.int64(dst_max), out)
    else:  # pragma: no cover - validated by the modifier
        raise ValueError(f"unknown quantize mode {mode!r}")
    return out
