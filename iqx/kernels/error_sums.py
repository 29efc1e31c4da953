"""Single-pass error sums of a (reference, test) block pair: MSE, PSNR, RMSE, ERGAS, SAM.

Pure NumPy + numba: nothing here knows about xarray or dask. Each kernel reads a
``(band, y, x)`` block pair once, converts every element to float64 on the fly (integers
are never rescaled) and returns small sums that add up across blocks, so a chunked scene is
reduced by adding partials. No temporary of the block's size is made.

Validity of an element (the rule of :mod:`iqx.metrics.reference`): it is invalid where
either image is NaN/inf (``check_finite``), equals that image's ``nodata`` value (compared
in float64) or where the optional boolean ``mask`` (``True`` = valid) is False. Invalid
elements never enter a sum (they are selected out, not multiplied by 0, so a NaN cannot
leak in).

Sums are accumulated per column (one float64 row buffer per quantity, updated row by row:
no dependency between the additions of one row, so the loop vectorises without
reassociating any addition) and the column sums are added at the end of the block. The
result does not depend on the thread count, and differs between chunkings only by rounding.

Blocks are usually views into a larger array (a chunk of a NumPy scene): their rows are
contiguous but the block is not, which numba would compile to strided, unvectorised loads.
The wrappers therefore pass each array as a contiguous 1-D view spanning the block plus its
band and row strides, so every row is read as a contiguous slice.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["spectral_angle_sums", "squared_error_sums"]

#: stands in for an absent mask (never read)
_NO_MASK = np.ones(1, dtype=np.bool_)


def _flat_rows(arr: np.ndarray) -> tuple[np.ndarray, int, int]:
    """``(flat, band_stride, row_stride)``: a contiguous 1-D view covering a 3-D array.

    Element ``[k, y, x]`` is ``flat[k * band_stride + y * row_stride + x]``. Arrays whose
    last axis is not contiguous (or with negative strides) are copied first; broadcast views
    (zero strides) are kept as they are.
    """
    item = arr.itemsize
    s0, s1, s2 = arr.strides
    if (
        (s2 != item and arr.shape[2] > 1)
        or min(s0, s1) < 0
        or s0 % item
        or s1 % item
        or arr.dtype.byteorder not in "=|"
    ):
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
        s0, s1, s2 = arr.strides
    b0, b1 = s0 // item, s1 // item
    span = (arr.shape[0] - 1) * b0 + (arr.shape[1] - 1) * b1 + arr.shape[2]
    flat = np.lib.stride_tricks.as_strided(arr, shape=(span,), strides=(item,), writeable=False)
    return flat, b0, b1


def _prepare(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray | None,
    nodata_a: float | None,
    nodata_b: float | None,
    check_finite: bool | None,
) -> tuple[tuple[object, ...], bool]:
    """The kernels' arguments ``(fa, fb, fm, layout, rule)`` and whether the blocks are empty.

    ``layout`` is ``(a0, a1, b0, b1, m0, m1, nbands, ny, nx)`` (band and row strides of the
    flat views, :func:`_flat_rows`, and the block shape); ``rule`` is the validity rule
    ``(nodata_a, use_a, nodata_b, use_b, use_mask, check_finite)``.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 3 or a.shape != b.shape:
        raise ValueError(f"expected two (band, y, x) blocks of one shape, got {a.shape}, {b.shape}")
    if a.size == 0:
        return (), True
    if check_finite is None:
        check_finite = any(np.issubdtype(x.dtype, np.floating) for x in (a, b))
    if mask is None:
        fm, m0, m1 = _NO_MASK, 0, 0
    else:
        m = np.broadcast_to(np.asarray(mask, dtype=np.bool_), a.shape)
        fm, m0, m1 = _flat_rows(m)
    fa, a0, a1 = _flat_rows(a)
    fb, b0, b1 = _flat_rows(b)
    layout = (a0, a1, b0, b1, m0, m1, a.shape[0], a.shape[1], a.shape[2])
    rule = (
        0.0 if nodata_a is None else float(nodata_a),
        nodata_a is not None,
        0.0 if nodata_b is None else float(nodata_b),
        nodata_b is not None,
        mask is not None,
        bool(check_finite),
    )
    args = (fa, fb, fm, layout, rule)
    return args, False


def squared_error_sums(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    nodata_a: float | None = None,
    nodata_b: float | None = None,
    check_finite: bool | None = None,
    reference_sum: bool = False,
) -> np.ndarray:
    """Per-band sum of squared errors, valid-element count and sum of reference values.

    Parameters
    ----------
    a, b : numpy.ndarray
        ``(band, y, x)`` reference and test blocks of one shape, any real dtype.
    mask : numpy.ndarray of bool, optional
        Validity (``True`` = valid), broadcastable to the blocks' shape.
    nodata_a, nodata_b : float, optional
        Nodata value of ``a`` / ``b`` (elements equal to it are invalid).
    check_finite : bool, optional
        NaN/inf in either block is invalid (default: when either block is floating point).
    reference_sum : bool
        Also sum the valid reference values (column 2; zeros otherwise).

    Returns
    -------
    numpy.ndarray
        ``(band, 3)`` float64: ``sum((a - b)²)``, valid-element count and ``sum(a)``,
        each over the valid elements of the band.
    """
    a, b = np.asarray(a), np.asarray(b)
    args, empty = _prepare(a, b, mask, nodata_a, nodata_b, check_finite)
    if empty:
        return np.zeros((np.shape(a)[0], 3))
    # check finiteness on a - b, one test instead of two: the float64 difference of two
    # finite values overflows only when both are float64 (an integer or float32 operand is
    # below half an ulp of the largest float64)
    wide = [np.issubdtype(x.dtype, np.floating) and x.dtype.itemsize >= 8 for x in (a, b)]
    by_diff = args[-1][-1] and not all(wide)  # rule's check_finite
    return _squared_error_sums(*args, bool(reference_sum), by_diff)


