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
all valid) and :func:`window_validity` (windows whose every pixel is valid).

Windows follow :func:`scipy.ndimage.gaussian_filter` (radius ``int(truncate * sigma + 0.5)``,
weights ``exp(-x² / 2σ²)`` normalised) and :func:`scipy.ndimage.uniform_filter`
(``size`` equal weights), which is what :func:`skimage.metrics.structural_similarity` uses.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

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


#: output columns per strip: wide strips amortise the per-row set-up (row views, calls); the
#: row buffers of a 2048-column strip (~150 KiB) stay in L2
_STRIP = 2048
#: a box window's running column sums are recomputed from scratch every this many rows,
#: which bounds the rounding drift of the running sums
_RESTART = 64


@ngjit
def _vertical(x, y, w, row, s0, wi, k0, k1, off, sign, first, v0, v1, v2, v3):  # pragma: no cover
    """``v += sign * sum_k w[k] * (u, d, u², d²)`` over input rows ``row + k0 .. row + k1``.

    ``u = x + y - off`` and ``d = x - y`` are formed on the fly in float64; taps are taken
    four at a time so that each pass over the row buffers does several taps of work. With
    ``first`` the buffers are overwritten instead of accumulated.
    """
    k = k0
    while k < k1:
        n = k1 - k
        if n >= 4:
            w0 = sign * w[k]
            w1 = sign * w[k + 1]
            w2 = sign * w[k + 2]
            w3 = sign * w[k + 3]
            xa = x[row + k, s0 : s0 + wi]
            xb = x[row + k + 1, s0 : s0 + wi]
            xc = x[row + k + 2, s0 : s0 + wi]
            xd = x[row + k + 3, s0 : s0 + wi]
            ya = y[row + k, s0 : s0 + wi]
            yb = y[row + k + 1, s0 : s0 + wi]
            yc = y[row + k + 2, s0 : s0 + wi]
            yd = y[row + k + 3, s0 : s0 + wi]
            for j in range(wi):
                a0 = np.float64(xa[j])
                a1 = np.float64(xb[j])
                a2 = np.float64(xc[j])
                a3 = np.float64(xd[j])
                b0 = np.float64(ya[j])
                b1 = np.float64(yb[j])
                b2 = np.float64(yc[j])
                b3 = np.float64(yd[j])
                u0 = a0 + b0 - off
                u1 = a1 + b1 - off
                u2 = a2 + b2 - off
                u3 = a3 + b3 - off
                d0 = a0 - b0
                d1 = a1 - b1
                d2 = a2 - b2
                d3 = a3 - b3
                p0 = w0 * u0
                p1 = w1 * u1
                p2 = w2 * u2
                p3 = w3 * u3
                q0 = w0 * d0
                q1 = w1 * d1
                q2 = w2 * d2
                q3 = w3 * d3
                s_0 = (p0 + p1) + (p2 + p3)
                s_1 = (q0 + q1) + (q2 + q3)
                s_2 = (p0 * u0 + p1 * u1) + (p2 * u2 + p3 * u3)
                s_3 = (q0 * d0 + q1 * d1) + (q2 * d2 + q3 * d3)
                if first:
                    v0[j] = s_0
                    v1[j] = s_1
                    v2[j] = s_2
                    v3[j] = s_3
                else:
                    v0[j] += s_0
                    v1[j] += s_1
                    v2[j] += s_2
                    v3[j] += s_3
            k += 4
        elif n == 3:
            w0 = sign * w[k]
            w1 = sign * w[k + 1]
            w2 = sign * w[k + 2]
            xa = x[row + k, s0 : s0 + wi]
            xb = x[row + k + 1, s0 : s0 + wi]
            xc = x[row + k + 2, s0 : s0 + wi]
            ya = y[row + k, s0 : s0 + wi]
            yb = y[row + k + 1, s0 : s0 + wi]
            yc = y[row + k + 2, s0 : s0 + wi]
            for j in range(wi):
                a0 = np.float64(xa[j])
                a1 = np.float64(xb[j])
                a2 = np.float64(xc[j])
                b0 = np.float64(ya[j])
                b1 = np.float64(yb[j])
                b2 = np.float64(yc[j])
                u0 = a0 + b0 - off
                u1 = a1 + b1 - off
                u2 = a2 + b2 - off
                d0 = a0 - b0
                d1 = a1 - b1
                d2 = a2 - b2
                p0 = w0 * u0
                p1 = w1 * u1
                p2 = w2 * u2
                q0 = w0 * d0
                q1 = w1 * d1
                q2 = w2 * d2
                s_0 = p0 + p1 + p2
                s_1 = q0 + q1 + q2
                s_2 = p0 * u0 + p1 * u1 + p2 * u2
                s_3 = q0 * d0 + q1 * d1 + q2 * d2
                if first:
                    v0[j] = s_0
                    v1[j] = s_1
                    v2[j] = s_2
                    v3[j] = s_3
                else:
                    v0[j] += s_0
                    v1[j] += s_1
                    v2[j] += s_2
                    v3[j] += s_3
            k += 3
        else:
            w0 = sign * w[k]
            xa = x[row + k, s0 : s0 + wi]
            ya = y[row + k, s0 : s0 + wi]
            for j in range(wi):
                a0 = np.float64(xa[j])
                b0 = np.float64(ya[j])
                u0 = a0 + b0 - off
                d0 = a0 - b0
                p0 = w0 * u0
                q0 = w0 * d0
                if first:
                    v0[j] = p0
                    v1[j] = q0
                    v2[j] = p0 * u0
                    v3[j] = q0 * d0
                else:
                    v0[j] += p0
                    v1[j] += q0
                    v2[j] += p0 * u0
                    v3[j] += q0 * d0
            k += 1
        first = False


