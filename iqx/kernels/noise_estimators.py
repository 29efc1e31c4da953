"""Whole-image noise estimators on one ndarray block (pure NumPy + numba).

* Immerkaer (1996), "Fast noise variance estimation", CVIU 64(2):300-302:
  ``sigma = sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I * N|`` with
  ``N = [[1,-2,1],[-2,4,-2],[1,-2,1]]`` (sum N^2 = 36). Here the sum runs over the pixels
  whose 3x3 neighbourhood is entirely valid, so the estimator is nodata-aware; the kernel
  returns partial sums that add across chunks (halo 1).
* Weak-texture PCA (Liu, Tanaka & Okutomi 2013, IEEE TIP 22(12):5226; eigenvalue split of
  Chen, Zhu & Heng, ICCV 2015): the kernels compute each patch's texture strength
  (sum of squared horizontal and vertical differences inside the patch) and accumulate the
  DC-removed patch second moments per texture bin, so selection and PCA can be done after
  the reduction.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = [
    "IMMERKAER_FACTOR",
    "chen_split_variance",
    "immerkaer_sums",
    "immerkaer_sums_int",
    "patch_cov_by_group",
    "patch_texture",
]

#: sqrt(pi/2) / 6: converts the mean absolute Laplacian-difference response to sigma
IMMERKAER_FACTOR = math.sqrt(math.pi / 2.0) / 6.0


@ngjit
def immerkaer_sums(band, valid, r0, r1, c0, c1, use_valid=True):
    """Partial sums of ``|I * N|`` over the owned pixels ``[r0, r1) x [c0, c1)``.

    A pixel contributes when it and its 8 neighbours are valid and inside the array (the
    caller passes a block extended by a 1-pixel halo and owned ranges that exclude the
    scene border). With ``use_valid=False`` every pixel is valid and ``valid`` is not read.

    Returns
    -------
    (sum_abs, sum_sq, count) : tuple of float, float, int
    """
    ny, nx = band.shape
    s = 0.0
    s2 = 0.0
    n = 0
    for i in range(max(r0, 1), min(r1, ny - 1)):
        for j in range(max(c0, 1), min(c1, nx - 1)):
            if use_valid:
                good = True
                for di in range(-1, 2):
                    for dj in range(-1, 2):
                        if not valid[i + di, j + dj]:
                            good = False
                if not good:
                    continue
            v = (
                1.0 * band[i - 1, j - 1]
                - 2.0 * band[i - 1, j]
                + 1.0 * band[i - 1, j + 1]
                - 2.0 * band[i, j - 1]
                + 4.0 * band[i, j]
                - 2.0 * band[i, j + 1]
                + 1.0 * band[i + 1, j - 1]
                - 2.0 * band[i + 1, j]
                + 1.0 * band[i + 1, j + 1]
            )
            a = abs(v)
            s += a
            s2 += a * a
            n += 1
    return s, s2, n


@ngjit
def _second_diff_row(row, j0, j1, out):
    for j in range(j0, j1):
        out[j - j0] = np.int64(row[j - 1]) - 2 * np.int64(row[j]) + np.int64(row[j + 1])


@ngjit
def _valid3_row(vrow, j0, j1, out):
    for j in range(j0, j1):
        out[j - j0] = vrow[j - 1] and vrow[j] and vrow[j + 1]


@ngjit
def immerkaer_sums_int(band, valid, r0, r1, c0, c1, use_valid=True):
    """:func:`immerkaer_sums` for integer pixels of up to 16 bits, separably and exactly.

    ``N`` is the outer product of ``[1, -2, 1]`` with itself, so the response is the
    vertical second difference of the rows' horizontal second differences, each row's
    computed once (3 instead of 9 reads per pixel), in int64. Row sums of ``|v|`` and
    ``v**2`` are exact integers; they are added to the float totals, which is the same
    value as the pixel-by-pixel float sums of :func:`immerkaer_sums` whenever those are
    exact (totals below 2**53), i.e. in practice always.
    """
    ny, nx = band.shape
    i0, i1 = max(r0, 1), min(r1, ny - 1)
    j0, j1 = max(c0, 1), min(c1, nx - 1)
    s = 0.0
    s2 = 0.0
    n = 0
    if i1 <= i0 or j1 <= j0:
        return s, s2, n
    w = j1 - j0
    h0 = np.empty(w, np.int64)
    h1 = np.empty(w, np.int64)
    h2 = np.empty(w, np.int64)
    g0 = np.ones(w, np.bool_)
    g1 = np.ones(w, np.bool_)
    g2 = np.ones(w, np.bool_)
    _second_diff_row(band[i0 - 1], j0, j1, h0)
    _second_diff_row(band[i0], j0, j1, h1)
    if use_valid:
        _valid3_row(valid[i0 - 1], j0, j1, g0)
        _valid3_row(valid[i0], j0, j1, g1)
    for i in range(i0, i1):
        _second_diff_row(band[i + 1], j0, j1, h2)
        sa = 0
        sq = 0
        if use_valid:
            _valid3_row(valid[i + 1], j0, j1, g2)
            for t in range(w):
                if g0[t] and g1[t] and g2[t]:
                    v = h0[t] - 2 * h1[t] + h2[t]
                    sa += abs(v)
                    sq += v * v
                    n += 1
        else:
            for t in range(w):
                v = h0[t] - 2 * h1[t] + h2[t]
                sa += abs(v)
                sq += v * v
            n += w
        s += sa
        s2 += sq
        h0, h1, h2 = h1, h2, h0
        g0, g1, g2 = g1, g2, g0
    return s, s2, n


@ngjit
def patch_texture(band, valid, oys, oxs, size):
    """Texture strength of each ``size x size`` patch: sum of squared 1-pixel differences.

    Returns ``(xi, ok)`` on the outer-product grid of origins; ``ok`` is False (and ``xi``
    NaN) when any pixel of the patch is invalid.
    """
    xi = np.full((oys.shape[0], oxs.shape[0]), np.nan)
    ok = np.zeros((oys.shape[0], oxs.shape[0]), dtype=np.bool_)
    for a in range(oys.shape[0]):
        y0 = oys[a]
        for b in range(oxs.shape[0]):
            x0 = oxs[b]
            good = True
            for i in range(size):
                for j in range(size):
                    if not valid[y0 + i, x0 + j]:
                        good = False
            if not good:
                continue
            t = 0.0
            for i in range(size):
                for j in range(size):
                    v = 1.0 * band[y0 + i, x0 + j]
                    if j + 1 < size:
                        d = band[y0 + i, x0 + j + 1] - v
                        t += d * d
                    if i + 1 < size:
                        d = band[y0 + i + 1, x0 + j] - v
                        t += d * d
            xi[a, b] = t
            ok[a, b] = True
    return xi, ok


@ngjit
def patch_cov_by_group(band, pys, pxs, group, ngroups, size):
    """Accumulate DC-removed patch second moments per group.

    Parameters
    ----------
    band : 2-D ndarray
    pys, pxs : 1-D int64
        Origins of the selected patches (one entry per patch).
    group : 1-D int64
        Group index of each patch in ``[0, ngroups)``.
    size : int

    Returns
    -------
    (counts, sxx) : ``(ngroups,)`` int64 and ``(ngroups, d, d)`` float64, ``d = size**2``
    """
    d = size * size
    counts = np.zeros(ngroups, dtype=np.int64)
    sxx = np.zeros((ngroups, d, d))
    vec = np.empty(d)
    for k in range(pys.shape[0]):
        y0 = pys[k]
        x0 = pxs[k]
        m = 0.0
        for i in range(size):
            for j in range(size):
                vec[i * size + j] = band[y0 + i, x0 + j]
                m += vec[i * size + j]
        m /= d
        for t in range(d):
            vec[t] -= m
        g = group[k]
        counts[g] += 1
        for u in range(d):
            vu = vec[u]
            for v in range(u, d):
                sxx[g, u, v] += vu * vec[v]
    for g in range(ngroups):
        for u in range(d):
            for v in range(u):
                sxx[g, u, v] = sxx[g, v, u]
    return counts, sxx


def chen_split_variance(eigenvalues: np.ndarray) -> tuple[float, int]:
    """Noise variance from covariance eigenvalues (Chen, Zhu & Heng, ICCV 2015).

    The eigenvalues are sorted in decreasing order; the noise variance is the mean of the
    longest tail ``lambda[i:]`` whose mean does not exceed its median (the tail that looks
    like a pure-noise spectrum).

    Returns
    -------
    (variance, n_tail) : float, int
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1]
    lam = np.maximum(lam, 0.0)
    for i in range(lam.size):
        tail = lam[i:]
        if tail.mean() <= np.median(tail):
            return float(tail.mean()), int(tail.size)
    return float(lam[-1]), 1
