"""Full-reference similarity kernels (SSIM moments, squared error) on NumPy blocks.

Pure NumPy + numba: nothing here knows about xarray or dask. SSIM needs ``mu_x``, ``mu_y``,
``s_x² + s_y²`` and ``s_xy`` only, so the kernel filters four local moments, those of
``u = x + y`` (centred on one pixel of the block) and ``d = x - y``, instead of the usual
five, in a single pass over the output rows of a block: the ``2r + 1`` input rows under a
row of windows are summed vertically (a running sum for a box window; products formed on
the fly), the four row buffers are filtered horizontally (symmetric taps folded) and turned
into SSIM, which is summed per column. Every buffer is one row long, so the working set
stays in cache. All arithmetic is float64, whatever the input dtype (integers are never
rescaled). Validity masks: :func:`pixel_validity` (one fast pass decides that a block is
all valid) and :func:`window_validity` (windows whose every pixel is valid). The numba row loop
itself is in :mod:`iqx.kernels._ssim_rows`.

Windows follow :func:`scipy.ndimage.gaussian_filter` (radius ``int(truncate * sigma + 0.5)``,
weights ``exp(-x² / 2σ²)`` normalised) and :func:`scipy.ndimage.uniform_filter`
(``size`` equal weights), which is what :func:`skimage.metrics.structural_similarity` uses.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit
from iqx.kernels._ssim_rows import _STRIP, _ssim_rows

__all__ = [
    "gaussian_window",
    "pixel_validity",
    "sample_cov_norm",
    "ssim_block_map",
    "ssim_block_sums",
    "ssim_constants",
    "uniform_window",
    "window_radius",
    "window_validity",
]


def window_radius(weights: np.ndarray) -> int:
    """Radius ``r`` of a 1-D window of odd length ``2r + 1``."""
    return (len(weights) - 1) // 2


def gaussian_window(sigma: float = 1.5, truncate: float = 3.5) -> np.ndarray:
    """Normalised 1-D Gaussian weights, as :func:`scipy.ndimage.gaussian_filter` builds them.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels (> 0).
    truncate : float
        The radius is ``int(truncate * sigma + 0.5)``; sigma 1.5 and truncate 3.5 give the
        11-tap window of Wang et al. (2004).

    Returns
    -------
    numpy.ndarray
        float64 weights of length ``2r + 1`` summing to 1.
    """
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


def uniform_window(size: int = 7) -> np.ndarray:
    """Equal 1-D weights of odd length ``size`` (``scipy.ndimage.uniform_filter``)."""
    return np.full(size, 1.0 / size, dtype=np.float64)


def _check_pair(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> None:
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"expected two 2-D blocks of equal shape, got {x.shape} and {y.shape}")
    if weights.ndim != 1 or len(weights) % 2 != 1:
        raise ValueError("window weights must be 1-D of odd length")


def _is_box(weights: np.ndarray) -> bool:
    return bool(np.all(weights == weights[0]))


@ngjit
def _count_invalid(x, y, nd_x, nd_y, mask, use_mask):  # pragma: no cover - numba
    ny, nx = x.shape
    n = 0
    for i in range(ny):
        for j in range(nx):
            a = np.float64(x[i, j])
            b = np.float64(y[i, j])
            bad = not (np.isfinite(a) and np.isfinite(b)) or a == nd_x or b == nd_y
            if use_mask:
                bad = bad or not mask[i, j]
            n += 1 if bad else 0
    return n


def pixel_validity(
    x: np.ndarray,
    y: np.ndarray,
    nodata_x: float | None = None,
    nodata_y: float | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray | None:
    """Pixels valid in both blocks: finite, not ``nodata``, and ``True`` in ``mask``.

    Parameters
    ----------
    x, y : numpy.ndarray
        2-D blocks of the same shape.
    nodata_x, nodata_y : float, optional
        Each block's nodata value, already cast to its dtype (``None``/NaN: none).
    mask : numpy.ndarray, optional
        Extra boolean validity (``True`` = valid) of the blocks' shape.

    Returns
    -------
    numpy.ndarray or None
        Boolean validity, or ``None`` when every pixel is valid (one fast pass decides).
    """
    ndx = np.nan if nodata_x is None else float(nodata_x)
    ndy = np.nan if nodata_y is None else float(nodata_y)
    use_mask = mask is not None
    m = np.asarray(mask, dtype=np.bool_) if use_mask else np.ones((1, 1), dtype=np.bool_)
    if x.dtype.kind not in "fc" and y.dtype.kind not in "fc" and np.isnan(ndx) and np.isnan(ndy):
        if not use_mask:
            return None
        return None if m.all() else m.copy()
    if _count_invalid(x, y, ndx, ndy, m, use_mask) == 0:
        return None
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(x) & np.isfinite(y)
        if not np.isnan(ndx):
            valid &= x != ndx
        if not np.isnan(ndy):
            valid &= y != ndy
    if use_mask:
        valid &= m
    return valid


def window_validity(valid: np.ndarray, size: int) -> np.ndarray:
    """``True`` where every pixel of the ``size`` x ``size`` window is valid.

    Element ``(i, j)`` of the ``(ny - size + 1, nx - size + 1)`` result is the window whose
    top-left pixel is ``(i, j)`` (centred on ``(i + r, j + r)``); computed exactly with an
    integer summed-area table of the invalid pixels.
    """
    bad = np.zeros((valid.shape[0] + 1, valid.shape[1] + 1), dtype=np.int64)
    np.cumsum(~np.asarray(valid, dtype=bool), axis=0, out=bad[1:, 1:])
    np.cumsum(bad[1:, 1:], axis=1, out=bad[1:, 1:])
    s = size
    n = bad[s:, s:] - bad[:-s, s:] - bad[s:, :-s] + bad[:-s, :-s]
    return n == 0


def _filled(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``x`` with invalid pixels replaced by a valid value (never NaN or a sentinel)."""
    idx = np.flatnonzero(valid.ravel())
    fill = x.ravel()[idx[0]] if len(idx) else 0
    return np.where(valid, x, fill)


