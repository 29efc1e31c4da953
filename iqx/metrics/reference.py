"""Full-reference metrics on lazy scenes: PSNR, SSIM, MS-SSIM, MSE, RMSE, ERGAS, SAM, maps.

Conventions (see ``docs/reference-metrics.md``):

* Inputs are ``(band, y, x)`` scenes (NumPy, dask or DataArray; 2-D arrays are one band).
  Reference and test must have the same shape (and CRS when both carry one), else
  :class:`~iqx.errors.ShapeMismatchError`.
* ``data_range`` (the ``L`` of PSNR/SSIM) is explicit: the given value, else ``2**B - 1``
  with ``B`` the pair's bit depth by the rule of :mod:`iqx.bitdepth` (user > metadata >
  measured > dtype; see :mod:`iqx.metrics.data_range`); attrs ``data_range_source`` says
  which. Floating-point data without an explicit value raise
  :class:`~iqx.errors.InvalidParameterError`. Values are never rescaled.
* Results are :class:`xarray.Dataset` objects with a per-band variable ``<id>_band`` and a
  per-image scalar ``<id>``; attrs name the window, ``data_range`` and constants. They are
  lazy when an input is dask-backed (call ``.compute()``) and eager for NumPy input.
* The per-image SSIM/MS-SSIM is the mean over bands (= skimage with ``channel_axis``);
  MSE/PSNR/RMSE per image are computed from the MSE pooled over all bands (= skimage on the
  whole cube; for MSE this equals the band mean).
* SSIM reproduces :func:`skimage.metrics.structural_similarity`: the local statistics use a
  separable window, and the mean is taken over the pixels at least ``r = (win - 1) // 2``
  from every image edge (skimage's ``crop``). That crop is a validity region in global
  coordinates, so every chunking gives the same mean; nothing is downsampled.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from iqx.errors import (
    InvalidParameterError,
    NotMeasurableError,
    ShapeMismatchError,
    UnsupportedDtypeError,
)
from iqx.kernels.error_sums import spectral_angle_sums, squared_error_sums
from iqx.kernels.similarity import (
    gaussian_window,
    pixel_validity,
    sample_cov_norm,
    ssim_block_map,
    ssim_block_sums,
    ssim_constants,
    uniform_window,
    window_radius,
)
from iqx.metrics.data_range import data_range_and_source, resolve_data_range
from iqx.parallel import (
    BlockInfo,
    as_scene,
    coarsen_halve,
    is_dask,
    lazy_array,
    map_overlap_xr,
    merge_chunks_for_halo,
    rechunk_like,
    reduce_blocks,
    to_dask_blocks,
)
from iqx.registry import register_metric

__all__ = [
    "WANG2003_WEIGHTS",
    "ergas",
    "ms_ssim",
    "mse",
    "psnr",
    "psnr_map",
    "resolve_data_range",
    "rmse",
    "sam",
    "ssim",
    "ssim_map",
]

#: MS-SSIM scale weights of Wang, Simoncelli & Bovik (2003), finest scale first.
WANG2003_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)

#: chunk edge used when NumPy input is split to run on every core
DEFAULT_CHUNK = 1024

Window = Literal["gaussian", "uniform"]

_WANG2004 = "Wang, Bovik, Sheikh & Simoncelli (2004), IEEE TIP 13(4):600-612"
_WANG2003 = "Wang, Simoncelli & Bovik (2003), Asilomar Conf. Signals, Systems & Computers"
_SKIMAGE_SSIM = "skimage.metrics.structural_similarity"
_WALD2000 = "Wald (2000), Quality of high resolution synthesised images, SEE/URISCA"
_KRUSE1993 = "Kruse et al. (1993), The spectral image processing system (SIPS)"


# -- shared plumbing ---------------------------------------------------------------------


@dataclass(frozen=True)
class _SSIMWindow:
    weights: np.ndarray
    description: str
    cov_norm: float
    covariance: str

    @property
    def radius(self) -> int:
        return window_radius(self.weights)


def _ssim_window(
    window: str, sigma: float, truncate: float, win_size: int, sample_covariance: bool | None
) -> _SSIMWindow:
    if window == "gaussian":
        if not (sigma > 0 and truncate > 0):
            raise InvalidParameterError(
                f"sigma and truncate must be > 0, got sigma={sigma}, truncate={truncate}"
            )
        weights = gaussian_window(sigma, truncate)
        desc = f"gaussian(sigma={sigma:g}, truncate={truncate:g})"
        sample = False if sample_covariance is None else sample_covariance
    elif window == "uniform":
        if int(win_size) != win_size or win_size < 3 or win_size % 2 == 0:
            raise InvalidParameterError(f"win_size must be an odd integer >= 3, got {win_size}")
        weights = uniform_window(int(win_size))
        desc = f"uniform(size={int(win_size)})"
        sample = True if sample_covariance is None else sample_covariance
    else:
        raise InvalidParameterError(f"window must be 'gaussian' or 'uniform', got {window!r}")
    norm = sample_cov_norm(weights) if sample else 1.0
    return _SSIMWindow(weights, desc, norm, "sample" if sample else "population")


def _label(scene: xr.DataArray, default: str) -> str:
    for key in ("path", "source", "filename"):
        value = scene.attrs.get(key) or scene.encoding.get(key)
        if value:
            return str(value)
    return str(scene.name) if scene.name is not None else default


def _pair(reference: Any, test: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """Normalise and validate a (reference, test) pair; both dask-backed if either is."""
    ref = as_scene(reference)
    tst = as_scene(test)
    if ref.shape != tst.shape:
        raise ShapeMismatchError(
            f"reference {_label(ref, 'image')} has shape {ref.shape} (band, y, x) but test "
            f"{_label(tst, 'image')} has shape {tst.shape}"
        )
    crs_r, crs_t = ref.attrs.get("crs"), tst.attrs.get("crs")
    if crs_r is not None and crs_t is not None and str(crs_r) != str(crs_t):
        raise ShapeMismatchError(
            f"reference {_label(ref, 'image')} has CRS {crs_r} but test "
            f"{_label(tst, 'image')} has CRS {crs_t}"
        )
    for scene, role in ((ref, "reference"), (tst, "test")):
        if not (
            np.issubdtype(scene.dtype, np.number)
            and not np.issubdtype(scene.dtype, np.complexfloating)
        ):
            raise UnsupportedDtypeError(
                f"{role} {_label(scene, 'image')} has dtype {scene.dtype}; expected real numbers"
            )
    return ref, tst


def _as_dask(scene: xr.DataArray, like: Any = None) -> Any:
    """The scene's data as a dask array (NumPy wrapped without a copy), one band chunk."""
    data = scene.data
    if not is_dask(data):
        chunks = like.chunks if like is not None else (-1, DEFAULT_CHUNK, DEFAULT_CHUNK)
        data = to_dask_blocks(np.asarray(data), chunks)
    data = data.rechunk({0: -1})
    if like is not None:
        data = data.rechunk(like.chunks)
    return data