def spectral_angle_sums(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    nodata_a: float | None = None,
    nodata_b: float | None = None,
    check_finite: bool | None = None,
) -> np.ndarray:
    """Sum of spectral angles (radians) and the number of pixels they were taken at.

    A pixel counts when every band of it is valid (rules and parameters as in
    :func:`squared_error_sums`) and neither spectrum is zero; its angle is
    ``arccos(clip(<a, b> / (|a| |b|), -1, 1))``, the band sums taken in band order.

    Returns
    -------
    numpy.ndarray
        ``(2,)`` float64: sum of angles, pixel count.
    """
    args, empty = _prepare(a, b, mask, nodata_a, nodata_b, check_finite)
    if empty:
        return np.zeros(2)
    return _spectral_angle_sums(*args)


@ngjit
def _element_ok(av, bv, m, nodata_a, nodata_b, check_finite, use_a, use_b):  # pragma: no cover
    """Validity of one element pair (branch-free, so the loop around it vectorises)."""
    ok = m
    if check_finite:
        ok = ok & (abs(av) < math.inf) & (abs(bv) < math.inf)
    if use_a:
        ok = ok & (av != nodata_a)
    if use_b:
        ok = ok & (bv != nodata_b)
    return ok


@ngjit
def _squared_error_sums(
    fa, fb, fm, layout, rule, reference_sum, finite_by_diff
):  # pragma: no cover
    a0, a1, b0, b1, m0, m1, nbands, ny, nx = layout
    nodata_a, use_a, nodata_b, use_b, use_mask, check_finite = rule
    out = np.zeros((nbands, 3))
    sse = np.empty(nx)
    cnt = np.empty(nx)
    sref = np.empty(nx)
    checked = check_finite or use_a or use_b or use_mask
    for k in range(nbands):
        sse[:] = 0.0
        cnt[:] = 0.0
        sref[:] = 0.0
        for y in range(ny):
            oa = k * a0 + y * a1
            ob = k * b0 + y * b1
            ra = fa[oa : oa + nx]
            rb = fb[ob : ob + nx]
            if not checked:
                for x in range(nx):
                    d = np.float64(ra[x]) - np.float64(rb[x])
                    sse[x] += d * d
                if reference_sum:
                    for x in range(nx):
                        sref[x] += np.float64(ra[x])
                continue
            om = k * m0 + y * m1
            rm = fm[om : om + nx] if use_mask else fm[:1]
            if finite_by_diff:  # a - b is finite iff both are (no overflow possible)
                for x in range(nx):
                    av = np.float64(ra[x])
                    d = av - np.float64(rb[x])
                    m = (rm[x] if use_mask else True) & (abs(d) < math.inf)
                    ok = _element_ok(
                        av, np.float64(rb[x]), m, nodata_a, nodata_b, False, use_a, use_b
                    )
                    sse[x] += d * d if ok else 0.0
                    cnt[x] += 1.0 if ok else 0.0
                    if reference_sum:
                        sref[x] += av if ok else 0.0
                continue
            for x in range(nx):
                av = np.float64(ra[x])
                bv = np.float64(rb[x])
                m = rm[x] if use_mask else True
                ok = _element_ok(av, bv, m, nodata_a, nodata_b, check_finite, use_a, use_b)
                d = av - bv
                sse[x] += d * d if ok else 0.0
                cnt[x] += 1.0 if ok else 0.0
                if reference_sum:
                    sref[x] += av if ok else 0.0
        out[k, 0] = sse.sum()
        out[k, 1] = cnt.sum() if checked else float(ny * nx)
        out[k, 2] = sref.sum()
    return out


@ngjit
def _spectral_angle_sums(fa, fb, fm, layout, rule):  # pragma: no cover
    a0, a1, b0, b1, m0, m1, nbands, ny, nx = layout
    nodata_a, use_a, nodata_b, use_b, use_mask, check_finite = rule
    dot = np.empty(nx)
    saa = np.empty(nx)
    sbb = np.empty(nx)
    good = np.empty(nx, dtype=np.bool_)
    ang = np.zeros(nx)
    cnt = np.zeros(nx)
    checked = check_finite or use_a or use_b or use_mask
    for y in range(ny):
        dot[:] = 0.0
        saa[:] = 0.0
        sbb[:] = 0.0
        good[:] = True
        for k in range(nbands):
            oa = k * a0 + y * a1
            ob = k * b0 + y * b1
            ra = fa[oa : oa + nx]
            rb = fb[ob : ob + nx]
            if checked:
                om = k * m0 + y * m1
                rm = fm[om : om + nx] if use_mask else fm[:1]
                for x in range(nx):
                    m = rm[x] if use_mask else True
                    good[x] &= _element_ok(
                        np.float64(ra[x]),
                        np.float64(rb[x]),
                        m,
                        nodata_a,
                        nodata_b,
                        check_finite,
                        use_a,
                        use_b,
                    )
            for x in range(nx):
                av = np.float64(ra[x])
                bv = np.float64(rb[x])
                dot[x] += av * bv
                saa[x] += av * av
                sbb[x] += bv * bv
        for x in range(nx):
            if good[x] and saa[x] > 0.0 and sbb[x] > 0.0:
                c = dot[x] / (math.sqrt(saa[x]) * math.sqrt(sbb[x]))
                ang[x] += math.acos(min(max(c, -1.0), 1.0))
                cnt[x] += 1.0
    out = np.empty(2)
    out[0] = ang.sum()
    out[1] = cnt.sum()
    return out
