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

__all__ = ["RESAMPLE_METHODS", "apply_taps", "resample_coefficients"]

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


def apply_taps(src: np.ndarray, idx: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """Reference NumPy application of one axis' taps (float64, taps summed in order)."""
    acc = np.zeros(1)
    for t in range(idx.shape[1]):
        term = np.take(src, idx[:, t], axis=axis).astype(np.float64)
        shape = [1] * src.ndim
        shape[axis] = -1
        acc = acc + term * w[:, t].reshape(shape)
    return acc