@ngjit
def _horizontal_sym(v, h, w, wo):  # pragma: no cover
    """``h[j] = sum_k w[k] v[j + k]`` for a symmetric window, folding tap pairs.

    Shifted views (not ``v[j + k]``, whose possible negative wrap-around stops LLVM from
    vectorising without gathers) keep every loop a plain vector loop.
    """
    r = (w.shape[0] - 1) // 2
    vc = v[r : r + wo]
    wc = w[r]
    k = 0
    if r >= 2:  # centre tap and the two outermost pairs
        a0 = v[0:wo]
        b0 = v[2 * r : 2 * r + wo]
        a1 = v[1 : 1 + wo]
        b1 = v[2 * r - 1 : 2 * r - 1 + wo]
        w0 = w[0]
        w1 = w[1]
        for j in range(wo):
            h[j] = wc * vc[j] + w0 * (a0[j] + b0[j]) + w1 * (a1[j] + b1[j])
        k = 2
    elif r == 1:
        a0 = v[0:wo]
        b0 = v[2 : 2 + wo]
        w0 = w[0]
        for j in range(wo):
            h[j] = wc * vc[j] + w0 * (a0[j] + b0[j])
        k = 1
    else:
        for j in range(wo):
            h[j] = wc * vc[j]
    while k < r:
        e = 2 * r - k
        if r - k >= 2:
            a0 = v[k : k + wo]
            b0 = v[e : e + wo]
            a1 = v[k + 1 : k + 1 + wo]
            b1 = v[e - 1 : e - 1 + wo]
            w0 = w[k]
            w1 = w[k + 1]
            for j in range(wo):
                h[j] += w0 * (a0[j] + b0[j]) + w1 * (a1[j] + b1[j])
            k += 2
        else:
            a0 = v[k : k + wo]
            b0 = v[e : e + wo]
            w0 = w[k]
            for j in range(wo):
                h[j] += w0 * (a0[j] + b0[j])
            k += 1


@ngjit
def _horizontal_box(v, h, k_len, wo):  # pragma: no cover
    """``h[j] = sum_{k < k_len} v[j + k]``, up to four taps per pass (shifted views)."""
    k = 0
    first = True
    while k < k_len:
        n = k_len - k
        if n >= 4:
            a = v[k : k + wo]
            b = v[k + 1 : k + 1 + wo]
            c = v[k + 2 : k + 2 + wo]
            d = v[k + 3 : k + 3 + wo]
            if first:
                for j in range(wo):
                    h[j] = (a[j] + b[j]) + (c[j] + d[j])
            else:
                for j in range(wo):
                    h[j] += (a[j] + b[j]) + (c[j] + d[j])
            k += 4
        elif n == 3:
            a = v[k : k + wo]
            b = v[k + 1 : k + 1 + wo]
            c = v[k + 2 : k + 2 + wo]
            if first:
                for j in range(wo):
                    h[j] = a[j] + b[j] + c[j]
            else:
                for j in range(wo):
                    h[j] += a[j] + b[j] + c[j]
            k += 3
        else:
            a = v[k : k + wo]
            if first:
                for j in range(wo):
                    h[j] = a[j]
            else:
                for j in range(wo):
                    h[j] += a[j]
            k += 1
        first = False


@ngjit
def _ssim_row(h0, h1, h2, h3, out, wo, scale, half, off, c1, c2):  # pragma: no cover
    """SSIM from the filtered moments of ``u = x + y - off`` and ``d = x - y``.

    ``np.divide`` rather than ``/``: numba's Python error model puts a zero test (and so
    a branch that stops vectorisation) in front of every ``/``.
    """
    for j in range(wo):
        mu = scale * h0[j]
        md = scale * h1[j]
        md2 = md * md
        su = scale * h2[j] - mu * mu
        sd = scale * h3[j] - md2
        cs_num = half * (su - sd) + c2
        cs_den = half * (su + sd) + c2
        mt = mu + off  # local mean of x + y
        mt2 = mt * mt
        lum_num = 0.5 * (mt2 - md2) + c1
        lum_den = 0.5 * (mt2 + md2) + c1
        out[j] = np.divide(lum_num * cs_num, lum_den * cs_den)


@ngjit
def _cs_row(h0, h1, h2, h3, out, wo, scale, half, c2):  # pragma: no cover
    """Contrast-structure term ``(2 s_xy + C2) / (s_x² + s_y² + C2)``."""
    for j in range(wo):
        mu = scale * h0[j]
        md = scale * h1[j]
        su = scale * h2[j] - mu * mu
        sd = scale * h3[j] - md * md
        out[j] = np.divide(half * (su - sd) + c2, half * (su + sd) + c2)


