"""Optical transfer functions of an imaging chain (pure NumPy) and the PSF kernel they imply.

Equations of the *Image-Based Sensor Model* (IBSM, Eismann et al.), as parameterised by
pyBSM (``pybsm.otf.functional``) so its users recognise them: frequencies ``u``, ``v`` are **angular** spatial frequencies in cycles per radian
(``rad^-1``), lengths in metres. Every function is vectorised over arrays ``u``, ``v`` of any
(equal) shape; nothing here imports dask, xarray or pyBSM (the values are checked against
pyBSM 0.16.1 in ``tests/test_modifiers/test_sensor_otf.py``).

:func:`psf_kernel` turns an OTF sampled on the pixel-frequency grid into the real, centred,
truncated, unit-sum convolution kernel that :func:`convolve_block` applies to a block with
its halo (the support radius of the kernel *is* the halo).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "circular_aperture_otf",
    "coherence_diameter_constant_cn2",
    "convolve_block",
    "defocus_otf",
    "defocus_radius",
    "detector_otf",
    "jitter_otf",
    "psf_kernel",
    "turbulence_otf",
    "weighted_by_wavelength",
]


def _cap(x: np.ndarray) -> np.ndarray:
    """Area function ``(2/pi) (acos x - x sqrt(1 - x^2))`` for ``|x| <= 1``, 0 beyond."""
    xc = np.clip(np.abs(x), 0.0, 1.0)
    val = (2.0 / math.pi) * (np.arccos(xc) - xc * np.sqrt(1.0 - xc * xc))
    return np.where(np.abs(x) <= 1.0, val, 0.0)


def circular_aperture_otf(
    u: np.ndarray, v: np.ndarray, lambda0: float, D: float, eta: float = 0.0
) -> np.ndarray:
    """Diffraction OTF of a circular aperture with a central obscuration (IBSM eq. 3-20).

    Parameters
    ----------
    u, v : ndarray
        Angular spatial frequencies (cycles / rad).
    lambda0 : float
        Wavelength (m).
    D : float
        Aperture diameter (m); the cutoff is ``D / lambda0`` cycles / rad.
    eta : float
        Linear obscuration ratio in ``[0, 1)`` (0: unobscured).

    Returns
    -------
    ndarray
        The (real, non-negative) OTF, 1 at zero frequency.
    """
    u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
    r0 = D / lambda0
    rho = np.hypot(u, v)
    rt = rho / r0
    a = _cap(rt)
    if eta <= 0.0:
        return a
    e2 = eta * eta
    b = e2 * _cap(rt / eta)
    c1 = -2.0 * e2 * (rho < (1.0 - eta) * r0 / 2.0)
    inner = (1.0 + e2 - (2.0 * rt) ** 2) / 2.0 / eta
    ok = (np.abs(inner) <= 1.0) & (rho <= (1.0 + eta) * r0 / 2.0)
    phi = np.arccos(np.clip(inner, -1.0, 1.0))
    c2 = (
        2.0 * eta * np.sin(phi) / math.pi
        + (1.0 + e2) * phi / math.pi
        - 2.0 * e2
        - (2.0 * (1.0 - e2) / math.pi) * np.arctan((1.0 + eta) * np.tan(phi / 2.0) / (1.0 - eta))
    )
    return (a + b + c1 + np.where(ok, c2, 0.0)) / (1.0 - e2)


def detector_otf(u: np.ndarray, v: np.ndarray, w_x: float, w_y: float, f: float) -> np.ndarray:
    """Detector footprint OTF ``sinc(w_x u / f) sinc(w_y v / f)`` (IBSM eq. 3-36, simplified).

    ``w_x``, ``w_y`` are the detector widths (m; the pitch for a 100 % fill factor), ``f``
    the focal length (m); ``np.sinc`` is the normalised sinc.
    """
    return np.sinc(w_x / f * np.asarray(u)) * np.sinc(w_y / f * np.asarray(v))


def jitter_otf(u: np.ndarray, v: np.ndarray, s_x: float, s_y: float) -> np.ndarray:
    """High-frequency line-of-sight jitter ``exp(-2 pi^2 (s_x^2 u^2 + s_y^2 v^2))`` (eq. 3-28).

    ``s_x``, ``s_y`` are RMS jitter amplitudes (rad).
    """
    u, v = np.asarray(u), np.asarray(v)
    return np.exp(-2.0 * math.pi**2 * (s_x**2 * u**2 + s_y**2 * v**2))


def defocus_radius(D: float, dz: float, f: float) -> float:
    """1/e blur-spot radius (rad) of an axial defocus ``dz`` (m) in the image (eq. 3-27)."""
    return 0.62 * D * dz / f**2


def defocus_otf(u: np.ndarray, v: np.ndarray, w_x: float, w_y: float) -> np.ndarray:
    """Gaussian defocus OTF ``exp(-pi^2/4 (w_x^2 u^2 + w_y^2 v^2))`` (IBSM eq. 3-25).

    ``w_x``, ``w_y`` are 1/e blur-spot radii (rad), e.g. from :func:`defocus_radius`.
    """
    u, v = np.asarray(u), np.asarray(v)
    return np.exp(-(math.pi**2) / 4.0 * (w_x**2 * u**2 + w_y**2 * v**2))


def turbulence_otf(
    u: np.ndarray, v: np.ndarray, lambda0: float, D: float, r0: float, alpha: float = 0.0
) -> np.ndarray:
    """Atmospheric turbulence OTF (IBSM eq. 3-3), long (``alpha=0``) or short (0.5) exposure.

    ``exp(-3.44 (lambda0 rho / r0)^(5/3) (1 - alpha (lambda0 rho / D)^(1/3)))`` with ``r0``
    Fried's coherence diameter (m) at ``lambda0``.
    """
    rho = np.hypot(np.asarray(u, np.float64), np.asarray(v, np.float64))
    return np.exp(
        -3.44 * (lambda0 * rho / r0) ** (5.0 / 3.0) * (1.0 - alpha * (lambda0 * rho / D) ** (1 / 3))
    )


def coherence_diameter_constant_cn2(lambda0: float, cn2: float, path_length: float) -> float:
    """Fried's ``r0`` (m, spherical wave) for a constant ``cn2`` (m^-2/3) along a path (m).

    pyBSM's ``coherence_diameter`` integrates ``cn2 (z / L)^(5/3)`` along the path numerically;
    for a constant ``cn2`` the integral is ``3 L cn2 / 8``, so
    ``r0 = (0.423 k^2 cn2 3 L / 8)^(-3/5)`` with ``k = 2 pi / lambda0``.
    """
    k = 2.0 * math.pi / lambda0
    return (0.423 * k * k * cn2 * 3.0 * path_length / 8.0) ** (-3.0 / 5.0)


def weighted_by_wavelength(
    wavelengths: Sequence[float],
    weights: Sequence[float] | None,
    func: Callable[[float], np.ndarray],
) -> np.ndarray:
    """``sum_i w_i func(lambda_i) / sum_i w_i`` (uniform weights when ``weights`` is None)."""
    lam = np.asarray(wavelengths, np.float64)
    w = np.ones_like(lam) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    out = w[0] * np.asarray(func(float(lam[0])), np.float64)
    for li, wi in zip(lam[1:], w[1:], strict=True):
        out = out + wi * np.asarray(func(float(li)), np.float64)
    return out


def psf_kernel(
    otf_of: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    tol: float = 1e-3,
    max_radius: int = 256,
) -> tuple[np.ndarray, int]:
    """Real, centred, unit-sum PSF kernel of an OTF given in cycles per (input) pixel.

    The OTF is sampled on an ``n x n`` DFT grid (``n = max(256, 4 max_radius)`` rounded to a
    power of two), inverse-transformed (the sampled, i.e. aliased, PSF of the discrete
    image) and truncated to the smallest square of radius ``R`` whose renormalised
    transfer function differs from the sampled OTF by at most ``tol`` at every frequency
    of the grid (the PSF of a circular aperture decays as ``r^-3``: an absolute-mass
    criterion would need far larger kernels for the same OTF accuracy). ``R`` is the halo
    of the tiled convolution; it stops at ``max_radius``.

    Parameters
    ----------
    otf_of : callable
        ``otf_of(fy, fx)`` on arrays of frequencies in cycles / pixel, in ``[-0.5, 0.5)``.
    tol : float
        Largest absolute difference between the kernel's transfer function and the OTF.
    max_radius : int
        Largest radius allowed.

    Returns
    -------
    kernel : ndarray
        ``(2R + 1, 2R + 1)`` float64 kernel, rows along ``y``.
    radius : int
        ``R``.
    """
    n = 256
    while n < 4 * max_radius:
        n *= 2
    f = np.fft.fftfreq(n)
    otf = np.asarray(otf_of(f[:, None], f[None, :]), np.float64)
    psf = np.fft.fftshift(np.real(np.fft.ifft2(otf)))
    c = n // 2
    radius = 1
    while True:
        k = psf[c - radius : c + radius + 1, c - radius : c + radius + 1]
        k = k / k.sum()
        if radius >= max_radius:
            break
        padded = np.zeros((n, n))
        padded[c - radius : c + radius + 1, c - radius : c + radius + 1] = k
        h = np.fft.fft2(np.fft.ifftshift(padded))
        if np.max(np.abs(h - otf)) <= tol:
            break
        radius = min(max_radius, radius + max(1, radius // 4))
    return k, radius


def convolve_block(block: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate every band of a ``(band, y, x)`` block with a centred kernel ("same" size).

    Linear convolution by zero-padded FFT (the kernel of a real OTF is symmetric, so
    correlation and convolution agree up to the flip, which this applies). Values within the
    kernel radius of the block's border are invalid: the caller's halo trims them. Returns
    float64.
    """
    b = np.asarray(block, np.float64)
    ky, kx = kernel.shape
    ry, rx = ky // 2, kx // 2
    ny, nx = b.shape[-2:]
    sy, sx = ny + ky - 1, nx + kx - 1
    fy, fx = _good_size(sy), _good_size(sx)
    spec = np.fft.rfft2(b, s=(fy, fx)) * np.fft.rfft2(kernel, s=(fy, fx))
    full = np.fft.irfft2(spec, s=(fy, fx))
    return full[..., ry : ry + ny, rx : rx + nx]


def _good_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= n (fast FFT lengths)."""
    best = 1 << max(0, (n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best
