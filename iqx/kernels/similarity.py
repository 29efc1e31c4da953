"""Full-reference similarity kernels (SSIM moments, squared error) on NumPy blocks.

Pure NumPy + numba: nothing here knows about xarray or dask. The SSIM kernel filters the
five local moments (``x``, ``y``, ``x²``, ``y²``, ``xy``) with a separable window in a single
pass over the output rows of a block: the ``2r + 1`` input rows under a row of windows are
summed vertically (products formed on the fly), then the five row buffers are filtered
horizontally and turned into SSIM. Every buffer is one row long, so the working set stays in
cache. All arithmetic is float64, whatever the input dtype (integers are never rescaled).

Windows follow :func:`scipy.ndimage.gaussian_filter` (radius ``int(truncate * sigma + 0.5)``,
weights ``exp(-x² / 2σ²)`` normalised) and :func:`scipy.ndimage.uniform_filter`
(``size`` equal weights), which is what :func:`skimage.metrics.structural_similarity` uses.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = [
    "gaussian_window",
    "sample_cov_norm",
    "ssim_block_map",
    "ssim_block_sums",
    "ssim_constants",
    "uniform_window",
    "window_radius",
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


#: output columns per strip (5 x 2 float64 row buffers of this width stay in L1)
_STRIP = 256


@ngjit
def _ssim_rows(  # pragma: no cover - numba
    x, y, w, c1, c2, cov_norm, row_lo, row_hi, col_lo, col_hi, out_map, want_map, cs_only
):
    """Core loop shared by :func:`ssim_block_sums` and :func:`ssim_block_map`.

    Output pixel ``(io, jo)`` is the SSIM of the window centred on block pixel
    ``(io + r, jo + r)``. For each output row, the five moments are first summed vertically
    over the ``2r + 1`` input rows (products formed on the fly, in float64), then filtered
    horizontally; the block is processed in column strips so that the ten row buffers stay
    in L1 cache. Pixels
    with ``row_lo <= io < row_hi`` and ``col_lo <= jo < col_hi`` are summed; with
    ``want_map`` every output pixel is written to ``out_map``. With ``cs_only`` the
    contrast-structure term ``(2 s_xy + C2) / (s_x² + s_y² + C2)`` is used instead of SSIM.
    """
    k_len = w.shape[0]
    r = (k_len - 1) // 2
    ny, nx = x.shape
    nyo = ny - 2 * r
    nxo = nx - 2 * r
    strip = _STRIP
    v0 = np.empty(strip + 2 * r)
    v1 = np.empty(strip + 2 * r)
    v2 = np.empty(strip + 2 * r)
    v3 = np.empty(strip + 2 * r)
    v4 = np.empty(strip + 2 * r)
    h0 = np.empty(strip)
    h1 = np.empty(strip)
    h2 = np.empty(strip)
    h3 = np.empty(strip)
    h4 = np.empty(strip)
    total = 0.0
    count = 0
    first_row = 0 if want_map else row_lo
    last_row = nyo if want_map else row_hi
    first_col = 0 if want_map else col_lo
    last_col = nxo if want_map else col_hi
    # column strips keep the ten row buffers in L1 cache
    for s0 in range(first_col, last_col, strip):
        s1 = min(s0 + strip, last_col)
        wo = s1 - s0
        wi = wo + 2 * r
        for io in range(first_row, last_row):
            for j in range(wi):
                v0[j] = 0.0
                v1[j] = 0.0
                v2[j] = 0.0
                v3[j] = 0.0
                v4[j] = 0.0
            for k in range(k_len):
                wk = w[k]
                xr = x[io + k, s0 : s0 + wi]
                yr = y[io + k, s0 : s0 + wi]
                for j in range(wi):
                    a = np.float64(xr[j])
                    b = np.float64(yr[j])
                    wa = wk * a
                    wb = wk * b
                    v0[j] += wa
                    v1[j] += wb
                    v2[j] += wa * a
                    v3[j] += wb * b
                    v4[j] += wa * b
            for j in range(wo):
                h0[j] = 0.0
                h1[j] = 0.0
                h2[j] = 0.0
                h3[j] = 0.0
                h4[j] = 0.0
            for k in range(k_len):
                wk = w[k]
                for j in range(wo):
                    h0[j] += wk * v0[j + k]
                for j in range(wo):
                    h1[j] += wk * v1[j + k]
                for j in range(wo):
                    h2[j] += wk * v2[j + k]
                for j in range(wo):
                    h3[j] += wk * v3[j + k]
                for j in range(wo):
                    h4[j] += wk * v4[j + k]
            # SSIM (or CS) of the strip's row, branch-free so that it vectorises
            if cs_only:
                for j in range(wo):
                    vx = cov_norm * (h2[j] - h0[j] * h0[j])
                    vy = cov_norm * (h3[j] - h1[j] * h1[j])
                    vxy = cov_norm * (h4[j] - h0[j] * h1[j])
                    h2[j] = (2.0 * vxy + c2) / (vx + vy + c2)
            else:
                for j in range(wo):
                    ux = h0[j]
                    uy = h1[j]
                    vx = cov_norm * (h2[j] - ux * ux)
                    vy = cov_norm * (h3[j] - uy * uy)
                    vxy = cov_norm * (h4[j] - ux * uy)
                    h2[j] = ((2.0 * ux * uy + c1) * (2.0 * vxy + c2)) / (
                        (ux * ux + uy * uy + c1) * (vx + vy + c2)
                    )
            if want_map:
                for j in range(wo):
                    out_map[io, s0 + j] = h2[j]
            if row_lo <= io < row_hi:
                j0 = max(col_lo - s0, 0)
                j1 = min(col_hi - s0, wo)
                for j in range(j0, j1):
                    total += h2[j]
                count += max(j1 - j0, 0)
    return total, count


def _check_pair(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> None:
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"expected two 2-D blocks of equal shape, got {x.shape} and {y.shape}")
    if weights.ndim != 1 or len(weights) % 2 != 1:
        raise ValueError("window weights must be 1-D of odd length")


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
) -> tuple[float, int]:
    """Sum of per-pixel SSIM over a rectangle of a block, and the number of pixels summed.

    Parameters
    ----------
    x, y : numpy.ndarray
        2-D blocks (reference and test) of the same shape, any real dtype.
    weights : numpy.ndarray
        Separable 1-D window of length ``2r + 1`` (see :func:`gaussian_window`).
    c1, c2 : float
        Stabilising constants ``(K1 L)²`` and ``(K2 L)²``.
    cov_norm : float
        1 for the population covariance (Wang 2004), ``N / (N - 1)`` for the sample one.
    rows, cols : (int, int)
        Half-open range of *output* indices to sum; output index ``i`` is the window centred
        on block row ``i + r``, so valid indices are ``0 .. ny - 2r``.

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
    dummy = np.empty((0, 0))
    total, count = _ssim_rows(
        np.ascontiguousarray(x),
        np.ascontiguousarray(y),
        np.ascontiguousarray(weights, dtype=np.float64),
        float(c1),
        float(c2),
        float(cov_norm),
        r0,
        r1,
        k0,
        k1,
        dummy,
        False,
        bool(cs_only),
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
        float(c1),
        float(c2),
        float(cov_norm),
        0,
        0,
        0,
        0,
        out,
        True,
        False,
    )
    return out


def ssim_constants(data_range: float, k1: float = 0.01, k2: float = 0.03) -> tuple[float, float]:
    """``C1 = (K1 L)²`` and ``C2 = (K2 L)²`` of Wang et al. (2004)."""
    return (k1 * data_range) ** 2, (k2 * data_range) ** 2


def sample_cov_norm(weights: np.ndarray) -> float:
    """``N / (N - 1)`` for a 2-D window of ``N = len(weights)²`` pixels."""
    n = len(weights) ** 2
    return n / (n - 1.0)
