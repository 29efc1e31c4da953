"""A small, georeferenced sample scene generated on the fly (the demo's embedded default)."""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import ndimage

__all__ = ["sample_scene"]


def sample_scene(
    size: int = 1024,
    *,
    seed: int = 0,
    psf_sigma: float = 0.7,
    noise_sigma: float = 2.0,
    n_parcels: int = 60,
    gsd: float = 0.5,
) -> xr.DataArray:
    """An 8-bit single-band "agricultural parcels" scene with a known PSF and noise.

    Random axis-aligned and slanted rectangles of constant brightness (straight edges for
    sharpness, flat interiors for SNR) on a gently varying background, blurred by a Gaussian
    PSF of ``psf_sigma`` pixels, plus Gaussian noise of ``noise_sigma`` DN. Georeferenced in
    UTM zone 31N with a ``gsd`` metre pixel.

    Returns
    -------
    xarray.DataArray
        NumPy-backed, dims ``(band, y, x)``, dtype uint8, attrs ``crs``, ``transform``,
        ``nodata`` (None), ``bit_depth`` (8) and the generating parameters.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    img = 90 + 20 * np.sin(2 * np.pi * yy / size) * np.cos(2 * np.pi * xx / size)
    for _ in range(n_parcels):
        cy, cx = rng.uniform(0.1 * size, 0.9 * size, 2)
        hy, hx = rng.uniform(0.03 * size, 0.12 * size, 2)
        angle = np.deg2rad(rng.choice([0.0, rng.uniform(2, 40)]) * rng.choice([-1, 1]))
        u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
        v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
        inside = (np.abs(u) < hx) & (np.abs(v) < hy)
        img[inside] = rng.uniform(40, 210)
    img = ndimage.gaussian_filter(img, psf_sigma, mode="reflect")
    img = img + rng.normal(0.0, noise_sigma, img.shape)
    data = np.clip(np.rint(img), 0, 255).astype(np.uint8)[None]
    x0, y0 = 500000.0, 4600000.0
    transform = (gsd, 0.0, x0, 0.0, -gsd, y0)
    from pyproj import CRS

    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": [1],
            "y": y0 - gsd * (np.arange(size) + 0.5),
            "x": x0 + gsd * (np.arange(size) + 0.5),
        },
        name="sample",
        attrs={
            "crs": CRS.from_epsg(32631).to_wkt(),
            "transform": transform,
            "nodata": None,
            "bit_depth": 8,
            "iqx_history": [],
            "psf_sigma": psf_sigma,
            "noise_sigma": noise_sigma,
            "seed": seed,
        },
    )
