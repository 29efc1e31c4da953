"""Synthetic edges with a known Gaussian PSF, and their analytic ground truth.

Two sampling models are provided:

``"point"``
    Each pixel holds the blurred edge at its centre: ``low + contrast * Phi(d / sigma)``,
    with ``d`` the signed distance of the pixel centre to the edge line.
``"area"``
    Each pixel holds the *exact* mean of the blurred edge over its square (100 % fill
    factor). Projected onto the edge normal, a unit square is a trapezoid: the convolution
    of two boxes of widths ``|cos a|`` and ``|sin a|`` (``a`` the edge angle). The mean over
    the wider box is analytic (the antiderivative of ``Phi`` is ``x Phi(x) + phi(x)``), the
    narrow box is integrated by 24-point Gauss-Legendre quadrature, which is exact to machine
    precision for this smooth integrand.

The ground truth (:func:`edge_truth`) is the matching one: for point sampling the Gaussian
(ESF ``Phi(x / sigma)``, MTF ``exp(-2 pi^2 sigma^2 f^2)``); for area sampling the Gaussian
convolved with the trapezoid, i.e. MTF ``exp(-2 pi^2 sigma^2 f^2) |sinc(f cos a) sinc(f sin
a)|`` along the edge normal. At ``a -> 0`` this is the familiar 1-px box (``|sinc(f)|``).

:func:`parcel_scene` builds large multi-edge scenes (rotated rectangles, exact Gaussian
blur of each rectangle, seeded noise per cell), lazily per chunk and identically for any
chunking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import dask.array as da
import numpy as np
from scipy import optimize, special

from iqx.errors import InvalidParameterError

__all__ = ["EdgeTruth", "edge_truth", "parcel_scene", "render_parcels", "slanted_edge"]

_SQRT2 = math.sqrt(2.0)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * special.erfc(-x / _SQRT2)


def _g1(x: np.ndarray) -> np.ndarray:
    """Antiderivative of the standard normal CDF: ``x Phi(x) + phi(x)``."""
    return x * _cdf(x) + _phi(x)


def _box_blurred_esf(d: np.ndarray, sigma: float, a: float) -> np.ndarray:
    """``Phi(d / sigma)`` averaged over a box of width ``a`` (analytic)."""
    if a < 1e-6:
        return _cdf(d / sigma)
    hi = (d + 0.5 * a) / sigma
    lo = (d - 0.5 * a) / sigma
    return (_g1(hi) - _g1(lo)) * sigma / a


def _aperture(angle_deg: float) -> tuple[float, float]:
    """Widths (wide, narrow) of the two boxes a unit square projects to along the normal."""
    r = math.radians(angle_deg)
    c, s = abs(math.cos(r)), abs(math.sin(r))
    return max(c, s), min(c, s)


def area_esf(d: np.ndarray, sigma: float, angle_deg: float) -> np.ndarray:
    """Exact ESF of a Gaussian edge seen through a unit square pixel at ``angle_deg``.

    Parameters
    ----------
    d : ndarray
        Signed distance to the edge line (pixels, along the normal).
    sigma : float
        Gaussian PSF standard deviation (pixels).
    angle_deg : float
        Edge angle from the vertical (degrees).

    Returns
    -------
    ndarray
        Values in [0, 1].
    """
    d = np.asarray(d, dtype=np.float64)
    a, b = _aperture(angle_deg)
    if b < 1e-6:
        return _box_blurred_esf(d, sigma, a)
    out = np.zeros_like(d)
    for xg, wg in zip(_GL_X, _GL_W, strict=True):
        out += 0.5 * wg * _box_blurred_esf(d + 0.5 * b * xg, sigma, a)
    return out


def slanted_edge(
    shape: int | tuple[int, int] = 128,
    *,
    angle: float = 5.0,
    sigma: float = 1.0,
    low: float = 100.0,
    contrast: float = 800.0,
    snr: float | None = None,
    sampling: str = "point",
    seed: int = 0,
    center: tuple[float, float] | None = None,
    dtype: type | np.dtype = np.float64,
) -> np.ndarray:
    """One straight edge through the image centre, blurred by a Gaussian PSF.

    Parameters
    ----------
    shape : int or (int, int)
        Image size ``(ny, nx)``.
    angle : float
        Orientation of the edge line from the image's vertical (row) axis, degrees. Small
        angles give a near-vertical edge (profile along x, IQUAFLOW's class "X"); angles
        near 90 give a near-horizontal edge (class "Y").
    sigma : float
        Standard deviation of the Gaussian PSF, pixels.
    low, contrast : float
        Dark level and step height; the bright side is at ``+x`` for ``angle = 0``.
    snr : float, optional
        Edge SNR ``contrast / noise_std``; ``None`` adds no noise.
    sampling : {"point", "area"}
        Point sampling at pixel centres or exact integration over each pixel.
    seed : int
        Seed of the noise generator (``numpy.random.default_rng``).
    center : (float, float), optional
        A point ``(y, x)`` on the edge line (default: the image centre).
    dtype : dtype
        Output dtype; integer dtypes are rounded and clipped.

    Returns
    -------
    numpy.ndarray
        The ``(ny, nx)`` image.
    """
    ny, nx = (shape, shape) if isinstance(shape, int) else shape
    if sigma <= 0:
        raise InvalidParameterError(f"sigma must be > 0, got {sigma}")
    if sampling not in ("point", "area"):
        raise InvalidParameterError(f"sampling must be 'point' or 'area', got {sampling!r}")
    cy, cx = ((ny - 1) / 2.0, (nx - 1) / 2.0) if center is None else center
    r = math.radians(angle)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    d = -(yy - cy) * math.sin(r) + (xx - cx) * math.cos(r)
    esf = _cdf(d / sigma) if sampling == "point" else area_esf(d, sigma, angle)
    img = low + contrast * esf
    if snr is not None:
        rng = np.random.default_rng(seed)
        img = img + rng.standard_normal(img.shape) * (contrast / snr)
    return _cast(img, dtype)


def _cast(img: np.ndarray, dtype: type | np.dtype) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind in "ui":
        info = np.iinfo(dt)
        return np.clip(np.rint(img), info.min, info.max).astype(dt)
    return img.astype(dt)


@dataclass(frozen=True)
class EdgeTruth:
    """Analytic ground truth of a Gaussian edge (see :func:`edge_truth`).

    Attributes
    ----------
    rer : float
        ``ESF(+0.5) - ESF(-0.5)`` of the normalised ESF.
    fwhm : float
        Full width at half maximum of the LSF (pixels).
    mtf_nyquist, mtf_half_nyquist : float
        MTF at 0.5 and 0.25 cycles/pixel.
    mtf50 : float
        Frequency where the MTF drops to 0.5 (cycles/pixel).
    """

    rer: float
    fwhm: float
    mtf_nyquist: float
    mtf_half_nyquist: float
    mtf50: float

    def mtf(self, f: np.ndarray | float, sigma: float, sampling: str, angle: float) -> np.ndarray:
        """The truth MTF at frequencies ``f`` (cycles/pixel)."""
        return _mtf(np.asarray(f, dtype=np.float64), sigma, sampling, angle)


def _mtf(f: np.ndarray, sigma: float, sampling: str, angle: float) -> np.ndarray:
    g = np.exp(-2.0 * math.pi**2 * sigma**2 * f**2)
    if sampling == "area":
        a, b = _aperture(angle)
        g = g * np.abs(np.sinc(f * a) * np.sinc(f * b))
    return g


def edge_truth(sigma: float, *, sampling: str = "point", angle: float = 0.0) -> EdgeTruth:
    """Ground truth of :func:`slanted_edge` measured along the edge normal.

    Parameters
    ----------
    sigma : float
        Gaussian PSF standard deviation (pixels).
    sampling : {"point", "area"}
        Sampling model of the image.
    angle : float
        Edge angle (degrees); only matters for area sampling (the pixel aperture projected
        on the normal is a trapezoid of widths ``|cos a|`` and ``|sin a|``).

    Returns
    -------
    EdgeTruth
        RER and FWHM are exact for point sampling (``erf(1/(2 sqrt2 sigma))`` and
        ``2 sqrt(2 ln2) sigma``) and computed numerically (root finding on the analytic
        ESF/LSF) for area sampling.
    """
    if sampling == "point":
        rer = math.erf(1.0 / (2.0 * _SQRT2 * sigma))
        fwhm = 2.0 * math.sqrt(2.0 * math.log(2.0)) * sigma
    else:
        rer = float(
            area_esf(np.array([0.5]), sigma, angle)[0] - area_esf(np.array([-0.5]), sigma, angle)[0]
        )
        h = 1e-4

        def lsf(x: float) -> float:
            e = area_esf(np.array([x - h, x + h]), sigma, angle)
            return float((e[1] - e[0]) / (2 * h))

        peak = lsf(0.0)
        half = optimize.brentq(lambda x: lsf(x) - 0.5 * peak, 1e-6, 20.0 * sigma + 2.0, xtol=1e-12)
        fwhm = 2.0 * half
    m = lambda f: float(_mtf(np.array([f]), sigma, sampling, angle)[0])  # noqa: E731
    mtf50 = optimize.brentq(lambda f: m(f) - 0.5, 1e-6, 0.999, xtol=1e-12)
    return EdgeTruth(rer=rer, fwhm=fwhm, mtf_nyquist=m(0.5), mtf_half_nyquist=m(0.25), mtf50=mtf50)


# ---------------------------------------------------------------------------------------
# Multi-edge scenes: rotated rectangles ("parcels"), one per cell of a global grid.
# ---------------------------------------------------------------------------------------
def _cell_params(seed: int, i: int, j: int, cell: int) -> tuple[np.random.Generator, tuple]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, i, j]))
    angle = rng.uniform(0.0, 180.0)
    margin = 0.18 * cell
    half_max = 0.5 * cell - margin
    w = rng.uniform(0.55, 1.0) * half_max * 2 / math.sqrt(2)
    h = rng.uniform(0.55, 1.0) * half_max * 2 / math.sqrt(2)
    level = rng.uniform(0.25, 1.0)
    return rng, (angle, w, h, level)


def render_parcels(
    y0: int,
    x0: int,
    ny: int,
    nx: int,
    *,
    cell: int = 96,
    sigma: float = 1.0,
    background: float = 200.0,
    contrast: float = 1200.0,
    snr: float | None = 60.0,
    seed: int = 0,
) -> np.ndarray:
    """Render the window ``[y0:y0+ny, x0:x0+nx]`` of a :func:`parcel_scene` (float64).

    Every cell of the global ``cell``-pixel grid holds one rectangle of random orientation,
    size and brightness, blurred exactly by the Gaussian PSF (the blurred indicator of a
    rectangle is a product of two 1-D erf differences in the rectangle's own frame),
    sampled at pixel centres. Noise ``contrast / snr`` is drawn per cell from a generator
    seeded by ``(seed, cell row, cell col)``, so any window is identical whatever the
    chunking.
    """
    out = np.empty((ny, nx), dtype=np.float64)
    ci0, ci1 = y0 // cell, (y0 + ny - 1) // cell
    cj0, cj1 = x0 // cell, (x0 + nx - 1) // cell
    for i in range(ci0, ci1 + 1):
        for j in range(cj0, cj1 + 1):
            rng, (angle, w, h, level) = _cell_params(seed, i, j, cell)
            gy0, gx0 = i * cell, j * cell
            ys, ye = max(gy0, y0), min(gy0 + cell, y0 + ny)
            xs, xe = max(gx0, x0), min(gx0 + cell, x0 + nx)
            cy, cx = gy0 + (cell - 1) / 2.0, gx0 + (cell - 1) / 2.0
            yy, xx = np.mgrid[ys:ye, xs:xe].astype(np.float64)
            r = math.radians(angle)
            u = (yy - cy) * math.cos(r) + (xx - cx) * math.sin(r)
            v = -(yy - cy) * math.sin(r) + (xx - cx) * math.cos(r)
            ind = (_cdf((u + h / 2) / sigma) - _cdf((u - h / 2) / sigma)) * (
                _cdf((v + w / 2) / sigma) - _cdf((v - w / 2) / sigma)
            )
            val = background + contrast * level * ind
            if snr is not None:
                noise = rng.standard_normal((cell, cell)) * (contrast / snr)
                val = val + noise[ys - gy0 : ye - gy0, xs - gx0 : xe - gx0]
            out[ys - y0 : ye - y0, xs - x0 : xe - x0] = val
    return out


def parcel_scene(
    shape: int | tuple[int, int] = 1024,
    *,
    cell: int = 96,
    sigma: float = 1.0,
    snr: float | None = 60.0,
    seed: int = 0,
    chunks: int | tuple[int, int] | None = None,
    dtype: type | np.dtype = np.uint16,
    background: float = 200.0,
    contrast: float = 1200.0,
) -> np.ndarray | da.Array:
    """A scene of blurred rotated rectangles with many edges of every direction.

    Parameters
    ----------
    shape : int or (int, int)
        Scene size ``(ny, nx)``.
    cell : int
        Size of the grid cell holding one rectangle (pixels).
    sigma : float
        Gaussian PSF standard deviation (pixels).
    snr : float, optional
        Edge SNR at full contrast; ``None`` for no noise.
    seed : int
        Seed of the per-cell generators.
    chunks : int or (int, int), optional
        If given, return a lazy dask array generated chunk by chunk (any size, memory
        bounded by the chunk); else an eager NumPy array.
    dtype : dtype
        Output dtype (integers are rounded and clipped).
    background, contrast : float
        Background level and maximum rectangle contrast.

    Returns
    -------
    numpy.ndarray or dask.array.Array
        ``(ny, nx)`` image, the same values for any chunking.
    """
    ny, nx = (shape, shape) if isinstance(shape, int) else shape
    kw = dict(cell=cell, sigma=sigma, snr=snr, seed=seed, background=background, contrast=contrast)
    if chunks is None:
        return _cast(render_parcels(0, 0, ny, nx, **kw), dtype)
    cy, cx = (chunks, chunks) if isinstance(chunks, int) else chunks
    dt = np.dtype(dtype)

    def block(block_info=None):
        (ys, ye), (xs, xe) = block_info[None]["array-location"]
        return _cast(render_parcels(ys, xs, ye - ys, xe - xs, **kw), dt)

    return da.map_blocks(
        block,
        chunks=da.core.normalize_chunks((cy, cx), (ny, nx)),
        dtype=dt,
        meta=np.empty((0, 0), dt),
    )
