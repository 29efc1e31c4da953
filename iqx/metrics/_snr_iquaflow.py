"""IQUAFLOW 1.0.1 parity path for the HB and HA SNR estimators (eager, whole image).

Re-implemented from the written specification (``reference/iquaflow.md`` §2.0-§2.2), not
from IQUAFLOW's code. Every quirk that changes a number is kept on purpose:

* 0 is nodata (no other mask is honoured);
* HB: median of ``img[img > 0]`` on the original dtype, non-overlapping ``p x p`` windows
  from (0, 0) with the remainder dropped, ``rint(mean) == median`` exactly, sample std,
  ``scipy.stats.sigmaclip(low=4, high=2)``, noise = median of the clipped stds,
  ``err = M / noise**2 * std(clipped)``;
* HA: ``skimage.feature.local_binary_pattern(..., "uniform")`` on the original band, flat
  set ``{lbp <= R - 1} | {lbp >= P - R + 1}`` (computed by :func:`iqx.kernels.lbp.lbp_flat`,
  the same mask bit for bit, ~15x faster), good windows ``thr <= ratio < 1``, fewer than
  10 good windows -> ``None`` (channel dropped), ``int()`` truncation of the window mean,
  zero stds -> NaN, fewer than 3 matches -> NaN, result ``(nanmean, nanstd)``;
* channel combination: a channel is kept when its SNR is truthy (None and 0 dropped, NaN
  kept); one kept -> itself; none -> NaN; else ``nanmean`` and
  ``max(sqrt(nansum err**2) / n_valid, nanstd)`` with ``n_valid`` the non-NaN SNRs (the
  NaN-aware sums were established against the golden file: plain sums give NaN there).

This path loads the image in memory (IQUAFLOW's images are small); the scalable
implementations of the same definitions live in :mod:`iqx.metrics.snr`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import xarray as xr
from scipy.stats import sigmaclip
from skimage.util import view_as_windows

from iqx.kernels.lbp import lbp_flat
from iqx.metrics._snr_common import _nan_result, _to_dataset
from iqx.metrics._snr_options import SNROptions

__all__ = ["combine_channels", "ha_one_channel", "hb_one_channel", "iquaflow_channels"]

_INT_MIN = np.iinfo(np.int64).min


def iquaflow_channels(img: np.ndarray) -> list[np.ndarray]:
    """Split an array into channels with IQUAFLOW's rule (§2.0).

    A 3-D array whose first axis is shorter than 5 is channel-first; any other 3-D array is
    channel-last; a 2-D array is one channel.
    """
    arr = np.asarray(img)
    if arr.ndim == 2:
        return [arr]
    if arr.ndim != 3:
        raise ValueError(f"expected a 2-D or 3-D image, got shape {arr.shape}")
    if arr.shape[0] < 5:
        arr = np.moveaxis(arr, 0, -1)
    return [arr[..., i] for i in range(arr.shape[-1])]


def _windows(f: np.ndarray, p: int, stride: int) -> np.ndarray:
    if f.shape[0] < p or f.shape[1] < p:
        return np.empty((0, p * p))
    w = view_as_windows(f, (p, p), step=stride)
    return w.reshape(-1, p * p)


def hb_one_channel(img: np.ndarray, patch_size: int = 3, stride: int | None = None) -> tuple:
    """IQUAFLOW HB on one channel: ``(snr, err)``; NaN when no block matches the median."""
    stride = stride or patch_size
    band = np.asarray(img)
    positive = band[band > 0]
    if positive.size == 0:
        return math.nan, math.nan
    med = np.median(positive)
    f = band.astype(float)
    f[band == 0] = np.nan
    w = _windows(f, patch_size, stride)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.rint(w.mean(axis=1))
        s = w.std(axis=1, ddof=1)
        stds = s[m == med]
        stds = stds[~np.isnan(stds)]
        if stds.size == 0:
            return math.nan, math.nan
        clipped = sigmaclip(stds, 4.0, 2.0).clipped
        noise = np.nanmedian(clipped)
        spread = np.nanstd(clipped)
        snr = med / noise if noise != 0 else math.inf
        err = med / noise**2 * spread if noise != 0 else math.inf
    return float(snr), float(err)


def ha_one_channel(
    img: np.ndarray,
    patch_size: int = 5,
    stride: int | None = None,
    radius: int = 1,
    lbp_threshold: float = 0.6,
) -> tuple:
    """IQUAFLOW HA on one channel: ``(snr, err)``, ``(None, None)`` if < 10 good windows."""
    stride = stride or patch_size
    band = np.asarray(img)
    flat = lbp_flat(band, radius)
    ratio = _windows(flat, patch_size, stride).sum(axis=1) / patch_size**2
    good = (ratio >= lbp_threshold) & (ratio < 1)
    if good.sum() < 10:
        return None, None
    f = band.astype(float)
    f[band == 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(f)
        w = _windows(f, patch_size, stride)[good]
        m = w.mean(axis=1)
        s = w.std(axis=1, ddof=1)
        m_int = np.where(np.isnan(m), _INT_MIN, np.trunc(np.nan_to_num(m))).astype(np.int64)
        s = np.where(s == 0, np.nan, s)
        snr = m_int / s
        sel = snr[m_int == med]
        if sel.size < 3:
            return math.nan, math.nan
        return float(np.nanmean(sel)), float(np.nanstd(sel))


def combine_channels(results: list[tuple]) -> tuple[float, float]:
    """IQUAFLOW's channel combination (§2.0) of per-channel ``(snr, err)`` pairs."""
    kept = [(s, e) for s, e in results if s]  # truthy: None and 0 dropped, NaN kept
    if not kept:
        return math.nan, math.nan
    if len(kept) == 1:
        return float(kept[0][0]), float(kept[0][1])
    snrs = np.array([k[0] for k in kept], dtype=float)
    errs = np.array([k[1] for k in kept], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = np.nanmean(snrs)
        n_valid = int(np.sum(~np.isnan(snrs)))
        quad = np.sqrt(np.nansum(errs**2)) / n_valid if n_valid else math.nan
        spread = max(quad, np.nanstd(snrs))
    return float(value), float(spread)


def _iquaflow_results(
    scene: xr.DataArray, method: str, p: SNROptions
) -> tuple[list[dict], tuple[float, float]]:
    """IQUAFLOW's ``hb``/``ha`` of every band: the per-band result rows and the combined
    ``(snr, err)`` of :func:`combine_channels` (what :func:`_iquaflow_dataset` packs)."""
    arr = np.asarray(scene.data)
    chans = [arr[i] for i in range(arr.shape[0])]
    per = []
    for c in chans:
        if method == "hb":
            per.append(hb_one_channel(c, p.block_size, p.stride))
        else:
            per.append(ha_one_channel(c, p.block_size, p.stride, p.radius, p.lbp_threshold))
    results = []
    for c, (s, e) in zip(chans, per, strict=True):
        pos = c[c > 0]
        med = float(np.median(pos)) if pos.size else math.nan
        if s is None:
            r = _nan_result(
                "fewer than 10 homogeneous LBP windows (IQUAFLOW returns None)", signal=med
            )
        elif not np.isfinite(s):
            r = _nan_result(
                "IQUAFLOW returned NaN/inf: no usable block at the median DN", signal=med
            )
            r["snr"], r["snr_std"] = float(s), float(e)
        else:
            r = {
                "snr": s,
                "snr_std": e,
                "signal": med,
                "noise": med / s,
                "noise_std": med / s**2 * e,
                "n_blocks": -1,
                "reason": "",
            }
        results.append(r)
    return results, combine_channels(per)


def _iquaflow_dataset(
    results: list[dict],
    combined: tuple[float, float],
    scene: xr.DataArray,
    method: str,
    p: SNROptions,
) -> xr.Dataset:
    """The :func:`iqx.metrics.snr` Dataset of :func:`_iquaflow_results`: the per-band rows
    plus the combined value in ``iquaflow_snr``/``iquaflow_snr_std``."""
    ds = _to_dataset(results, scene, method, p)
    value, spread = combined
    ds["iquaflow_snr"] = value
    ds["iquaflow_snr_std"] = spread
    ds.attrs["iquaflow_compat"] = 1
    return ds
