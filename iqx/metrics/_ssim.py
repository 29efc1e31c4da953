"""SSIM, MS-SSIM and the SSIM map on lazy scenes (the structural-similarity family).

SSIM reproduces :func:`skimage.metrics.structural_similarity`: the local statistics use a
separable window, and the mean is taken over the pixels at least ``r = (win - 1) // 2``
from every image edge (skimage's ``crop``). That crop is a validity region in global
coordinates, so every chunking gives the same mean; nothing is downsampled. The per-image
SSIM/MS-SSIM is the mean over bands (= skimage with ``channel_axis``). Options are
:class:`~iqx.metrics._reference_options.SSIMOptions` (and its MS-SSIM and map variants).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from iqx.errors import NotMeasurableError
from iqx.kernels.similarity import pixel_validity, ssim_block_sums, window_radius
from iqx.metrics._reference_options import (
    WANG2003_WEIGHTS,
    MSSSIMOptions,
    SSIMOptions,
)
from iqx.metrics._reference_pair import (
    MetricParts,
    _band_coords,
    _block_pair,
    _call_options,
    _dask_pair,
    _finish,
    _identity,
    _pair,
    _sum_parts,
    _Validity,
    _validity,
)
from iqx.metrics._result import result_attrs
from iqx.metrics.data_range import data_range_and_source
from iqx.parallel import (
    BlockInfo,
    coarsen_halve,
    is_dask,
    lazy_array,
    merge_chunks_for_halo,
    rechunk_like,
    reduce_blocks,
)
from iqx.parallel.reduction import reduce_block
from iqx.registry import register_metric

Window = Literal["gaussian", "uniform"]

_WANG2004 = "Wang, Bovik, Sheikh & Simoncelli (2004), IEEE TIP 13(4):600-612"
_WANG2003 = "Wang, Simoncelli & Bovik (2003), Asilomar Conf. Signals, Systems & Computers"
_SKIMAGE_SSIM = "skimage.metrics.structural_similarity"


# -- block reduction -----------------------------------------------------------------------


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


def _ssim_sums(
    a: Any,
    b: Any,
    opts: SSIMOptions,
    c1: float,
    c2: float,
    cs_only: bool,
    validity: _Validity | None = None,
) -> Any:
    """``(band, 2)`` array of (sum, count) of SSIM (or CS) over the validity region: lazy
    for dask ``a``, computed now for NumPy ``a`` (one block, see :func:`_block_pair`)."""
    active = validity is not None and validity.active
    chunk = functools.partial(
        _ssim_chunk,
        weights=opts.window_weights,
        c1=c1,
        c2=c2,
        cov_norm=opts.cov_norm,
        cs_only=cs_only,
        validity=(validity.nodata_ref, validity.nodata_test) if active else None,
    )
    eager = not is_dask(a)
    blocks = [b]
    if active and validity.mask is not None:
        blocks.append(np.asarray(validity.mask) if eager else rechunk_like(validity.mask, a))
    if eager:  # one NumPy block: the reduction's calls, without DataArrays around them
        arrays = [np.asarray(x) for x in (a, *blocks)]
        return reduce_block(chunk, _sum_parts, _identity, *arrays)
    # chunks thinner than the window radius are merged into a neighbour (explicitly)
    sums = reduce_blocks(
        chunk,
        _sum_parts,
        _identity,
        xr.DataArray(a, dims=("band", "y", "x")),
        halo=opts.halo,
        extra=tuple(xr.DataArray(x, dims=("band", "y", "x")) for x in blocks),
        compute=False,
        rechunk=True,
    )
    return lazy_array(sums, shape=(a.shape[0], 2), dtype=np.float64)


def _mean_of(sums: Any) -> Any:
    """``sum / count`` per band; NaN for a band without any counted pixel (lazy for dask)."""
    count = sums[:, 1]
    return np.where(count > 0, sums[:, 0] / np.maximum(count, 1), np.nan)


# -- shared set-up -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _SSIMSetup:
    """A validated pair, its dynamic range and constants: what every SSIM function needs."""

    ref: xr.DataArray
    tst: xr.DataArray
    data_range: float
    data_range_source: str
    c1: float
    c2: float

    @property
    def lazy(self) -> bool:
        """Whether an input is dask-backed (the result then stays lazy)."""
        return is_dask(self.ref) or is_dask(self.tst)

    def attrs(self, opts: SSIMOptions, **extra: Any) -> dict[str, Any]:
        """The result attrs: :func:`result_attrs` plus the window and constants."""
        return result_attrs(
            opts.metric,
            dataclasses.replace(opts, data_range=self.data_range),
            window=opts.description,
            data_range=self.data_range,
            data_range_source=self.data_range_source,
            k1=opts.k1,
            k2=opts.k2,
            covariance=opts.covariance,
            crop=opts.halo,
            references=f"{_WANG2004}; {_SKIMAGE_SSIM}",
            **extra,
        )


def _prepare(reference: Any, test: Any, opts: SSIMOptions, min_side: int = 0) -> _SSIMSetup:
    """Validate the pair, resolve ``L``, check the size, and give ``(C1, C2)``.

    ``min_side`` (MS-SSIM's coarsest scale) replaces the single-window size check.
    """
    ref, tst = _pair(reference, test)
    L, L_src = data_range_and_source(ref, tst, opts.data_range)
    ny, nx = ref.shape[-2:]
    if min_side and min(ny, nx) < min_side:
        raise NotMeasurableError(
            f"{opts.metric}: image of {ny} x {nx} pixels is too small for "
            f"{len(opts.weights)} scales with the {opts.side}-pixel window "
            f"{opts.description}; it needs at least {min_side} pixels per side"
        )
    if not min_side and (ny < opts.side or nx < opts.side):
        raise NotMeasurableError(
            f"{opts.metric}: image of {ny} x {nx} pixels is smaller than the "
            f"{opts.side} x {opts.side} window {opts.description}"
        )
    c1, c2 = opts.constants(L)
    return _SSIMSetup(ref, tst, L, L_src, c1, c2)


def _ssim_halo(**kw: Any) -> int:
    """Registered halo of ``ssim``: the window radius of the given options."""
    return SSIMOptions.from_kwargs(ignore=("mask",), **kw).halo


def _ms_ssim_halo(**kw: Any) -> int:
    """Registered halo of ``ms_ssim`` (at the finest scale)."""
    return MSSSIMOptions.from_kwargs(**kw).halo


# -- SSIM ----------------------------------------------------------------------------------


@register_metric(
    "ssim",
    summary="Structural similarity (Wang 2004), per band and per image.",
    outputs=("ssim", "ssim_band"),
    units={"ssim": "1", "ssim_band": "1"},
    chunk_invariant=True,
    halo=_ssim_halo,
    references=(_WANG2004, _SKIMAGE_SSIM),
    options=SSIMOptions,
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
    opts = _call_options(SSIMOptions, locals())
    return _ssim_parts(reference, test, opts, mask).dataset()


def _ssim_parts(reference: Any, test: Any, opts: SSIMOptions, mask: Any = None) -> MetricParts:
    s = _prepare(reference, test, opts)
    validity = _validity(s.ref, s.tst, mask)
    a, b = _block_pair(s.ref, s.tst, validity.mask)
    sums = _ssim_sums(a, b, opts, s.c1, s.c2, cs_only=False, validity=validity)
    per_band = _mean_of(sums)
    variables = {
        "ssim": ((), per_band.mean()),
        "ssim_band": (("band",), per_band),
        "count": (("band",), sums[:, 1].astype(np.int64)),
    }
    return MetricParts(variables, s.ref, s.attrs(opts), s.lazy)


def _ssim_call_parts(reference: Any, test: Any, *, mask: Any = None, **options: Any) -> MetricParts:
    """:func:`ssim`'s :class:`MetricParts` from its keyword arguments (the defaults of
    :class:`SSIMOptions` are the function's)."""
    return _ssim_parts(reference, test, SSIMOptions.from_kwargs(**options), mask)


ssim.parts = _ssim_call_parts  # type: ignore[attr-defined]


# -- MS-SSIM -------------------------------------------------------------------------------


@register_metric(
    "ms_ssim",
    summary="Multi-scale SSIM (Wang 2003, 5 scales, 2x2 mean downsampling).",
    outputs=("ms_ssim", "ms_ssim_band"),
    units={"ms_ssim": "1", "ms_ssim_band": "1"},
    chunk_invariant=True,
    halo=_ms_ssim_halo,
    references=(_WANG2003, _WANG2004),
    options=MSSSIMOptions,
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
    opts = _call_options(MSSSIMOptions, locals())
    s = _prepare(reference, test, opts, min_side=opts.min_side)
    w = np.asarray(opts.weights, dtype=np.float64)
    m = opts.scales
    a, b = _dask_pair(s.ref, s.tst)
    terms = []
    for j in range(m):
        if j:
            a, b = coarsen_halve(a), coarsen_halve(b)
        # merged chunks carry over to the next scale's halving (the layout is part of the
        # arithmetic: keep it stable)
        a = merge_chunks_for_halo(a, opts.halo, opts.halo)
        b = b.rechunk(a.chunks)
        sums = _ssim_sums(a, b, opts, s.c1, s.c2, cs_only=j < m - 1)
        terms.append(sums[:, 0] / sums[:, 1])
    cs = np.stack(terms, axis=1)  # (band, scale); lazy: NumPy dispatches to dask
    per_band = np.prod(np.maximum(cs, 0.0) ** w[None, :], axis=1)
    attrs = s.attrs(
        opts,
        weights=list(opts.weights),
        downsampling="2x2 block mean per scale; odd trailing row/column dropped",
    )
    attrs["references"] = f"{_WANG2003}; {_WANG2004}"
    ds = xr.Dataset(
        {
            "ms_ssim": ((), per_band.mean()),
            "ms_ssim_band": (("band",), per_band),
            "cs": (("band", "scale"), cs),
        },
        coords={**_band_coords(s.ref), "scale": np.arange(1, m + 1)},
        attrs=attrs,
    )
    return _finish(ds, s.lazy)