def _dask_pair(ref: xr.DataArray, tst: xr.DataArray) -> tuple[Any, Any]:
    """Both scenes as dask arrays chunked alike (NumPy input wrapped without a copy)."""
    a = _as_dask(ref)
    return a, _as_dask(tst, like=a)


@dataclass(frozen=True)
class _Validity:
    """What makes a pixel invalid: NaN/inf, either image's ``nodata``, an explicit mask."""

    nodata_ref: float | None
    nodata_test: float | None
    mask: Any  # (band, y, x) bool NumPy or dask array, broadcast to every band; or None
    floating: bool

    @property
    def active(self) -> bool:
        return (
            self.floating
            or self.nodata_ref is not None
            or self.nodata_test is not None
            or self.mask is not None
        )


def _nodata(scene: xr.DataArray) -> float | None:
    """``attrs["nodata"]`` cast to the scene's dtype (as GDAL compares it), or None."""
    value = scene.attrs.get("nodata")
    if value is None:
        return None
    value = float(np.asarray(value).astype(scene.dtype))
    return None if math.isnan(value) else value


def _validity(ref: xr.DataArray, tst: xr.DataArray, mask: Any) -> _Validity:
    """Validity rules of a (reference, test) pair and an optional user mask."""
    m = None
    if mask is not None:
        scene = as_scene(mask)
        if scene.dtype != bool:
            raise InvalidParameterError(f"mask must be boolean (True = valid), got {scene.dtype}")
        if scene.shape[1:] != ref.shape[1:] or scene.shape[0] not in (1, ref.shape[0]):
            raise ShapeMismatchError(
                f"mask has shape {scene.shape} (band, y, x); expected (1 or {ref.shape[0]}, "
                f"{ref.shape[1]}, {ref.shape[2]})"
            )
        m = scene.data
        # a dask mask stays lazy (NumPy's dispatch calls dask's broadcast_to)
        m = np.broadcast_to(m if is_dask(m) else np.asarray(m), ref.shape)
    floating = any(np.issubdtype(s.dtype, np.floating) for s in (ref, tst))
    return _Validity(_nodata(ref), _nodata(tst), m, floating)


def _finish(ds: xr.Dataset, lazy: bool) -> xr.Dataset:
    return ds if lazy else ds.compute()


def _band_coords(ref: xr.DataArray) -> dict[str, Any]:
    return {"band": ref.coords["band"].values} if "band" in ref.coords else {}


# -- SSIM ----------------------------------------------------------------------------------