@ngjit
def _ssim_rows(  # pragma: no cover - numba
    x, y, w, box, c1, c2, cov_norm, row_lo, row_hi, col_lo, col_hi, ok, use_ok, out_map,
    want_map, cs_only, strip,
):  # fmt: skip
    """Core loop of :func:`ssim_block_sums` and :func:`ssim_block_map`.

    Output pixel ``(io, jo)`` is the SSIM of the window centred on block pixel
    ``(io + r, jo + r)``; the rectangle ``row_lo <= io < row_hi``, ``col_lo <= jo < col_hi``
    is computed, summed (only where ``ok`` when ``use_ok``) and, with ``want_map``,
    written to ``out_map``. With ``cs_only`` the contrast-structure term
    ``(2 s_xy + C2) / (s_x² + s_y² + C2)`` replaces SSIM.

    SSIM needs ``mu_x``, ``mu_y``, ``s_x² + s_y²`` and ``s_xy`` only, so four local moments
    are filtered instead of five: those of ``u = x + y - off`` and ``d = x - y``
    (``2 mu_x mu_y = (mu_u² - mu_d²) / 2``, ``mu_x² + mu_y² = (mu_u² + mu_d²) / 2``,
    ``s_x² + s_y² = (s_u² + s_d²) / 2``, ``2 s_xy = (s_u² - s_d²) / 2``). ``off`` (the first
    pixel's ``x + y``) centres ``u`` so that its variance is not a difference of two large
    numbers. All arithmetic is float64. Per output row, the vertical pass filters the
    ``2r + 1`` input rows under the windows (a running sum for a ``box`` window), then the
    horizontal pass folds symmetric taps; the block is processed in column strips so that
    the row buffers stay in L1 cache, and sums are accumulated per column (vectorised).
    """
    k_len = w.shape[0]
    r = (k_len - 1) // 2
    v0 = np.empty(strip + 2 * r)
    v1 = np.empty(strip + 2 * r)
    v2 = np.empty(strip + 2 * r)
    v3 = np.empty(strip + 2 * r)
    h0 = np.empty(strip)
    h1 = np.empty(strip)
    h2 = np.empty(strip)
    h3 = np.empty(strip)
    sv = np.empty(strip)
    acc = np.zeros(strip)
    cnt = np.zeros(strip, dtype=np.int64)
    ones = np.ones(k_len)
    off = np.float64(x[row_lo, col_lo]) + np.float64(y[row_lo, col_lo])
    # box sums are unscaled: means are sums / k_len²
    scale = 1.0 / (k_len * k_len) if box else 1.0
    half = 0.5 * cov_norm
    total = 0.0
    count = 0
    for s0 in range(col_lo, col_hi, strip):
        s1 = min(s0 + strip, col_hi)
        wo = s1 - s0
        wi = wo + 2 * r
        for j in range(wo):
            acc[j] = 0.0
            cnt[j] = 0
        for io in range(row_lo, row_hi):
            if not box:
                _vertical(x, y, w, io, s0, wi, 0, k_len, off, 1.0, True, v0, v1, v2, v3)
                _horizontal_sym(v0, h0, w, wo)
                _horizontal_sym(v1, h1, w, wo)
                _horizontal_sym(v2, h2, w, wo)
                _horizontal_sym(v3, h3, w, wo)
            else:
                if (io - row_lo) % _RESTART == 0:
                    _vertical(x, y, ones, io, s0, wi, 0, k_len, off, 1.0, True, v0, v1, v2, v3)
                else:  # slide the column sums one row down
                    last = k_len - 1
                    _vertical(x, y, ones, io - 1, s0, wi, 0, 1, off, -1.0, False, v0, v1, v2, v3)
                    _vertical(x, y, ones, io, s0, wi, last, k_len, off, 1.0, False, v0, v1, v2, v3)
                _horizontal_box(v0, h0, k_len, wo)
                _horizontal_box(v1, h1, k_len, wo)
                _horizontal_box(v2, h2, k_len, wo)
                _horizontal_box(v3, h3, k_len, wo)
            # SSIM (or CS) of the strip's row: separate loops so that each vectorises
            if cs_only:
                _cs_row(h0, h1, h2, h3, sv, wo, scale, half, c2)
            else:
                _ssim_row(h0, h1, h2, h3, sv, wo, scale, half, off, c1, c2)
            if want_map:
                orow = out_map[io, s0:s1]
                for j in range(wo):
                    orow[j] = sv[j]
            if use_ok:
                okr = ok[io, s0:s1]
                for j in range(wo):
                    good = okr[j]
                    acc[j] += sv[j] if good else 0.0
                    cnt[j] += 1 if good else 0
            else:
                for j in range(wo):
                    acc[j] += sv[j]
        for j in range(wo):
            total += acc[j]
            count += cnt[j] if use_ok else row_hi - row_lo
    return total, count


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
