"""Separable Gaussian blur (numba), bit-compatible with ``scipy.ndimage.gaussian_filter``.

The kernel works on a block that already carries a halo of ``gaussian_radius(sigma)`` pixels
on each side of ``y`` and ``x`` (filled by the parallel layer with SciPy's ``reflect``
extension), and computes the blurred core. The weights and the summation order follow
SciPy's ``correlate1d`` for symmetric kernels (centre tap first, then symmetric pairs from
the outermost inwards, accumulated in float64) and the axes are filtered in SciPy's order (``y`` then ``x``), so the
result equals ``gaussian_filter(image, sigma=(0, s, s), mode="reflect", truncate=4.0)`` for
float input. Integer input is filtered in float64 without intermediate rounding and then
rounded half to even and clipped to ``[lo, hi]`` (SciPy instead truncates after each axis).
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = [
    "gaussian_blur_block",
    "gaussian_radius",
    "gaussian_weights",
    "rer_from_sigma",
    "sigma_from_rer",
]


def gaussian_radius(sigma: float, truncate: float = 4.0) -> int:
    """Half-width of the kernel: ``int(truncate * sigma + 0.5)`` (SciPy's rule)."""
    return int(truncate * float(sigma) + 0.5)


def gaussian_weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """Normalised 1-D Gaussian weights ``w[0..radius]`` (centre first), as SciPy builds them."""
    radius = gaussian_radius(sigma, truncate)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (float(sigma) ** 2) * x.astype(np.float64) ** 2)
    phi /= phi.sum()
    return np.ascontiguousarray(phi[radius:])


def rer_from_sigma(sigma: float) -> float:
    """Relative edge response of a Gaussian PSF: ``erf(1 / (2 sqrt(2) sigma))``.

    The edge spread function of a Gaussian LSF of width ``sigma`` px is
    ``0.5 (1 + erf(x / (sqrt(2) sigma)))``; RER is its rise between ``x = -0.5`` and ``+0.5``.
    ``sigma = 0`` gives 1.
    """
    if sigma <= 0:
        return 1.0
    return math.erf(1.0 / (2.0 * math.sqrt(2.0) * sigma))


def sigma_from_rer(rer: float) -> float:
    """Inverse of :func:`rer_from_sigma` for ``0 < rer < 1`` (bisection to 1e-12)."""
    lo, hi = 1e-9, 1e6
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if rer_from_sigma(mid) > rer:
            lo = mid
        else:
            hi = mid
        if hi / lo - 1.0 < 1e-13:
            break
    return math.sqrt(lo * hi)


@ngjit
def _blur_y(src, w, out):
    # src: (ny, nx) padded; out: (ny - 2r, nx) rows of the core
    r = w.shape[0] - 1
    ny_out = out.shape[0]
    nx = src.shape[1]
    acc = np.empty(nx, dtype=np.float64)
    for i in range(ny_out):
        c = i + r
        for x in range(nx):
            acc[x] = src[c, x] * w[0]
        for j in range(r, 0, -1):
            wj = w[j]
            for x in range(nx):
                acc[x] += (src[c + j, x] + np.float64(src[c - j, x])) * wj
        for x in range(nx):
            out[i, x] = acc[x]


@ngjit
def _blur_x(src, w, out):
    # src: (ny, nx) padded along x; out: (ny, nx - 2r)
    r = w.shape[0] - 1
    ny = src.shape[0]
    nx_out = out.shape[1]
    acc = np.empty(nx_out, dtype=np.float64)
    for i in range(ny):
        for x in range(nx_out):
            acc[x] = src[i, x + r] * w[0]
        for j in range(r, 0, -1):
            wj = w[j]
            for x in range(nx_out):
                acc[x] += (src[i, x + r + j] + np.float64(src[i, x + r - j])) * wj
        for x in range(nx_out):
            out[i, x] = acc[x]


@ngjit
def _round_clip(src, out, lo, hi):
    ny, nx = src.shape
    for i in range(ny):
        for x in range(nx):
            v = np.rint(src[i, x])
            if v < lo:
                v = lo
            elif v > hi:
                v = hi
            out[i, x] = v


def gaussian_blur_block(
    block: np.ndarray,
    *,
    sigma: float,
    truncate: float = 4.0,
    lo: float = 0.0,
    hi: float = 0.0,
) -> np.ndarray:
    """Blur the core of a halo-padded ``(band, y, x)`` block.

    Parameters
    ----------
    block : numpy.ndarray
        Block with ``gaussian_radius(sigma, truncate)`` halo pixels on each side of ``y`` and
        ``x``.
    sigma : float
        Standard deviation in pixels (``0`` returns the block unchanged).
    truncate : float
        Kernel half-width in standard deviations.
    lo, hi : float
        Clipping range of integer outputs (ignored for floats).

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as ``block``; the halo ring is zero and meant to be trimmed.
    """
    if sigma == 0:
        return block.copy()
    w = gaussian_weights(sigma, truncate)
    r = w.shape[0] - 1
    nb, ny, nx = block.shape
    out = np.zeros_like(block)
    if ny <= 2 * r or nx <= 2 * r:
        return out
    is_float = np.issubdtype(block.dtype, np.floating)
    inter_dtype = block.dtype if is_float else np.float64
    tmp = np.empty((ny - 2 * r, nx), dtype=inter_dtype)
    res = None if is_float else np.empty((ny - 2 * r, nx - 2 * r), dtype=inter_dtype)
    for b in range(nb):
        _blur_y(np.ascontiguousarray(block[b]), w, tmp)
        core = out[b, r : ny - r, r : nx - r]  # written in place: no per-band temporaries
        if res is None:
            _blur_x(tmp, w, core)
        else:
            _blur_x(tmp, w, res)
            _round_clip(res, core, float(lo), float(hi))
    return out