def _ssim_chunk(
    block_r: np.ndarray,
    info: BlockInfo,
    block_t: np.ndarray,
    *mask: np.ndarray,
    weights: np.ndarray,
    c1: float,
    c2: float,
    cov_norm: float,
    cs_only: bool,
    validity: tuple[float | None, float | None] | None = None,
) -> np.ndarray:
    """Per-band (sum, count) of SSIM over this block's share of the validity region.

    With ``validity = (nodata_ref, nodata_test)`` (and an optional ``mask`` block), only the
    windows whose every pixel is valid are summed; a fast scan skips all of it for blocks
    without an invalid pixel.
    """
    r = window_radius(weights)
    ny, nx = info.shape
    core_ny = block_r.shape[1] - info.halo_top - info.halo_bottom
    core_nx = block_r.shape[2] - info.halo_left - info.halo_right
    gy0 = info.y0 - info.halo_top  # global row of block row 0
    gx0 = info.x0 - info.halo_left
    lo_y, hi_y = max(info.y0, r), min(info.y0 + core_ny, ny - r)
    lo_x, hi_x = max(info.x0, r), min(info.x0 + core_nx, nx - r)
    rows = (lo_y - gy0 - r, hi_y - gy0 - r)
    cols = (lo_x - gx0 - r, hi_x - gx0 - r)
    out = np.zeros((block_r.shape[0], 2))
    for b in range(block_r.shape[0]):
        valid = None
        if validity is not None:
            valid = pixel_validity(
                block_r[b], block_t[b], validity[0], validity[1], mask[0][b] if mask else None
            )
        total, count = ssim_block_sums(
            block_r[b], block_t[b], weights, c1, c2, cov_norm, rows, cols, cs_only, valid
        )
        out[b] = total, count
    return out


def _sum_parts(parts: list[np.ndarray]) -> np.ndarray:
    return np.sum(np.stack(parts), axis=0)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


def _ssim_sums(
    a: Any,
    b: Any,
    win: _SSIMWindow,
    c1: float,
    c2: float,
    cs_only: bool,
    validity: _Validity | None = None,
) -> Any:
    """Lazy ``(band, 2)`` array of (sum, count) of SSIM (or CS) over the validity region."""
    active = validity is not None and validity.active
    chunk = functools.partial(
        _ssim_chunk,
        weights=win.weights,
        c1=c1,
        c2=c2,
        cov_norm=win.cov_norm,
        cs_only=cs_only,
        validity=(validity.nodata_ref, validity.nodata_test) if active else None,
    )
    ref = xr.DataArray(a, dims=("band", "y", "x"))
    extra = [xr.DataArray(b, dims=("band", "y", "x"))]
    if active and validity.mask is not None:
        mask = rechunk_like(validity.mask, a)
        extra.append(xr.DataArray(mask, dims=("band", "y", "x")))
    # chunks thinner than the window radius are merged into a neighbour (explicitly)
    delayed = reduce_blocks(
        chunk,
        _sum_parts,
        _identity,
        ref,
        halo=win.radius,
        extra=tuple(extra),
        compute=False,
        rechunk=True,
    )
    return lazy_array(delayed, shape=(a.shape[0], 2), dtype=np.float64)


def _mean_of(sums: Any) -> Any:
    """``sum / count`` per band; NaN for a band without any counted pixel (lazy for dask)."""
    count = sums[:, 1]
    return np.where(count > 0, sums[:, 0] / np.maximum(count, 1), np.nan)


def _check_size(shape: tuple[int, ...], win: _SSIMWindow, what: str) -> None:
    size = len(win.weights)
    if shape[-2] < size or shape[-1] < size:
        raise NotMeasurableError(
            f"{what}: image of {shape[-2]} x {shape[-1]} pixels is smaller than the "
            f"{size} x {size} window {win.description}"
        )


def _ssim_attrs(
    win: _SSIMWindow, data_range: float, k1: float, k2: float, source: str = "user"
) -> dict[str, Any]:
    return {
        "window": win.description,
        "data_range": data_range,
        "data_range_source": source,
        "k1": k1,
        "k2": k2,
        "covariance": win.covariance,
        "crop": win.radius,
        "references": f"{_WANG2004}; {_SKIMAGE_SSIM}",
    }


def _ssim_halo(
    window: str = "gaussian", sigma: float = 1.5, truncate: float = 3.5, win_size: int = 7, **_: Any
) -> int:
    return window_radius(_ssim_window(window, sigma, truncate, win_size, None).weights)


