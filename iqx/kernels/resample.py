"""Separable resampling coefficients (Pillow's convolution resampling, in float64).

A resampling along one axis from ``n_in`` to ``n_out`` samples is a banded linear map: output
sample ``i`` is ``sum_t w[i, t] * src[idx[i, t]]``. This module builds ``(idx, w)`` with the
algorithm of Pillow's ``ImagingResample`` (pixel-area alignment: output pixel ``i`` covers
source coordinates ``[i * s, (i + 1) * s)`` with ``s = n_in / n_out``; when downsampling the
filter support is stretched by ``s``, which anti-aliases; taps outside the image are dropped
and the remaining weights renormalised). ``nearest`` takes source pixel
``floor((i + 0.5) * s)`` as Pillow does (with its accumulated coordinate).

Filters: ``nearest``; ``area`` (box, support 0.5: exact area averaging for any factor);
``bilinear`` (triangle, support 1); ``cubic`` (Keys, a = -0.5, support 2); ``lanczos``
(a = 3).
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["RESAMPLE_METHODS", "resample_coefficients", "resample_window"]

#: method -> filter support (in source pixels at scale 1)
RESAMPLE_METHODS: dict[str, float] = {
    "nearest": 0.0,
    "area": 0.5,
    "bilinear": 1.0,
    "cubic": 2.0,
    "lanczos": 3.0,
}


def _box(x: np.ndarray) -> np.ndarray:
    return ((x > -0.5) & (x <= 0.5)).astype(np.float64)


def _triangle(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


def _cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2.0) * x - (a + 3.0)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _sinc(x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        px = x * math.pi
        return np.where(x == 0.0, 1.0, np.sin(px) / np.where(x == 0.0, 1.0, px))


def _lanczos(x: np.ndarray) -> np.ndarray:
    return np.where((x >= -3.0) & (x < 3.0), _sinc(x) * _sinc(x / 3.0), 0.0)


_FILTERS = {"area": _box, "bilinear": _triangle, "cubic": _cubic, "lanczos": _lanczos}


def resample_coefficients(n_in: int, n_out: int, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Taps and weights resampling one axis from ``n_in`` to ``n_out`` samples.

    Returns
    -------
    idx : numpy.ndarray of int64, shape (n_out, T)
        Source indices (always inside ``[0, n_in)``; unused taps repeat a valid index).
    w : numpy.ndarray of float64, shape (n_out, T)
        Weights (each row sums to 1; unused taps have weight 0).
    """
    scale = n_in / n_out
    if method == "nearest":
        # Pillow accumulates the source coordinate (start + k * step by repeated addition);
        # doing the same reproduces its choice at exact ties
        steps = np.full(n_out, scale)
        steps[0] = 0.5 * scale
        idx = np.floor(np.cumsum(steps)).astype(np.int64)
        idx = np.minimum(idx, n_in - 1)[:, None]
        return idx, np.ones((n_out, 1))
    filterscale = max(scale, 1.0)
    support = RESAMPLE_METHODS[method] * filterscale
    ksize = math.ceil(support) * 2 + 1
    center = (np.arange(n_out) + 0.5) * scale
    xmin = np.maximum(np.trunc(center - support + 0.5), 0).astype(np.int64)
    xmax = np.minimum(np.trunc(center + support + 0.5), n_in).astype(np.int64) - xmin
    t = np.arange(ksize)[None, :]
    valid = t < xmax[:, None]
    x = (t + xmin[:, None] - center[:, None] + 0.5) / filterscale
    w = np.where(valid, _FILTERS[method](x), 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.where(total != 0.0, w / np.where(total == 0.0, 1.0, total), 0.0)
    idx = np.where(valid, xmin[:, None] + t, xmin[:, None])
    keep = int(max(1, valid.sum(axis=1).max()))
    return np.ascontiguousarray(idx[:, :keep]), np.ascontiguousarray(w[:, :keep])


@ngjit
def _taps_x(src, idx, w, out):
    ny = src.shape[0]
    nx_out, ntap = idx.shape
    for r in range(ny):
        for i in range(nx_out):
            acc = 0.0
            for t in range(ntap):
                acc += src[r, idx[i, t]] * w[i, t]
            out[r, i] = acc


@ngjit
def _taps_y(src, idx, w, out):
    ny_out, ntap = idx.shape
    nx = src.shape[1]
    acc = np.empty(nx, dtype=np.float64)
    for i in range(ny_out):
        for c in range(nx):
            acc[c] = 0.0
        for t in range(ntap):
            wt = w[i, t]
            row = idx[i, t]
            for c in range(nx):
                acc[c] += src[row, c] * wt
        for c in range(nx):
            out[i, c] = acc[c]


@ngjit
def _round_clip(src, lo, hi, out):
    flat = src.ravel()
    fo = out.ravel()
    for k in range(flat.shape[0]):
        v = np.rint(flat[k])
        if v < lo:
            v = lo
        elif v > hi:
            v = hi
        fo[k] = v


def resample_window(
    block: np.ndarray,
    idx_y: np.ndarray,
    w_y: np.ndarray,
    idx_x: np.ndarray,
    w_x: np.ndarray,
    *,
    lo: float = 0.0,
    hi: float = 0.0,
) -> np.ndarray:
    """Resample a ``(band, y, x)`` window holding every source sample the taps use.

    ``idx_*`` index the window (not the scene). x is resampled first, then y, summing taps
    in order in float64 (Pillow's order); a float input stores the x pass in its own dtype
    as Pillow does for mode ``F``. Integer outputs are rounded half to even and clipped to
    ``[lo, hi]``. ``nearest`` tables (one tap of weight 1) copy samples exactly.
    """
    dtype = block.dtype
    nb = block.shape[0]
    ny_o, nx_o = idx_y.shape[0], idx_x.shape[0]
    if idx_y.shape[1] == 1 and idx_x.shape[1] == 1 and (w_y == 1).all() and (w_x == 1).all():
        return np.ascontiguousarray(block[:, idx_y[:, 0]][:, :, idx_x[:, 0]])
    is_float = dtype.kind == "f"
    mid_dtype = dtype if is_float else np.float64
    out = np.empty((nb, ny_o, nx_o), dtype=dtype)
    for b in range(nb):
        src = np.ascontiguousarray(block[b])
        mid = np.empty((src.shape[0], nx_o), dtype=mid_dtype)
        _taps_x(src, idx_x, w_x, mid)
        res = np.empty((ny_o, nx_o), dtype=np.float64)
        _taps_y(mid, idx_y, w_y, res)
        if is_float:
            out[b] = res
        else:
            _round_clip(res, float(lo), float(hi), out[b])
    return out
