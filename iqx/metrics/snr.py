"""Blind signal-to-noise ratio of a scene, per band, at any scale.

Methods (see ``docs/snr.md`` for the definitions, the biases they fix and measured
accuracy):

``"blocks"`` (default)
    Bias-corrected homogeneous blocks over *all* signal levels: ``6 x 6`` blocks on a global
    grid, plane-detrended residual std per block, a low quantile of those stds per signal
    bin divided by the matching chi-distribution quantile (exact small-sample correction),
    an affine noise-variance curve ``sigma^2 = a + b * DN`` fitted across bins (photon +
    read noise), and SNR = median DN / sigma(median DN).
``"pca"``
    Weak-texture patch selection (Liu et al. 2013) + eigenvalue split (Chen et al. 2015):
    the texture-robust estimator. SNR = median DN / sigma.
``"immerkaer"``
    Immerkaer (1996) Laplacian-difference estimator: O(N), one numba pass with a 1-pixel
    halo. Fastest; biased upward on fine texture.
``"hb"``, ``"ha"``
    IQUAFLOW's homogeneous-blocks and homogeneous-area definitions. With
    ``iquaflow_compat=True`` they reproduce IQUAFLOW 1.0.1's numbers (0 = nodata, whole
    image in memory, IQUAFLOW's channel handling).

Every method is a sparse block reduction (:func:`iqx.parallel.reduce_blocks_leading`): each
chunk returns small partial histograms/sums computed on a globally aligned block grid. A
chunk owns the blocks whose *last* pixel lies in its core (the last chunk along an axis also
owns those reaching the scene's end), and a leading halo of ``block - 1`` pixels (above and
to the left only) lets it see them whole; so the answer is the same for NumPy input and for
any chunking, and since a chunk needs only chunks read before it, peak memory is a few
chunks per thread whatever the scene size. A chunk thinner than the halo (e.g. the last 16
rows of a 1040-pixel scene in 1024-pixel chunks) is merged into its neighbour explicitly
(``reduce_blocks_leading(..., rechunk=True)``), so no ordinary chunking fails.
:func:`snr_map` evaluates :func:`snr` per tile through :func:`iqx.parallel.map_tiles_xr`.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.metrics._result import result_attrs
from iqx.metrics._snr_common import (
    _check_dtype,
    _column,
    _nan_result,
    _reason_text,
    _scene,
)
from iqx.metrics._snr_iquaflow import _iquaflow_dataset, _iquaflow_results
from iqx.metrics._snr_options import (
    DEFAULT_METHOD,
    METHODS,
    SNROptions,
    _options,
    method_parameters,
    snr_halo,
)
from iqx.metrics._snr_reduce import (
    _build,
    _chunk,
    _combine,
    _finalize_all,
    _maybe_delayed,
    _snr_hb,
    _template,
)
from iqx.metrics._validity import check_mask, scene_nodata
from iqx.parallel import as_scene, lazy_call, map_tiles_xr, reduce_blocks_leading
from iqx.registry import register_metric

__all__ = ["DEFAULT_METHOD", "METHODS", "combine_bands", "flat_summary", "snr", "snr_map"]


def _result_summary(ds: xr.Dataset) -> dict[str, Any]:
    """The registered flat summary of one :func:`snr` result, bands combined.

    ``{key, key_std, key_reason}`` with ``key`` ``"snr"`` for the default method and
    ``"snr_<method>"`` otherwise (:func:`combine_bands`); :func:`flat_summary` is the
    union of those of ``hb``, ``ha`` and the default method.
    """
    return _keyed(ds.attrs.get("method", DEFAULT_METHOD), *combine_bands(ds))


def _keyed(method: str, value: float | None, err: float | None, reason: str) -> dict[str, Any]:
    """``{key: value, key_std: err, key_reason: reason}`` with the key of ``method``."""
    key = "snr" if method == DEFAULT_METHOD else f"snr_{method}"
    return {key: value, f"{key}_std": err, f"{key}_reason": reason}


@register_metric(
    "snr",
    summary="Blind signal-to-noise ratio per band (homogeneous blocks, PCA, Immerkaer, IQUAFLOW HB/HA).",
    outputs=("snr", "snr_std", "signal", "noise", "noise_std", "n_blocks", "reason"),
    units={
        "snr": "1",
        "snr_std": "1",
        "signal": "DN",
        "noise": "DN",
        "noise_std": "DN",
        "n_blocks": "count",
    },
    chunk_invariant=True,
    halo=snr_halo,
    params=method_parameters(),
    flat_summary=_result_summary,
    references=(
        "Gao 1993, An operational method for estimating signal to noise ratios from data "
        "acquired with imaging spectrometers (RSE 43:23)",
        "Immerkaer 1996, Fast noise variance estimation (CVIU 64(2):300)",
        "Liu, Tanaka & Okutomi 2013, Single-image noise level estimation for blind "
        "denoising (IEEE TIP 22(12):5226)",
        "Chen, Zhu & Heng 2015, An efficient statistical method for image noise level "
        "estimation (ICCV)",
        "IQUAFLOW 1.0.1 snr_metric.py (SNRHomogeneousBlocks / SNRHomogeneousArea)",
    ),
)
def snr(
    image: Any,
    method: str = DEFAULT_METHOD,
    *,
    mask: Any = None,
    iquaflow_compat: bool = False,
    curve: bool = False,
    compute: bool = True,
    **params: Any,
) -> xr.Dataset | Any:
    """Blind signal-to-noise ratio of each band of a scene.

    Parameters
    ----------
    image : xarray.DataArray, numpy.ndarray or dask.array.Array
        Scene ``(band, y, x)`` or one band ``(y, x)``; integer or real-floating pixels.
        ``attrs["nodata"]`` (and NaN) mark invalid pixels unless ``mask`` is given; the
        nodata is cast to the pixel dtype first (the shared rule of
        :func:`iqx.metrics._validity.scene_nodata`: ``"0"`` or ``0.0`` on uint16 is 0).
    method : {"blocks", "pca", "immerkaer", "hb", "ha"}
        Estimator (see the module docstring and ``docs/snr.md``). Default ``"blocks"``.
    mask : bool array-like, optional
        Validity mask (True = valid), ``(y, x)`` or ``(band, y, x)`` with 1 band or as many
        as the image; overrides ``nodata``. Boolean only (the rule of
        :func:`iqx.metrics._validity.check_mask`): convert others explicitly, e.g. ``m != 0``.
    iquaflow_compat : bool
        Only for ``"hb"``/``"ha"``: reproduce IQUAFLOW 1.0.1 exactly (0 = nodata, the image
        is loaded in memory, IQUAFLOW's channel split and combination). The IQUAFLOW
        combined value is stored in the ``iquaflow_snr``/``iquaflow_snr_std`` variables.
    curve : bool
        Only for ``"blocks"``: add the noise-versus-signal curve on a ``dn_bin`` dim
        (``curve_signal``, ``curve_noise``, ``curve_noise_std``, ``curve_n_blocks``).
    compute : bool
        If False, return a ``dask.delayed`` object that builds the Dataset.
    **params
        Method parameters: ``block_size`` (blocks 6, pca 7, hb 3, ha 5), ``quantile``
        (blocks, 0.1), ``min_blocks``, ``max_bins`` (blocks), ``confidence`` (pca, 0.99),
        ``stride``, ``radius``, ``lbp_threshold`` (hb/ha, IQUAFLOW's).

    Returns
    -------
    xarray.Dataset
        Variables on ``band``: ``snr``, ``snr_std`` (1-sigma uncertainty), ``signal``
        (median DN), ``noise`` (sigma in DN), ``noise_std``, ``n_blocks`` (blocks/patches/
        pixels used) and ``reason`` (empty when measured; otherwise why ``snr`` is NaN).
        Attributes ``method``, ``params``, ``reason`` (all bands' reasons).

    Raises
    ------
    UnsupportedDtypeError
        For bool, complex, object or string pixels.
    InvalidParameterError
        For unknown methods or parameters, or a mask of the wrong shape.
    """
    scene = _scene(image)
    p = _checked(scene, method, iquaflow_compat, curve, params)
    rows, combined = _band_rows(scene, method, p, mask, iquaflow_compat, compute)
    if combined is not None:
        return _maybe_delayed(_iquaflow_dataset(rows, combined, scene, method, p), compute)
    if isinstance(rows, list):  # measured already (always when compute=True)
        return _maybe_delayed(_build(rows, scene, method, p, curve), compute)
    build = functools.partial(_build, scene=_template(scene), method=method, p=p, curve=curve)
    return lazy_call(build, rows)


def _checked(
    scene: xr.DataArray, method: str, iquaflow_compat: bool, curve: bool, params: dict
) -> SNROptions:
    """The options of ``method`` after the checks of :func:`snr` (dtype, mode, curve)."""
    _check_dtype(scene.dtype)
    p = _options(method, params)
    if iquaflow_compat and method not in ("hb", "ha"):
        raise InvalidParameterError("iquaflow_compat applies to method 'hb' or 'ha' only")
    if curve and method != "blocks":
        raise InvalidParameterError("curve=True is available for method='blocks' only")
    return p


def _band_rows(
    scene: xr.DataArray,
    method: str,
    p: SNROptions,
    mask: Any,
    iquaflow_compat: bool,
    compute: bool,
) -> tuple[list[dict] | Any, tuple[float, float] | None]:
    """The measurement behind :func:`snr`: one result row (dict) per band.

    Parameters
    ----------
    scene : xarray.DataArray
        ``(band, y, x)`` scene (:func:`iqx.metrics._snr_common._scene`).
    method : str
        Estimator.
    p : SNROptions
        Its options (:func:`_checked`).
    mask : bool array-like or None
        Validity mask, as for :func:`snr`.
    iquaflow_compat : bool
        IQUAFLOW 1.0.1 parity mode (``hb``/``ha`` only, computed eagerly).
    compute : bool
        If False, dask input gives a delayed list of rows (the reduction is not run).

    Returns
    -------
    rows : list of dict or dask.delayed.Delayed
        ``snr``, ``snr_std``, ``signal``, ``noise``, ``noise_std``, ``n_blocks``,
        ``reason`` (and ``curve`` for ``blocks``) per band: what :func:`snr` packs into its
        Dataset and :func:`flat_summary` combines directly.
    combined : (float, float) or None
        IQUAFLOW's channel combination in parity mode, else None.
    """
    if iquaflow_compat:
        return _iquaflow_results(scene, method, p)
    extra: tuple = ()
    if mask is not None:  # the shared rule: boolean, (y, x) or (1 | band, y, x)
        extra = (xr.DataArray(check_mask(mask, tuple(scene.shape)), dims=scene.dims),)
    nodata = scene_nodata(scene)  # the shared rule: cast to the pixel dtype, NaN -> None
    ctx = {"is_float": scene.dtype.kind == "f"}
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    if min(ny, nx) < getattr(p, "block_size", 3):
        row = _nan_result(
            f"image {ny}x{nx} is smaller than one {getattr(p, 'block_size', 3)}-pixel block"
        )
        return [row] * scene.sizes["band"], None
    halo = p.lead_halo
    if method == "hb":
        return _snr_hb(scene, extra, nodata, p, ctx, halo, compute), None
    chunk = functools.partial(_chunk, method=method, params=p, nodata=nodata)
    fin = functools.partial(_finalize_all, method=method, p=p, ctx=ctx)
    rows = reduce_blocks_leading(
        chunk,
        _combine,
        fin,
        scene,
        halo=halo,
        extra=extra,
        compute=compute,
        rechunk=True,
        reuse_blocks=True,
    )
    return rows, None


def combine_bands(ds: xr.Dataset) -> tuple[float | None, float | None, str]:
    """One value for a multi-band result: ``(value, uncertainty, reason)``.

    Rule (IQUAFLOW's §2.0 minus its NaN quirk): measurable bands only; one band -> itself;
    several -> mean, with uncertainty ``max(sqrt(sum err^2) / n, std of the band values)``.
    ``(None, None, reason)`` when no band is measurable.
    """
    combined = None
    if "iquaflow_snr" in ds:
        combined = (float(ds["iquaflow_snr"]), float(ds["iquaflow_snr_std"]))
    return _combine_values(ds["snr"].values, ds["snr_std"].values, ds.attrs.get("reason"), combined)


def _combine_values(
    snr: np.ndarray, snr_std: np.ndarray, reason: str | None, combined: tuple | None
) -> tuple[float | None, float | None, str]:
    """:func:`combine_bands` on the band values: ``snr``/``snr_std`` per band, the result's
    ``reason`` attribute, and IQUAFLOW's combined ``(snr, err)`` in parity mode (it then
    replaces the rule)."""
    if combined is not None:
        v, e = combined
        if np.isfinite(v):
            return v, e, ""
        return None, None, reason or "no band measurable"
    s = np.asarray(snr, dtype=float)
    e = np.asarray(snr_std, dtype=float)
    ok = np.isfinite(s)
    if not ok.any():
        return None, None, reason or "no band measurable"
    if ok.sum() == 1:
        return float(s[ok][0]), float(e[ok][0]), ""
    quad = float(np.sqrt(np.nansum(e[ok] ** 2)) / ok.sum())
    return float(s[ok].mean()), max(quad, float(s[ok].std())), ""


def flat_summary(image: Any, *, iquaflow_compat: bool = False, **kw: Any) -> dict[str, Any]:
    """JSON-able summary for ``iqx measure``: ``snr_hb``, ``snr_ha`` and ``snr``.

    ``snr_hb``/``snr_ha`` use IQUAFLOW's definitions and band combination; ``snr`` is the
    default method combined with :func:`combine_bands`. Each key is a float or ``None``
    together with ``<key>_reason``; ``<key>_std`` holds the uncertainty.

    Equals the union of ``_result_summary(snr(image, method, ...))`` for the three methods,
    without building their Datasets: the same measurement (:func:`_band_rows`) is combined
    straight from its per-band rows (:func:`_combine_values`, the rule of
    :func:`combine_bands`). On tiny images (28x28) building the Datasets was most of the
    time; dask input is measured as by :func:`snr` with ``compute=True``.
    """
    scene = _scene(image)
    out: dict[str, Any] = {}
    for method in ("hb", "ha", DEFAULT_METHOD):
        compat = iquaflow_compat and method in ("hb", "ha")
        p = _checked(scene, method, compat, False, {})
        rows, combined = _band_rows(scene, method, p, kw.get("mask"), compat, True)
        snr_, err = _column(rows, "snr"), _column(rows, "snr_std")
        value = _combine_values(snr_, err, _reason_text(rows, scene), combined)
        out.update(_keyed(method, *value))
    return out


# --------------------------------------------------------------------------------------
# per-tile map
# --------------------------------------------------------------------------------------
def _snr_tile(
    block: np.ndarray, info: Any, *mask: np.ndarray, method: str, params: dict, nodata: Any
) -> np.ndarray:
    """SNR of each band of one tile, measured on its own (NaN when not measurable)."""
    tile = xr.DataArray(block, dims=("band", "y", "x"), attrs={"nodata": nodata})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = snr(tile, method, mask=mask[0] if mask else None, **params)
    return ds["snr"].values


def snr_map(
    image: Any,
    *,
    tile: int = 512,
    method: str = DEFAULT_METHOD,
    mask: Any = None,
    **params: Any,
) -> xr.DataArray:
    """Per-tile SNR map on a coarse grid.

    Each ``tile x tile`` cell of a global grid (origin at the scene's first pixel; the last
    row/column of tiles may be partial) is measured independently with :func:`snr`, through
    :func:`iqx.parallel.map_tiles_xr` (so the map is the same for NumPy input and any
    chunking).

    Parameters
    ----------
    image : scene-like
        As for :func:`snr` (nodata from ``attrs["nodata"]`` and NaN).
    tile : int
        Tile edge in pixels (the scene is rechunked explicitly to multiples of it).
    method : str
        Any :func:`snr` method except the IQUAFLOW parity mode.
    mask : bool array-like, optional
        Validity mask (True = valid), ``(y, x)`` or ``(band, y, x)`` with 1 band or as many
        as the image; overrides ``nodata``. Boolean only (the rule of
        :func:`iqx.metrics._validity.check_mask`): convert others explicitly, e.g. ``m != 0``.
    **params
        Method parameters.

    Returns
    -------
    xarray.DataArray
        ``(band, y, x)`` float64, lazy for dask input; NaN where a tile is not measurable
        (``attrs["nan_means"]``). Coordinates are the centres of the (full) tiles in the
        scene's CRS from ``attrs["transform"]`` (pixel units without one), and
        ``attrs["transform"]`` is the coarse grid's (see :func:`iqx.parallel.map_tiles_xr`).
    """
    scene = as_scene(image)
    _check_dtype(scene.dtype)
    opts = _options(method, params)
    if not isinstance(tile, int | np.integer) or tile < 8:
        raise InvalidParameterError(f"tile must be an integer >= 8, got {tile!r}")
    func = functools.partial(
        _snr_tile, method=method, params=params, nodata=scene.attrs.get("nodata")
    )
    attrs = {
        **result_attrs("snr_map", {"method": method, **opts.as_params()}),
        "method": method,
        "tile": int(tile),
        "long_name": "signal-to-noise ratio",
        "nan_means": "tile not measurable (too few valid blocks, constant or nodata)",
    }
    if mask is not None:
        mask = xr.DataArray(check_mask(mask, tuple(scene.shape)), dims=scene.dims)
    return map_tiles_xr(
        func, scene, tile=int(tile), outputs=np.float64, mask=mask, attrs=attrs, name="snr"
    )