@register_metric(
    "ssim",
    summary="Structural similarity (Wang 2004), per band and per image.",
    outputs=("ssim", "ssim_band"),
    units={"ssim": "1", "ssim_band": "1"},
    chunk_invariant=True,
    halo=_ssim_halo,
    references=(_WANG2004, _SKIMAGE_SSIM),
)
def ssim(
    reference: Any,
    test: Any,
    *,
    data_range: float | None = None,
    window: Window = "gaussian",
    sigma: float = 1.5,
    truncate: float = 3.5,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
    sample_covariance: bool | None = None,
    mask: Any = None,
) -> xr.Dataset:
    """Structural similarity of ``test`` against ``reference``.

    Parameters
    ----------
    reference, test : array-like or xarray.DataArray
        ``(band, y, x)`` or ``(y, x)`` images of the same shape.
    data_range : float, optional
        Dynamic range ``L`` (see :func:`resolve_data_range`); required for float images.
    window : {"gaussian", "uniform"}
        ``"gaussian"`` (default): Gaussian weights, ``sigma`` 1.5 truncated at ``truncate``
        sigmas (11 x 11), population covariance -- Wang et al. (2004), and skimage with
        ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``.
        ``"uniform"``: ``win_size`` x ``win_size`` box with the sample covariance, skimage's
        default.
    sigma, truncate : float
        Gaussian window parameters.
    win_size : int
        Side of the uniform window (odd).
    k1, k2 : float
        Constants of ``C1 = (k1 L)²`` and ``C2 = (k2 L)²``.
    sample_covariance : bool, optional
        Override the window's covariance convention.
    mask : array-like or xarray.DataArray of bool, optional
        Validity (``True`` = valid), ``(y, x)`` or ``(band, y, x)`` with 1 or as many bands
        as the images. It is combined with the default rule, which always applies: a pixel
        is invalid where either image is NaN/inf or equals its own ``attrs["nodata"]``.

    Returns
    -------
    xarray.Dataset
        ``ssim_band`` (band), ``ssim`` (mean over bands), ``count`` (pixels averaged per
        band); attrs ``window``, ``data_range``, ``k1``, ``k2``, ``covariance``, ``crop``.
        Lazy for dask input. A band without any counted pixel gives NaN.

    Notes
    -----
    The mean is over pixels at least ``crop = (window side - 1) // 2`` pixels from every
    edge, exactly as skimage. Chunks smaller than ``crop`` are merged into a neighbour.

    **Nodata**: a pixel's SSIM is counted only if *every* pixel of its window (the full
    ``side x side`` support, Gaussian tails included) is valid, so invalid values never
    reach a counted window; its centre being valid is not enough. Without invalid pixels
    the result is exactly the unmasked one.
    """
    ref, tst = _pair(reference, test)
    win = _ssim_window(window, sigma, truncate, win_size, sample_covariance)
    _check_size(ref.shape, win, "ssim")
    L, L_src = data_range_and_source(ref, tst, data_range)
    c1, c2 = ssim_constants(L, k1, k2)
    lazy = is_dask(ref) or is_dask(tst)
    a, b = _dask_pair(ref, tst)
    sums = _ssim_sums(a, b, win, c1, c2, cs_only=False, validity=_validity(ref, tst, mask))
    per_band = _mean_of(sums)
    ds = xr.Dataset(
        {
            "ssim": ((), per_band.mean()),
            "ssim_band": (("band",), per_band),
            "count": (("band",), sums[:, 1].astype(np.int64)),
        },
        coords=_band_coords(ref),
        attrs={"metric": "ssim", **_ssim_attrs(win, L, k1, k2, L_src)},
    )
    return _finish(ds, lazy)


# -- MS-SSIM -------------------------------------------------------------------------------


@register_metric(
    "ms_ssim",
    summary="Multi-scale SSIM (Wang 2003, 5 scales, 2x2 mean downsampling).",
    outputs=("ms_ssim", "ms_ssim_band"),
    units={"ms_ssim": "1", "ms_ssim_band": "1"},
    chunk_invariant=True,
    halo=_ssim_halo,
    references=(_WANG2003, _WANG2004),
)
def ms_ssim(
    reference: Any,
    test: Any,
    *,
    data_range: float | None = None,
    weights: Sequence[float] = WANG2003_WEIGHTS,
    window: Window = "gaussian",
    sigma: float = 1.5,
    truncate: float = 3.5,
    win_size: int = 7,
    k1: float = 0.01,
    k2: float = 0.03,
    sample_covariance: bool | None = None,
) -> xr.Dataset:
    """Multi-scale SSIM of ``test`` against ``reference`` (Wang, Simoncelli & Bovik 2003).

    At scale ``j = 1 .. M`` (``M = len(weights)``, 5 by default) the image is the previous
    scale reduced by an explicit **2 x 2 block mean** (an odd trailing row or column is
    dropped first; scale 1 is the input). Each scale's contrast-structure term ``cs_j`` and
    the last scale's SSIM are averaged over skimage's cropped validity region (see
    :func:`ssim`), clipped at 0 (as TensorFlow and pytorch_msssim do) and combined as
    ``ssim_M**w_M * prod(cs_j**w_j, j < M)``.

    Parameters
    ----------
    reference, test, data_range, window, sigma, truncate, win_size, k1, k2, sample_covariance
        As in :func:`ssim`; ``data_range`` (``L``) is the same at every scale.
    weights : sequence of float
        Per-scale exponents, finest first (default :data:`WANG2003_WEIGHTS`).

    Returns
    -------
    xarray.Dataset
        ``ms_ssim_band`` (band), ``ms_ssim`` (mean over bands), ``cs`` (band, scale; the
        last scale holds SSIM); attrs as :func:`ssim` plus ``weights`` and ``downsampling``.

    Raises
    ------
    NotMeasurableError
        If the coarsest scale is smaller than the window (for the 11-tap default, images
        need at least 176 pixels per side with 5 scales).
    """
    ref, tst = _pair(reference, test)
    win = _ssim_window(window, sigma, truncate, win_size, sample_covariance)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) < 1 or np.any(w < 0):
        raise InvalidParameterError(f"weights must be a non-empty sequence of >= 0, got {weights}")
    L, L_src = data_range_and_source(ref, tst, data_range)
    m = len(w)
    side = len(win.weights) * 2 ** (m - 1)
    if min(ref.shape[1:]) < side:
        raise NotMeasurableError(
            f"ms_ssim: image of {ref.shape[1]} x {ref.shape[2]} pixels is too small for {m} "
            f"scales with the {len(win.weights)}-pixel window {win.description}; it needs at "
            f"least {side} pixels per side"
        )
    c1, c2 = ssim_constants(L, k1, k2)
    lazy = is_dask(ref) or is_dask(tst)
    a, b = _dask_pair(ref, tst)
    terms = []
    for j in range(m):
        if j:
            a, b = coarsen_halve(a), coarsen_halve(b)
        # merged chunks carry over to the next scale's halving (the layout is part of the
        # arithmetic: keep it stable)
        a = merge_chunks_for_halo(a, win.radius, win.radius)
        b = b.rechunk(a.chunks)
        sums = _ssim_sums(a, b, win, c1, c2, cs_only=j < m - 1)
        terms.append(sums[:, 0] / sums[:, 1])
    cs = np.stack(terms, axis=1)  # (band, scale); lazy: NumPy dispatches to dask
    per_band = np.prod(np.maximum(cs, 0.0) ** w[None, :], axis=1)
    ds = xr.Dataset(
        {
            "ms_ssim": ((), per_band.mean()),
            "ms_ssim_band": (("band",), per_band),
            "cs": (("band", "scale"), cs),
        },
        coords={**_band_coords(ref), "scale": np.arange(1, m + 1)},
        attrs={
            "metric": "ms_ssim",
            **_ssim_attrs(win, L, k1, k2, L_src),
            "weights": [float(x) for x in w],
            "downsampling": "2x2 block mean per scale; odd trailing row/column dropped",
            "references": f"{_WANG2003}; {_WANG2004}",
        },
    )
    return _finish(ds, lazy)


