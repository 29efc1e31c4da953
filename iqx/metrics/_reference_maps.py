"""Quality maps of a (reference, test) pair: per-pixel SSIM and per-tile SSIM/PSNR.

A map is the per-pixel quantity (SSIM's local map, the squared error) put on a coarse
geo-referenced tile grid by a NaN-ignoring mean (:func:`_coarsen_nanmean`): coordinates
are the tile centres and ``attrs["transform"]`` is scaled by the tile. Options are
:class:`~iqx.metrics._reference_options.SSIMMapOptions` and
:class:`~iqx.metrics._reference_options.PSNRMapOptions`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import xarray as xr

from iqx.kernels.similarity import ssim_block_map, window_radius
from iqx.metrics._error_metrics import _psnr_db, _sq_err
from iqx.metrics._reference_options import PSNRMapOptions, SSIMMapOptions
from iqx.metrics._reference_pair import _band_coords, _call_options, _dask_pair, _finish, _pair
from iqx.metrics._result import result_attrs
from iqx.metrics._ssim import Window, _prepare
from iqx.metrics.data_range import data_range_and_source
from iqx.parallel import is_dask, map_overlap_xr


def _tile_centres(coord: np.ndarray, step: int) -> np.ndarray:
    n = len(coord)
    return np.array([coord[i : min(i + step, n)].mean() for i in range(0, n, step)])


def _coarsen_nanmean(arr: xr.DataArray, scene: xr.DataArray, tile: tuple[int, int]) -> xr.DataArray:
    """Tile means (NaN ignored) on a coarse grid with tile-centre coordinates."""
    ty, tx = tile
    data = arr.data
    if is_dask(data):
        cy = max(ty, (max(data.chunks[1]) // ty) * ty)
        cx = max(tx, (max(data.chunks[2]) // tx) * tx)
        data = data.rechunk({1: cy, 2: cx})
    bare = xr.DataArray(data, dims=("band", "y", "x"))
    coarse = bare.coarsen(y=ty, x=tx, boundary="pad").mean()
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    ycoord = scene.coords["y"].values if "y" in scene.coords else np.arange(ny, dtype=np.float64)
    xcoord = scene.coords["x"].values if "x" in scene.coords else np.arange(nx, dtype=np.float64)
    coords = {
        "y": _tile_centres(np.asarray(ycoord, dtype=np.float64), ty),
        "x": _tile_centres(np.asarray(xcoord, dtype=np.float64), tx),
    }
    coords.update(_band_coords(scene))
    attrs = {k: v for k, v in scene.attrs.items() if k in ("crs", "nodata")}
    transform = scene.attrs.get("transform")
    if transform is not None:
        try:
            t = tuple(transform)[:6]
            new = (t[0] * tx, t[1] * ty, t[2], t[3] * tx, t[4] * ty, t[5])
            try:
                attrs["transform"] = type(transform)(*new)
            except TypeError:
                attrs["transform"] = new
        except TypeError:
            pass
    attrs["tile"] = [ty, tx]
    return xr.DataArray(coarse.data, dims=("band", "y", "x"), coords=coords, attrs=attrs)


def _ssim_map_kernel(
    block: np.ndarray, *, nbands: int, weights: np.ndarray, c1: float, c2: float, cov_norm: float
) -> np.ndarray:
    """Map-overlap kernel on ``[reference bands; test bands]`` stacked along ``band``."""
    r = window_radius(weights)
    out = np.zeros(block.shape, dtype=np.float64)
    for b in range(nbands):
        out[b, r : block.shape[1] - r, r : block.shape[2] - r] = ssim_block_map(
            block[b], block[nbands + b], weights, c1, c2, cov_norm
        )
    return out


def ssim_map(
    reference: Any,
    test: Any,
    *,
    tile: int | tuple[int, int] | None = None,
    data_range: float | None = None,
    window: Window = "gaussian",
    sigma: float = 1.5,
    truncate: float = 3.5,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
    sample_covariance: bool | None = None,
) -> xr.DataArray:
    """Per-pixel SSIM, or its mean per ``tile`` on a coarse geo-referenced grid.

    With ``tile=None`` the result has the input's grid and equals skimage's ``full=True``
    map (the image exterior mirrored as SciPy's ``reflect``). With ``tile`` (pixels, an int
    or ``(ty, tx)``) each value is the mean SSIM over the tile's pixels inside the same
    cropped validity region :func:`ssim` averages (partial tiles on the edge included);
    coordinates are tile centres and ``attrs["transform"]`` is scaled. Other parameters as
    in :func:`ssim`. Lazy for dask input.
    """
    opts = _call_options(SSIMMapOptions, locals())
    s = _prepare(reference, test, opts)
    ref, tst, lazy = s.ref, s.tst, s.lazy
    nb = ref.shape[0]
    if lazy:
        a, b = _dask_pair(ref, tst)
        stacked = np.concatenate([a.astype(np.float64), b.astype(np.float64)], axis=0)
        stacked = stacked.rechunk({0: -1})
    else:
        stacked = np.concatenate(
            [np.asarray(ref.data, np.float64), np.asarray(tst.data, np.float64)], axis=0
        )
    full = map_overlap_xr(
        _ssim_map_kernel,
        xr.DataArray(stacked, dims=("band", "y", "x")),
        halo=opts.halo,
        boundary="reflect",
        dtype=np.float64,
        kwargs={
            "nbands": nb,
            "weights": opts.window_weights,
            "c1": s.c1,
            "c2": s.c2,
            "cov_norm": opts.cov_norm,
        },
        rechunk=True,
    )
    smap = full.isel(band=slice(0, nb))
    attrs = s.attrs(opts)
    if opts.tile is None:
        out = xr.DataArray(smap.data, dims=ref.dims, coords=ref.coords, name="ssim", attrs=attrs)
        return _finish(out, lazy)
    ny, nx = ref.sizes["y"], ref.sizes["x"]
    r = opts.halo
    iy = xr.DataArray(np.arange(ny), dims="y")
    ix = xr.DataArray(np.arange(nx), dims="x")
    inside = (iy >= r) & (iy < ny - r) & (ix >= r) & (ix < nx - r)
    coarse = _coarsen_nanmean(smap.where(inside), ref, opts.tile)
    coarse.attrs.update(attrs)
    coarse.name = "ssim"
    return _finish(coarse, lazy)


def psnr_map(
    reference: Any,
    test: Any,
    *,
    tile: int | tuple[int, int],
    data_range: float | None = None,
) -> xr.DataArray:
    """PSNR per ``tile`` (dB, per band) on a coarse geo-referenced grid.

    Each value is ``10 log10(L² / MSE_tile)`` with the MSE over the tile's pixels (partial
    tiles on the edge included). Coordinates are tile centres; ``attrs["transform"]`` is
    scaled by the tile. Lazy for dask input.
    """
    opts = PSNRMapOptions(tile=tile, data_range=data_range)
    ref, tst = _pair(reference, test)
    L, L_src = data_range_and_source(ref, tst, opts.data_range)
    lazy = is_dask(ref) or is_dask(tst)
    if lazy:
        a, b = _dask_pair(ref, tst)
    else:
        a, b = np.asarray(ref.data), np.asarray(tst.data)
    err = xr.DataArray(_sq_err(a, b), dims=("band", "y", "x"))
    coarse = _coarsen_nanmean(err, ref, opts.tile)
    out = _psnr_db(coarse, L)
    out.attrs.update(coarse.attrs)
    out.attrs.update(
        result_attrs(
            opts.metric,
            dataclasses.replace(opts, data_range=L),
            data_range=L,
            data_range_source=L_src,
        )
    )
    out.name = "psnr"
    return _finish(out, lazy)
