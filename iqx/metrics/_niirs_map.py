"""Per-tile NIIRS map (:func:`niirs_map`, re-exported by :mod:`iqx.metrics.niirs`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.metrics._niirs_inputs import gaussian_overshoot
from iqx.metrics.giqe import INCH, giqe
from iqx.parallel import as_scene

__all__ = ["niirs_map"]


def niirs_map(
    image: Any,
    *,
    tile: int = 1024,
    version: int = 5,
    gsd: float | tuple[float, float] | None = None,
    elevation: float | None = None,
    snr: str | float = "edges",
    noise_gain: float = 1.0,
    overshoot: float | None = None,
    mask: Any = None,
    compute: bool = True,
) -> xr.Dataset:
    """Per-tile NIIRS on the coarse grid of :func:`iqx.metrics.sharpness_map`.

    A tile's RER is the median over its edges of every direction (a tile rarely holds
    enough edges per axis), used for both directions. SNR: ``"edges"`` (default) the
    scene's median edge SNR per band (:func:`iqx.metrics.niirs.niirs`, one more sharpness
    pass over the scene), so tiles and scene use one definition; ``"scene"`` each tile's
    :func:`iqx.metrics.snr_map` value (median DN / noise: a different definition, read
    the docs); or a number. GIQE 3/4's ``H`` is given or that of a Gaussian PSF with the
    tile's RER. NaN where a tile has no edge.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        The scene.
    tile : int
        Tile size (pixels).
    version, gsd, elevation, snr, noise_gain, overshoot, mask
        As for :func:`iqx.metrics.niirs.niirs` (``snr`` see above).
    compute : bool
        False: the lazy Dataset (dask input).

    Returns
    -------
    xarray.Dataset
        ``niirs``, ``rer``, ``snr``, ``n_edges`` on ``(band, y, x)`` with the map's
        coordinates and ``attrs["transform"]``; attrs ``version``, ``gsd_m``,
        ``elevation_deg``, ``snr_source``.

    Raises
    ------
    InvalidParameterError
        When the GSD is neither given nor readable from the georeferencing.
    """
    from iqx.metrics._niirs_inputs import resolve_elevation, resolve_gsd
    from iqx.metrics.niirs import NiirsOptions, niirs
    from iqx.metrics.sharpness import sharpness_map
    from iqx.metrics.snr import snr_map

    NiirsOptions(version, gsd, elevation, snr, noise_gain, overshoot)  # validation
    scene = as_scene(image)
    gsd_m, _, why = resolve_gsd(gsd, scene)
    if gsd_m is None:
        raise InvalidParameterError(f"niirs_map: GSD not measurable: {why}")
    elev, _ = resolve_elevation(elevation, scene.attrs)
    sm = sharpness_map(scene, tile=tile, mask=mask, compute=False)
    rer = sm["rer"]
    if snr == "scene":
        s = snr_map(scene, tile=tile, mask=mask)
    elif snr == "edges":
        per_band = niirs(scene, gsd=gsd_m, mask=mask, n_boot=10).dataset["snr"].values
        s = xr.zeros_like(rer) + xr.DataArray(per_band, dims="band", coords={"band": rer.band})
    else:
        s = xr.full_like(rer, float(snr))

    def _tile_niirs(r: np.ndarray, sn: np.ndarray) -> np.ndarray:
        h = gaussian_overshoot(r) if overshoot is None else overshoot
        with np.errstate(invalid="ignore", divide="ignore"):
            v = giqe(
                version,
                rer_x=r,
                rer_y=r,
                gsd_in=gsd_m / INCH,
                snr=sn,
                elevation_deg=elev,
                h=h,
                g=noise_gain,
            )
        return np.where(np.isfinite(r) & np.isfinite(sn) & (sn > 0), v, np.nan)

    val = xr.apply_ufunc(_tile_niirs, rer, s, dask="parallelized", output_dtypes=[np.float64])
    attrs = {
        "version": version,
        "gsd_m": gsd_m,
        "elevation_deg": elev,
        "snr_source": snr if isinstance(snr, str) else "given",
        "metric": "niirs_map",
        "transform": sm.attrs.get("transform"),
    }
    out = xr.Dataset({"niirs": val, "rer": rer, "snr": s, "n_edges": sm["n_edges"]}, attrs=attrs)
    return out.compute() if compute else out