def ssim_block_sums(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    c1: float,
    c2: float,
    cov_norm: float,
    rows: tuple[int, int],
    cols: tuple[int, int],
    cs_only: bool = False,
    valid: np.ndarray | None = None,
) -> tuple[float, int]:
    """Sum of per-pixel SSIM over a rectangle of a block, and the number of pixels summed.

    Parameters
    ----------
    x, y : numpy.ndarray
        2-D blocks (reference and test) of the same shape, any real dtype.
    weights : numpy.ndarray
        Separable 1-D window of length ``2r + 1`` (see :func:`gaussian_window`); equal
        weights are computed with running box sums.
    c1, c2 : float
        Stabilising constants ``(K1 L)²`` and ``(K2 L)²``.
    cov_norm : float
        1 for the population covariance (Wang 2004), ``N / (N - 1)`` for the sample one.
    rows, cols : (int, int)
        Half-open range of *output* indices to sum; output index ``i`` is the window centred
        on block row ``i + r``, so valid indices are ``0 .. ny - 2r``.
    cs_only : bool
        Sum the contrast-structure term instead of SSIM (MS-SSIM).
    valid : numpy.ndarray, optional
        Boolean pixel validity of the block (``True`` = valid, see :func:`pixel_validity`).
        A window is summed only if every pixel under it is valid; invalid pixels never enter
        the filters (they are replaced by a valid value first).

    Returns
    -------
    (float, int)
        The float64 sum and the count.
    """
    _check_pair(x, y, weights)
    r = window_radius(weights)
    nyo, nxo = x.shape[0] - 2 * r, x.shape[1] - 2 * r
    r0, r1 = max(rows[0], 0), min(rows[1], nyo)
    k0, k1 = max(cols[0], 0), min(cols[1], nxo)
    if r1 <= r0 or k1 <= k0:
        return 0.0, 0
    ok = np.empty((0, 0), dtype=np.bool_)
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != x.shape:
            raise ValueError(f"valid has shape {valid.shape}, expected {x.shape}")
        if not valid.all():
            ok = window_validity(valid, 2 * r + 1)
            if not ok[r0:r1, k0:k1].any():
                return 0.0, 0
            x, y = _filled(x, valid), _filled(y, valid)
    total, count = _ssim_rows(
        np.ascontiguousarray(x),
        np.ascontiguousarray(y),
        np.ascontiguousarray(weights, dtype=np.float64),
        _is_box(weights),
        float(c1),
        float(c2),
        float(cov_norm),
        r0,
        r1,
        k0,
        k1,
        ok,
        ok.size > 0,
        np.empty((0, 0)),
        False,
        bool(cs_only),
        _STRIP,
    )
    return float(total), int(count)


def ssim_block_map(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    c1: float,
    c2: float,
    cov_norm: float,
) -> np.ndarray:
    """Per-pixel SSIM of every window that fits inside the block.

    Returns a float64 array of shape ``(ny - 2r, nx - 2r)``: element ``(i, j)`` is the SSIM
    of the window centred on block pixel ``(i + r, j + r)``. Pad the block (e.g. with
    ``numpy.pad(mode="symmetric")``, SciPy's ``reflect``) to get a full-size map.
    """
    _check_pair(x, y, weights)
    r = window_radius(weights)
    nyo, nxo = x.shape[0] - 2 * r, x.shape[1] - 2 * r
    out = np.empty((max(nyo, 0), max(nxo, 0)))
    if nyo <= 0 or nxo <= 0:
        return out
    _ssim_rows(
        np.ascontiguousarray(x),
        np.ascontiguousarray(y),
        np.ascontiguousarray(weights, dtype=np.float64),
        _is_box(weights),
        float(c1),
        float(c2),
        float(cov_norm),
        0,
        nyo,
        0,
        nxo,
        np.empty((0, 0), dtype=np.bool_),
        False,
        out,
        True,
        False,
        _STRIP,
    )
    return out


def ssim_constants(data_range: float, k1: float = 0.01, k2: float = 0.03) -> tuple[float, float]:
    """``C1 = (K1 L)²`` and ``C2 = (K2 L)²`` of Wang et al. (2004)."""
    return (k1 * data_range) ** 2, (k2 * data_range) ** 2


def sample_cov_norm(weights: np.ndarray) -> float:
    """``N / (N - 1)`` for a 2-D window of ``N = len(weights)²`` pixels."""
    n = len(weights) ** 2
    return n / (n - 1.0)