# -- MSE / RMSE / PSNR / ERGAS / SAM ------------------------------------------------------


def _sq_err(a: Any, b: Any) -> Any:
    d = a.astype(np.float64) - b.astype(np.float64)
    return d * d


def _safe_div(num: Any, den: Any) -> Any:
    """``num / den`` where ``den > 0``, NaN elsewhere (no warning), NumPy or dask."""
    if is_dask(num) or is_dask(den):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)
    den = np.asarray(den)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.maximum(den, 1), np.nan)


def _error_sums_chunk(
    block_a: np.ndarray,
    info: BlockInfo,
    block_b: np.ndarray,
    *mask: np.ndarray,
    kernel: Any,
    **kwargs: Any,
) -> np.ndarray:
    """One block's partial sums: ``kernel(a, b, mask, **kwargs)``."""
    return kernel(block_a, block_b, mask[0] if mask else None, **kwargs)


def _pack(sums: np.ndarray, finish: Any) -> np.ndarray:
    """The arrays ``finish(sums)`` returns, raveled one after the other (float64)."""
    return np.concatenate([np.ravel(np.asarray(x, dtype=np.float64)) for x in finish(sums)])


@dataclass(frozen=True)
class _ErrorSums:
    """A pair's validity rules and the lazy results of one single-pass block reduction."""

    lazy: bool  # an input was dask-backed: the Dataset stays lazy
    validity: _Validity
    npix: int  # pixels per band

    def reduce(
        self,
        ref: xr.DataArray,
        tst: xr.DataArray,
        kernel: Any,
        finish: Any,
        shapes: Sequence[tuple[int, ...]],
        **kw: Any,
    ) -> list[Any]:
        """Lazy arrays of ``shapes``: ``finish`` of the block sums of ``kernel``, added.

        ``kernel(a, b, mask, nodata_a=, nodata_b=, check_finite=, **kw)`` is one of
        :mod:`iqx.kernels.error_sums`; ``finish`` (NumPy, run once on the summed partials)
        returns arrays of ``shapes``. Everything after the kernels is NumPy in the final
        task, so the graph has one layer per output, whatever the metric's arithmetic.
        NumPy input is split into :data:`DEFAULT_CHUNK` views to run on every core.
        """
        a, b = _dask_pair(ref, tst)
        extra = [xr.DataArray(b, dims=("band", "y", "x"))]
        v = self.validity
        if v.mask is not None:
            # views for eager NumPy input (like the images), a dask copy in a lazy graph
            lazy_mask = is_dask(v.mask) or self.lazy
            m = rechunk_like(v.mask, a) if lazy_mask else to_dask_blocks(v.mask, a.chunks)
            extra.append(xr.DataArray(m, dims=("band", "y", "x")))
        chunk = functools.partial(
            _error_sums_chunk,
            kernel=kernel,
            nodata_a=v.nodata_ref,
            nodata_b=v.nodata_test,
            check_finite=v.floating,
            **kw,
        )
        sizes = [math.prod(s) for s in shapes]
        delayed = reduce_blocks(
            chunk,
            _sum_parts,
            functools.partial(_pack, finish=finish),
            xr.DataArray(a, dims=("band", "y", "x")),
            extra=tuple(extra),
            compute=False,
        )
        packed = lazy_array(delayed, shape=(sum(sizes),), dtype=np.float64)
        offsets = np.cumsum([0, *sizes])
        return [
            packed[o : o + n].reshape(s) for o, n, s in zip(offsets, sizes, shapes, strict=False)
        ]


