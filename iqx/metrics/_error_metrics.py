"""Error metrics of a (reference, test) pair: MSE, RMSE, PSNR, ERGAS and SAM.

Each is one single-pass block reduction of :mod:`iqx.kernels.error_sums` partial sums,
finished in NumPy in the graph's last task. MSE/PSNR/RMSE per image are computed from the
MSE pooled over all bands (= skimage on the whole cube; for MSE this equals the band
mean). Options are the frozen definitions of :mod:`iqx.metrics._reference_options`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.kernels.error_sums import spectral_angle_sums, squared_error_sums
from iqx.metrics._reference_options import ErgasOptions, PSNROptions, SAMOptions
from iqx.metrics._reference_pair import (
    MetricParts,
    _band_coords,
    _block_pair,
    _finish,
    _label,
    _pair,
    _sum_parts,
    _Validity,
    _validity,
)
from iqx.metrics._result import result_attrs
from iqx.metrics.data_range import data_range_and_source
from iqx.parallel import (
    BlockInfo,
    is_dask,
    lazy_array,
    rechunk_like,
    reduce_blocks,
    to_dask_blocks,
)
from iqx.parallel.reduction import reduce_block
from iqx.registry import register_metric

_WALD2000 = "Wald (2000), Quality of high resolution synthesised images, SEE/URISCA"
_KRUSE1993 = "Kruse et al. (1993), The spectral image processing system (SIPS)"


# -- the single-pass reduction -------------------------------------------------------------


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
        NumPy input is split into :data:`DEFAULT_CHUNK` views to run on every core; NumPy
        input of one such block is reduced in place and gives NumPy arrays.
        """
        v = self.validity
        a, b = _block_pair(ref, tst, v.mask)
        eager = not is_dask(a)
        blocks = [b]
        if v.mask is not None:
            # views for eager NumPy input (like the images), a dask copy in a lazy graph
            if eager:
                m = np.asarray(v.mask)
            elif is_dask(v.mask) or self.lazy:
                m = rechunk_like(v.mask, a)
            else:
                m = to_dask_blocks(v.mask, a.chunks)
            blocks.append(m)
        chunk = functools.partial(
            _error_sums_chunk,
            kernel=kernel,
            nodata_a=v.nodata_ref,
            nodata_b=v.nodata_test,
            check_finite=v.floating,
            **kw,
        )
        sizes = [math.prod(s) for s in shapes]
        pack = functools.partial(_pack, finish=finish)
        if eager:  # one NumPy block: the reduction's calls, without DataArrays around them
            arrays = [np.asarray(x) for x in (a, *blocks)]
            packed = reduce_block(chunk, _sum_parts, pack, *arrays)
        else:
            delayed = reduce_blocks(
                chunk,
                _sum_parts,
                pack,
                xr.DataArray(a, dims=("band", "y", "x")),
                extra=tuple(xr.DataArray(x, dims=("band", "y", "x")) for x in blocks),
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


def _sq_err_parts(
    name: str, ref: xr.DataArray, tst: xr.DataArray, mask: Any, attrs: dict, transform: Any = None
) -> MetricParts:
    """The outputs of ``mse``, ``rmse`` or ``psnr``: ``name`` (pooled over bands),
    ``{name}_band`` and ``count``, from one pass (:func:`_sq_err_stats` with ``transform``)."""
    lazy, band, pooled, count = _sq_err_stats(ref, tst, mask, transform=transform)
    variables = {name: ((), pooled), f"{name}_band": (("band",), band), "count": (("band",), count)}
    return MetricParts(variables, ref, attrs, lazy)


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
    return _mse_parts(reference, test, mask=mask).dataset()


def _mse_parts(reference: Any, test: Any, *, mask: Any = None) -> MetricParts:
    ref, tst = _pair(reference, test)
    return _sq_err_parts("mse", ref, tst, mask, result_attrs("mse"))


mse.parts = _mse_parts  # type: ignore[attr-defined]


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
    return _rmse_parts(reference, test, mask=mask).dataset()


def _rmse_parts(reference: Any, test: Any, *, mask: Any = None) -> MetricParts:
    ref, tst = _pair(reference, test)
    return _sq_err_parts("rmse", ref, tst, mask, result_attrs("rmse"), transform=np.sqrt)


rmse.parts = _rmse_parts  # type: ignore[attr-defined]


@register_metric(
    "psnr",
    summary="Peak signal-to-noise ratio in dB, per band and per image.",
    outputs=("psnr", "psnr_band"),
    units={"psnr": "dB", "psnr_band": "dB"},
    references=("skimage.metrics.peak_signal_noise_ratio",),
    options=PSNROptions,
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
    return _psnr_parts(reference, test, data_range=data_range, mask=mask).dataset()


def _psnr_parts(
    reference: Any, test: Any, *, data_range: float | None = None, mask: Any = None
) -> MetricParts:
    opts = PSNROptions(data_range=data_range)
    ref, tst = _pair(reference, test)
    L, L_src = data_range_and_source(ref, tst, opts.data_range)
    attrs = result_attrs(
        "psnr", dataclasses.replace(opts, data_range=L), data_range=L, data_range_source=L_src
    )
    db = functools.partial(_db_block, data_range=L)
    return _sq_err_parts("psnr", ref, tst, mask, attrs, transform=db)


psnr.parts = _psnr_parts  # type: ignore[attr-defined]


@register_metric(
    "ergas",
    summary="ERGAS relative dimensionless global error (Wald 2000), multi-band.",
    outputs=("ergas",),
    units={"ergas": "1"},
    references=(_WALD2000,),
    options=ErgasOptions,
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
    opts = ErgasOptions(ratio=ratio)
    ref, tst = _pair(reference, test)
    es = _error_sums(ref, tst, mask)
    nb = ref.shape[0]
    finish = functools.partial(
        _finish_ergas, active=es.validity.active, npix=es.npix, ratio=opts.ratio
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
        attrs=result_attrs("ergas", opts, ratio=opts.ratio, references=_WALD2000),
    )
    return _finish(ds, es.lazy)


@register_metric(
    "sam",
    summary="Spectral angle mapper: mean angle between spectra (degrees by default).",
    outputs=("sam",),
    units={"sam": "degrees"},
    references=(_KRUSE1993,),
    options=SAMOptions,
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
    opts = SAMOptions(unit=unit)
    ref, tst = _pair(reference, test)
    if ref.shape[0] < 2:
        raise InvalidParameterError(
            f"sam needs at least 2 bands, {_label(ref, 'reference')} has {ref.shape[0]}"
        )
    es = _error_sums(ref, tst, mask)
    finish = functools.partial(_finish_sam, degrees=opts.unit == "degrees")
    value, count = es.reduce(ref, tst, spectral_angle_sums, finish, [(), ()])
    ds = xr.Dataset(
        {"sam": ((), value), "count": ((), count.astype(np.int64))},
        attrs=result_attrs("sam", opts, unit=opts.unit, references=_KRUSE1993),
    )
    return _finish(ds, es.lazy)
