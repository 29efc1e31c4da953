"""Synthetic scenes with known noise, for testing SNR and noise estimators.

Every generator is seeded and returns ``(image, truth)`` where ``truth`` holds the exact
noise standard deviation (including the quantisation term for integer output: rounding a
continuous value adds variance 1/12 DN^2, Sheppard's correction, when sigma >~ 0.5 DN) and
the expected SNR at the median signal.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["flat_field", "photon_field", "piecewise_tiles", "textured_scene"]


def _cast(x: np.ndarray, dtype: np.dtype | str) -> tuple[np.ndarray, float]:
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return x.astype(dt), 0.0
    info = np.iinfo(dt)
    return np.clip(np.rint(x), info.min, info.max).astype(dt), 1.0 / 12.0


def flat_field(
    shape: tuple[int, int], level: float, sigma: float, dtype: str = "float32", seed: int = 0
) -> tuple[np.ndarray, dict[str, float]]:
    """A constant ``level`` plus white Gaussian noise of std ``sigma``.

    Returns
    -------
    image : 2-D ndarray
    truth : dict
        ``sigma`` (effective, incl. quantisation), ``signal`` and ``snr = signal / sigma``.
    """
    rng = np.random.default_rng(seed)
    x = level + sigma * rng.standard_normal(shape)
    img, q = _cast(x, dtype)
    s = math.sqrt(sigma**2 + q)
    return img, {"sigma": s, "signal": float(level), "snr": level / s}


def piecewise_tiles(
    shape: tuple[int, int],
    tile: int = 8,
    levels: tuple[float, float] = (60.0, 180.0),
    sigma: float = 2.0,
    dtype: str = "uint8",
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Random constant ``tile x tile`` squares (levels uniform in ``levels``) plus noise.

    This is IQUAFLOW's failure case (reference/iquaflow.md §4.3): few blocks sit exactly
    at the median DN. ``truth["snr"]`` is the median DN over the noise sigma.
    """
    rng = np.random.default_rng(seed)
    ty, tx = -(-shape[0] // tile), -(-shape[1] // tile)
    lv = rng.uniform(levels[0], levels[1], size=(ty, tx)).round()
    base = np.kron(lv, np.ones((tile, tile)))[: shape[0], : shape[1]]
    img, q = _cast(base + sigma * rng.standard_normal(shape), dtype)
    s = math.sqrt(sigma**2 + q)
    med = float(np.median(img))
    return img, {"sigma": s, "signal": med, "snr": med / s}


def photon_field(
    shape: tuple[int, int],
    levels: tuple[float, float] = (200.0, 3000.0),
    gain: float = 0.5,
    read_noise: float = 3.0,
    tile: int = 64,
    dtype: str = "uint16",
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Piecewise-constant tiles with signal-dependent noise ``var = read^2 + gain * DN``.

    ``truth`` holds ``a = read_noise**2 (+1/12)``, ``b = gain`` and the SNR at the median
    DN, ``median / sqrt(a + b * median)``.
    """
    rng = np.random.default_rng(seed)
    ty, tx = -(-shape[0] // tile), -(-shape[1] // tile)
    lv = rng.uniform(levels[0], levels[1], size=(ty, tx))
    base = np.kron(lv, np.ones((tile, tile)))[: shape[0], : shape[1]]
    noise = rng.standard_normal(shape) * np.sqrt(read_noise**2 + gain * base)
    img, q = _cast(base + noise, dtype)
    a = read_noise**2 + q
    med = float(np.median(img))
    return img, {
        "a": a,
        "b": gain,
        "signal": med,
        "snr": med / math.sqrt(a + gain * med),
        "sigma": math.sqrt(a + gain * med),
    }


def textured_scene(
    shape: tuple[int, int] = (1024, 1024),
    sigma: float = 2.0,
    texture: float = 4.0,
    psf_sigma: float = 0.7,
    dtype: str = "float32",
    seed: int = 0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Parcels + 1/f texture, blurred by a Gaussian PSF, plus white noise ``sigma``.

    Mimics reference/metrics.md §2's test scene (0-255 scale): random polygonal parcels
    (Voronoi cells, levels 40-200), a 1/f texture of std ``texture``, a Gaussian PSF of
    ``psf_sigma`` px, then the noise (added after the blur, so ``sigma`` is the truth).
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    npar = max(4, ny * nx // 4096)
    cy, cx = rng.uniform(0, ny, npar), rng.uniform(0, nx, npar)
    lv = rng.uniform(40, 200, npar)
    # nearest-seed labelling via a distance transform on the seed raster
    seeds = np.zeros(shape, dtype=bool)
    seeds[cy.astype(int), cx.astype(int)] = True
    _, (iy, ix) = ndimage.distance_transform_edt(~seeds, return_indices=True)
    lab = np.zeros(shape, dtype=np.int64)
    lab[cy.astype(int), cx.astype(int)] = np.arange(npar)
    base = lv[lab[iy, ix]]
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.fftfreq(nx)[None, :]
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    spec = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / f
    spec[0, 0] = 0
    tex = np.fft.ifft2(spec).real
    tex *= texture / tex.std()
    clean = ndimage.gaussian_filter(base + tex, psf_sigma)
    img, q = _cast(clean + sigma * rng.standard_normal(shape), dtype)
    s = math.sqrt(sigma**2 + q)
    med = float(np.median(img))
    return img, {"sigma": s, "signal": med, "snr": med / s}
