"""Additive Gaussian noise on one block (numba).

The random numbers are drawn by the caller (one seeded generator per chunk, see
:func:`iqx.parallel.block_rng`) and passed in as a standard-normal array, so this kernel is
deterministic and knows nothing about seeding or chunking.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["add_noise_block", "snr_noise_sigma"]


@ngjit
def _add_int(src, z, sigma, lo, hi, out):
    flat_s = src.ravel()
    flat_z = z.ravel()
    flat_o = out.ravel()
    for k in range(flat_s.shape[0]):
        v = np.rint(flat_s[k] + sigma * np.float64(flat_z[k]))
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        flat_o[k] = v


@ngjit
def _add_float(src, z, sigma, out):
    flat_s = src.ravel()
    flat_z = z.ravel()
    flat_o = out.ravel()
    for k in range(flat_s.shape[0]):
        flat_o[k] = flat_s[k] + sigma * flat_z[k]


def add_noise_block(
    block: np.ndarray, z: np.ndarray, *, sigma: float, lo: float = 0.0, hi: float = 0.0
) -> np.ndarray:
    """Return ``block + sigma * z`` in ``block``'s dtype.

    Integer blocks are computed in float64, rounded half to even and clipped to
    ``[lo, hi]``; float blocks are not clipped.

    Parameters
    ----------
    block : numpy.ndarray
        Input values.
    z : numpy.ndarray
        Standard-normal draws of the same shape.
    sigma : float
        Noise standard deviation in the block's units (DN).
    lo, hi : float
        Clipping range for integer dtypes.
    """
    block = np.ascontiguousarray(block)
    z = np.ascontiguousarray(z)
    out = np.empty_like(block)
    if np.issubdtype(block.dtype, np.floating):
        _add_float(block, z.astype(block.dtype, copy=False), block.dtype.type(sigma), out)
    else:
        _add_int(block, z, float(sigma), float(lo), float(hi), out)
    return out


def snr_noise_sigma(mean: float, snr: float, initial_snr: float | None = None) -> float:
    """Noise sigma to add so that ``mean / sigma_total`` equals ``snr``.

    ``sigma_add = sqrt((mean / snr)**2 - (mean / initial_snr)**2)`` (IQUAFLOW's SNR modifier,
    with independent noises adding in quadrature); ``initial_snr=None`` treats the input as
    noise-free. Returns 0 when the input is already at or below the target SNR.
    """
    target = (mean / snr) ** 2
    existing = 0.0 if initial_snr is None else (mean / initial_snr) ** 2
    return float(np.sqrt(target - existing)) if target > existing else 0.0
