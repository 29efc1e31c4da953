"""The numba row machinery of the SSIM kernels (private to :mod:`iqx.kernels.similarity`).

One pass over the output rows of a block: the ``2r + 1`` input rows under a row of windows
are summed vertically (:func:`_vertical`; a running sum for a box window), the four row
buffers ``(u, d, u², d²)`` are filtered horizontally (:func:`_horizontal_sym`, symmetric
taps folded, or :func:`_horizontal_box`) and turned into SSIM or CS (:func:`_ssim_row`,
:func:`_cs_row`), summed per column or written to a map (:func:`_ssim_rows`).

The manual unrolling (taps four at a time in :func:`_vertical`, paired taps in the
horizontal filters) is deliberate: each pass over the row buffers then does several taps
of work, which is what makes the kernel memory-bound rather than loop-bound. The repeated
blocks are not duplicates to be merged; numba would not unroll a generic loop this way.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

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