def _error_sums(ref: xr.DataArray, tst: xr.DataArray, mask: Any) -> _ErrorSums:
    return _ErrorSums(
        is_dask(ref) or is_dask(tst), _validity(ref, tst, mask), ref.shape[1] * ref.shape[2]
    )


def _mse_of(sums: np.ndarray, active: bool, npix: int) -> tuple[np.ndarray, Any, np.ndarray]:
    """Per-band MSE, pooled MSE and per-band count from ``squared_error_sums`` totals."""
    sse = sums[:, 0]
    if not active:  # every element counts
        count = np.full(len(sse), float(npix))
        band = sse / npix
        return band, band.mean(), count
    count = sums[:, 1]
    band = _safe_div(sse, count)
    # equal counts (e.g. nothing masked): the band mean, bit for bit the unmasked value
    if (count == count[0]).all():
        return band, band.mean(), count
    return band, _safe_div(sse.sum(), count.sum()), count


def _sq_err_stats(
    ref: xr.DataArray, tst: xr.DataArray, mask: Any, transform: Any = None
) -> tuple[bool, Any, Any, Any]:
    """``(lazy, per-band, pooled, count)`` MSE of a pair from one pass over it.

    ``transform`` (NumPy, e.g. ``sqrt``) is applied to the per-band and pooled MSE in the
    reduction's final task. ``count`` is int64.
    """
    es = _error_sums(ref, tst, mask)
    nb = ref.shape[0]
    finish = functools.partial(
        _finish_mse, active=es.validity.active, npix=es.npix, transform=transform
    )
    band, pooled, count = es.reduce(ref, tst, squared_error_sums, finish, [(nb,), (), (nb,)])
    return es.lazy, band, pooled, count.astype(np.int64)


def _finish_mse(
    sums: np.ndarray, active: bool, npix: int, transform: Any = None
) -> tuple[Any, ...]:
    band, pooled, count = _mse_of(sums, active, npix)
    if transform is not None:
        band, pooled = transform(band), transform(pooled)
    return band, pooled, count


def _finish_ergas(sums: np.ndarray, active: bool, npix: int, ratio: float) -> tuple[Any, ...]:
    band, _, count = _mse_of(sums, active, npix)
    mean_ref = _safe_div(sums[:, 2], count) if active else sums[:, 2] / npix
    with np.errstate(divide="ignore"):
        value = 100.0 * ratio * np.sqrt((band / mean_ref**2).mean())
    return value, np.sqrt(band), mean_ref


def _finish_sam(sums: np.ndarray, degrees: bool) -> tuple[Any, ...]:
    value = _safe_div(sums[0], sums[1])
    if degrees:
        value = value * (180.0 / np.pi)
    return value, sums[1]


def _db_block(mse_value: Any, data_range: float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10((data_range * data_range) / np.asarray(mse_value, np.float64))


def _psnr_db(mse_value: Any, data_range: float) -> Any:
    """``10 log10(L² / MSE)``; ``inf`` for a zero MSE without a warning, lazily for dask."""
    if isinstance(mse_value, xr.DataArray):
        return mse_value.copy(data=_psnr_db(mse_value.data, data_range))
    if is_dask(mse_value):
        return mse_value.map_blocks(_db_block, data_range, dtype=np.float64)
    return _db_block(mse_value, data_range)


@register_metric(
    "mse",
    summary="Mean squared error, per band and per image.",
    outputs=("mse", "mse_band"),
    units={"mse": "DN^2", "mse_band": "DN^2"},
    references=("skimage.metrics.mean_squared_error",),
)
def mse(reference: Any, test: Any, *, mask: Any = None) -> xr.Dataset:
    """Mean squared error (float64), per band (``mse_band``) and over all bands (``mse``).

    Parameters
    ----------
    reference, test : array-like or xarray.DataArray
        Images of the same shape.
    mask : array-like or xarray.DataArray of bool, optional
        Validity (``True`` = valid), ``(y, x)`` or ``(band, y, x)``; combined with the
        default rule (NaN/inf or ``attrs["nodata"]`` in either image is invalid).

    Returns
    -------
    xarray.Dataset
        ``mse_band``, ``mse`` (pooled over the valid elements of every band) and ``count``
        (valid pixels per band). A band without a valid pixel gives NaN.
    """
    ref, tst = _pair(reference, test)
    lazy, band, pooled, count = _sq_err_stats(ref, tst, mask)
    ds = xr.Dataset(
        {"mse": ((), pooled), "mse_band": (("band",), band), "count": (("band",), count)},
        coords=_band_coords(ref),
        attrs={"metric": "mse"},
    )
    return _finish(ds, lazy)


@register_metric(
    "rmse",
    summary="Root mean squared error, per band and per image.",
    outputs=("rmse", "rmse_band"),
    units={"rmse": "DN", "rmse_band": "DN"},
)
def rmse(reference: Any, test: Any, *, mask: Any = None) -> xr.Dataset:
    """Root mean squared error: ``sqrt`` of :func:`mse` per band and pooled over bands.

    ``mask`` and the nodata rule as in :func:`mse`; ``count`` is the valid pixels per band.
    """
    ref, tst = _pair(reference, test)
    lazy, band, pooled, count = _sq_err_stats(ref, tst, mask, transform=np.sqrt)
    ds = xr.Dataset(
        {"rmse": ((), pooled), "rmse_band": (("band",), band), "count": (("band",), count)},
        coords=_band_coords(ref),
        attrs={"metric": "rmse"},
    )
    return _finish(ds, lazy)


@register_metric(
    "psnr",
    summary="Peak signal-to-noise ratio in dB, per band and per image.",
    outputs=("psnr", "psnr_band"),
    units={"psnr": "dB", "psnr_band": "dB"},
    references=("skimage.metrics.peak_signal_noise_ratio",),
)
def psnr(
    reference: Any, test: Any, *, data_range: float | None = None, mask: Any = None
) -> xr.Dataset:
    """Peak signal-to-noise ratio ``10 log10(L² / MSE)`` in dB.

    Parameters
    ----------
    reference, test : array-like or xarray.DataArray
        Images of the same shape.
    data_range : float, optional
        ``L`` (see :func:`resolve_data_range`); required for float images.
    mask : array-like or xarray.DataArray of bool, optional
        Validity (``True`` = valid), ``(y, x)`` or ``(band, y, x)``; combined with the
        default rule (NaN/inf or ``attrs["nodata"]`` in either image is invalid).

    Returns
    -------
    xarray.Dataset
        ``psnr_band`` from each band's MSE and ``psnr`` from the MSE pooled over all bands
        (equal to :func:`skimage.metrics.peak_signal_noise_ratio` on the whole image, or on
        its valid pixels; it is not the mean of the per-band dB values), ``count`` (valid
        pixels per band). Identical images give ``inf``.
    """
    ref, tst = _pair(reference, test)
    L, L_src = data_range_and_source(ref, tst, data_range)
    lazy, band, pooled, count = _sq_err_stats(
        ref, tst, mask, transform=functools.partial(_db_block, data_range=L)
    )
    ds = xr.Dataset(
        {"psnr": ((), pooled), "psnr_band": (("band",), band), "count": (("band",), count)},
        coords=_band_coords(ref),
        attrs={"metric": "psnr", "data_range": L, "data_range_source": L_src},
    )
    return _finish(ds, lazy)


@register_metric(
    "ergas",
    summary="ERGAS relative dimensionless global error (Wald 2000), multi-band.",
    outputs=("ergas",),
    units={"ergas": "1"},
    references=(_WALD2000,),
)
def ergas(reference: Any, test: Any, *, ratio: float, mask: Any = None) -> xr.Dataset:
    """Erreur relative globale adimensionnelle de synthèse (Wald 2000).

    ``ERGAS = 100 * ratio * sqrt(mean_b(RMSE_b² / mu_b²))`` where ``mu_b`` is the mean of
    reference band ``b``.

    Parameters
    ----------
    reference, test : array-like or xarray.DataArray
        Multi-band images of the same shape.
    ratio : float
        ``h / l``, the pixel size of the high-resolution image divided by that of the
        low-resolution one (e.g. ``0.25`` for 0.5 m pan-sharpened from 2 m multispectral).
        Libraries that take "4" for that case use the inverse convention.
    mask : array-like or xarray.DataArray of bool, optional
        Validity (``True`` = valid), ``(y, x)`` or ``(band, y, x)``; combined with the
        default rule (NaN/inf or ``attrs["nodata"]`` in either image is invalid).
        ``RMSE_b`` and ``mu_b`` are then taken over each band's valid pixels.

    Returns
    -------
    xarray.Dataset
        ``ergas`` and the per-band ``rmse_band`` and ``mean_band`` it was built from. A
        reference band with zero mean gives ``inf``.
    """
    if not (isinstance(ratio, int | float) and ratio > 0 and math.isfinite(ratio)):
        raise InvalidParameterError(f"ratio (h/l pixel-size ratio) must be > 0, got {ratio!r}")
    ref, tst = _pair(reference, test)
    es = _error_sums(ref, tst, mask)
    nb = ref.shape[0]
    finish = functools.partial(
        _finish_ergas, active=es.validity.active, npix=es.npix, ratio=float(ratio)
    )
    value, rmse_band, mean_ref = es.reduce(
        ref, tst, squared_error_sums, finish, [(), (nb,), (nb,)], reference_sum=True
    )
    ds = xr.Dataset(
        {
            "ergas": ((), value),
            "rmse_band": (("band",), rmse_band),
            "mean_band": (("band",), mean_ref),
        },
        coords=_band_coords(ref),
        attrs={"metric": "ergas", "ratio": float(ratio), "references": _WALD2000},
    )
    return _finish(ds, es.lazy)


@register_metric(
    "sam",
    summary="Spectral angle mapper: mean angle between spectra (degrees by default).",
    outputs=("sam",),
    units={"sam": "degrees"},
    references=(_KRUSE1993,),
)
def sam(
    reference: Any,
    test: Any,
    *,
    unit: Literal["degrees", "radians"] = "degrees",
    mask: Any = None,
) -> xr.Dataset:
    """Spectral angle mapper: the mean over pixels of ``arccos(<r, t> / (|r| |t|))``.

    Parameters
    ----------
    reference, test : array-like or xarray.DataArray
        ``(band, y, x)`` images with at least 2 bands.
    unit : {"degrees", "radians"}
        Unit of the result (default degrees).
    mask : array-like or xarray.DataArray of bool, optional
        Validity (``True`` = valid), ``(y, x)`` or ``(band, y, x)``; combined with the
        default rule (NaN/inf or ``attrs["nodata"]`` in either image is invalid).
        A pixel counts only if every band of it is valid.

    Returns
    -------
    xarray.Dataset
        ``sam`` (mean angle over valid pixels whose reference and test spectra are both
        non-zero) and ``count`` (pixels averaged); attrs ``unit``.
    """
    if unit not in ("degrees", "radians"):
        raise InvalidParameterError(f"unit must be 'degrees' or 'radians', got {unit!r}")
    ref, tst = _pair(reference, test)
    if ref.shape[0] < 2:
        raise InvalidParameterError(
            f"sam needs at least 2 bands, {_label(ref, 'reference')} has {ref.shape[0]}"
        )
    es = _error_sums(ref, tst, mask)
    finish = functools.partial(_finish_sam, degrees=unit == "degrees")
    value, count = es.reduce(ref, tst, spectral_angle_sums, finish, [(), ()])
    ds = xr.Dataset(
        {"sam": ((), value), "count": ((), count.astype(np.int64))},
        attrs={"metric": "sam", "unit": unit, "references": _KRUSE1993},
    )
    return _finish(ds, es.lazy)


# -- maps ----------------------------------------------------------------------------------


def _tile_pair(tile: int | tuple[int, int]) -> tuple[int, int]:
    ty, tx = (tile, tile) if isinstance(tile, int | np.integer) else tuple(tile)
    if int(ty) < 1 or int(tx) < 1:
        raise InvalidParameterError(f"tile must be >= 1 pixel, got {tile!r}")
    return int(ty), int(tx)


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
    ref, tst = _pair(reference, test)
    win = _ssim_window(window, sigma, truncate, win_size, sample_covariance)
    _check_size(ref.shape, win, "ssim_map")
    L, L_src = data_range_and_source(ref, tst, data_range)
    c1, c2 = ssim_constants(L, k1, k2)
    lazy = is_dask(ref) or is_dask(tst)
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
        halo=win.radius,
        boundary="reflect",
        dtype=np.float64,
        kwargs={
            "nbands": nb,
            "weights": win.weights,
            "c1": c1,
            "c2": c2,
            "cov_norm": win.cov_norm,
        },
        rechunk=True,
    )
    smap = full.isel(band=slice(0, nb))
    attrs = {"metric": "ssim", **_ssim_attrs(win, L, k1, k2, L_src)}
    if tile is None:
        out = xr.DataArray(smap.data, dims=ref.dims, coords=ref.coords, name="ssim", attrs=attrs)
        return out if lazy else out.compute()
    ny, nx = ref.sizes["y"], ref.sizes["x"]
    r = win.radius
    iy = xr.DataArray(np.arange(ny), dims="y")
    ix = xr.DataArray(np.arange(nx), dims="x")
    inside = (iy >= r) & (iy < ny - r) & (ix >= r) & (ix < nx - r)
    coarse = _coarsen_nanmean(smap.where(inside), ref, _tile_pair(tile))
    coarse.attrs.update(attrs)
    coarse.name = "ssim"
    return coarse if lazy else coarse.compute()


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
    ref, tst = _pair(reference, test)
    L, L_src = data_range_and_source(ref, tst, data_range)
    lazy = is_dask(ref) or is_dask(tst)
    if lazy:
        a, b = _dask_pair(ref, tst)
    else:
        a, b = np.asarray(ref.data), np.asarray(tst.data)
    err = xr.DataArray(_sq_err(a, b), dims=("band", "y", "x"))
    coarse = _coarsen_nanmean(err, ref, _tile_pair(tile))
    out = _psnr_db(coarse, L)
    out.attrs.update(coarse.attrs)
    out.attrs.update({"metric": "psnr", "data_range": L, "data_range_source": L_src})
    out.name = "psnr"
    return out if lazy else out.compute()
