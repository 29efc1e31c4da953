"""Edge candidate search on one block: Sobel gradient, per-cell seeds, edge tracing, line fit.

Pure NumPy + numba, no xarray or dask. Everything a candidate depends on lies within a
bounded distance of its seed (:func:`candidate_reach`), and every geometric quantity is
computed relative to the integer seed pixel, so a candidate gets bit-identical values
whatever block it is computed in (the basis of chunk invariance).

Cells form a grid aligned to the *scene* origin; each cell contributes at most one seed:
its pixel of largest gradient magnitude. From the seed the edge is traced both ways along
the tangent, following the gradient maximum across the edge with sub-pixel (parabolic)
refinement, until the gradient drops below ``stop_ratio`` of the seed's, turns by more
than ``max_turn`` degrees or the half-length limit is reached. A total-least-squares line
fit of the chain gives the candidate (centre, direction, length, straightness).
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._edges_nms import greedy_nms, overlap_components, segments_clash
from iqx.kernels._edges_seeds import cell_seeds, seed_score
from iqx.kernels._numba import ngjit

__all__ = [
    "CAND_FIELDS",
    "block_pixels",
    "candidate_reach",
    "cell_seeds",
    "seed_score",
    "sobel",
    "greedy_nms",
    "segments_clash",
    "overlap_components",
    "trace_candidates",
]

#: Columns of the candidate array returned by :func:`trace_candidates`.
CAND_FIELDS = (
    "seed_y",  # local integer seed row
    "seed_x",  # local integer seed column
    "cy",  # line centre, relative to the seed (rows)
    "cx",  # line centre, relative to the seed (cols)
    "ty",  # unit tangent (rows)
    "tx",  # unit tangent (cols)
    "half_length",  # half of the chain extent along the tangent (px)
    "rms",  # RMS perpendicular residual of the chain (px)
    "grad",  # gradient magnitude at the seed
    "status",  # 0 ok, 1 too short, 2 not straight
)


def candidate_reach(max_length: int, halfwidth: int) -> int:
    """Largest distance (px) from a seed that a candidate's computation can touch."""
    return int(max_length // 2 + halfwidth + 8)


@ngjit
def block_pixels(
    block: np.ndarray, nodata: float, use_nodata: bool
) -> tuple[np.ndarray, np.ndarray]:
    """One band of a block as float64 with its validity, in one pass.

    ``valid`` is ``isfinite(x)`` and, when ``use_nodata``, ``x != nodata`` (compared in
    float64); invalid pixels are 0 in ``img`` (what ``np.array(block, float64)``,
    ``np.isfinite`` and ``img[~valid] = 0`` give, without their temporaries).
    """
    ny, nx = block.shape
    img = np.empty((ny, nx))
    valid = np.empty((ny, nx), np.bool_)
    for r in range(ny):
        src = block[r]
        dst = img[r]
        ok = valid[r]
        for c in range(nx):
            v = np.float64(src[c])
            good = np.isfinite(v)
            if use_nodata:
                good = good & (v != nodata)
            ok[c] = good
            dst[c] = v if good else 0.0
    return img, valid


@ngjit
def sobel(img: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel gradient ``(gy, gx)``, scaled so that a unit ramp has gradient 1.

    Pixels whose 3x3 neighbourhood is not fully valid (or on the block border) get 0.
    """
    ny, nx = img.shape
    gy = np.zeros((ny, nx), np.float32)
    gx = np.zeros((ny, nx), np.float32)
    for r in range(1, ny - 1):
        for c in range(1, nx - 1):
            ok = True
            for dr in range(-1, 2):
                for dc in range(-1, 2):
                    if not valid[r + dr, c + dc]:
                        ok = False
            if not ok:
                continue
            a = img[r - 1, c - 1]
            b = img[r - 1, c]
            cc = img[r - 1, c + 1]
            d = img[r, c - 1]
            f = img[r, c + 1]
            g = img[r + 1, c - 1]
            h = img[r + 1, c]
            k = img[r + 1, c + 1]
            gx[r, c] = ((cc + 2.0 * f + k) - (a + 2.0 * d + g)) / 8.0
            gy[r, c] = ((g + 2.0 * h + k) - (a + 2.0 * b + cc)) / 8.0
    return gy, gx


@ngjit
def _bilinear(a: np.ndarray, sy: int, sx: int, y: float, x: float) -> float:
    """Bilinear value at seed-relative ``(y, x)``; integer and fractional parts kept apart
    so that the result does not depend on where the block starts."""
    ny, nx = a.shape
    fy0 = math.floor(y)
    fx0 = math.floor(x)
    r = sy + int(fy0)
    c = sx + int(fx0)
    if r < 0 or c < 0 or r > ny - 2 or c > nx - 2:
        return 0.0
    # unsigned indices: no negative-index wrap-around test per load (r, c >= 0 here)
    r = np.uint64(r)
    c = np.uint64(c)
    fy = y - fy0
    fx = x - fx0
    return (
        a[r, c] * (1 - fy) * (1 - fx)
        + a[r, c + 1] * (1 - fy) * fx
        + a[r + 1, c] * fy * (1 - fx)
        + a[r + 1, c + 1] * fy * fx
    )


@ngjit
def _bilinear2(
    gy: np.ndarray, gx: np.ndarray, sy: int, sx: int, y: float, x: float
) -> tuple[float, float]:
    """``(_bilinear(gy, ...), _bilinear(gx, ...))`` with the cell and weights computed once
    (the same arithmetic, term by term: bit-identical)."""
    ny, nx = gy.shape
    fy0 = math.floor(y)
    fx0 = math.floor(x)
    r = sy + int(fy0)
    c = sx + int(fx0)
    if r < 0 or c < 0 or r > ny - 2 or c > nx - 2:
        return 0.0, 0.0
    r = np.uint64(r)  # as in _bilinear
    c = np.uint64(c)
    fy = y - fy0
    fx = x - fx0
    u = 1 - fy
    v = 1 - fx
    vy = (
        gy[r, c] * u * v
        + gy[r, c + 1] * u * fx
        + gy[r + 1, c] * fy * v
        + gy[r + 1, c + 1] * fy * fx
    )
    vx = (
        gx[r, c] * u * v
        + gx[r, c + 1] * u * fx
        + gx[r + 1, c] * fy * v
        + gx[r + 1, c + 1] * fy * fx
    )
    return vy, vx


@ngjit
def _gn(
    gy: np.ndarray, gx: np.ndarray, sy: int, sx: int, y: float, x: float, ny_: float, nx_: float
) -> float:
    """Gradient projected on the normal at seed-relative position ``(y, x)``.

    ``_bilinear(gy) * ny_ + _bilinear(gx) * nx_`` with the cell and weights computed once
    for both arrays (the same arithmetic, term by term: bit-identical).
    """
    ny, nx = gy.shape
    fy0 = math.floor(y)
    fx0 = math.floor(x)
    r = sy + int(fy0)
    c = sx + int(fx0)
    if r < 0 or c < 0 or r > ny - 2 or c > nx - 2:
        return 0.0 * ny_ + 0.0 * nx_
    r = np.uint64(r)  # as in _bilinear
    c = np.uint64(c)
    fy = y - fy0
    fx = x - fx0
    u = 1 - fy
    v = 1 - fx
    # left to right as in _bilinear: (a * u) * v, not a * (u * v)
    vy = (
        gy[r, c] * u * v
        + gy[r, c + 1] * u * fx
        + gy[r + 1, c] * fy * v
        + gy[r + 1, c + 1] * fy * fx
    )
    vx = (
        gx[r, c] * u * v
        + gx[r, c + 1] * u * fx
        + gx[r + 1, c] * fy * v
        + gx[r + 1, c + 1] * fy * fx
    )
    return vy * ny_ + vx * nx_


@ngjit
def _follow(
    gy: np.ndarray,
    gx: np.ndarray,
    sy: int,
    sx: int,
    ny_: float,
    nx_: float,
    y: float,
    x: float,
) -> tuple[float, float, float]:
    """Move ``(y, x)`` across the edge to the sub-pixel maximum of the normal gradient."""
    # the 7 samples are kept in scalars (no array allocated per step: this runs ~10^6
    # times per Mpx); ``a, b, c`` = samples before, at and after the running maximum
    best = -1e300
    bk = 0
    prev = 0.0
    a = 0.0
    c = 0.0
    for k in range(7):
        s = (k - 3) * 0.5
        v = _gn(gy, gx, sy, sx, y + s * ny_, x + s * nx_, ny_, nx_)
        if k == bk + 1:
            c = v
        if v > best:
            best = v
            bk = k
            a = prev
        prev = v
    off = (bk - 3) * 0.5
    if 0 < bk < 6:
        b = best
        den = a - 2.0 * b + c
        if den < 0.0:
            off += 0.5 * 0.5 * (a - c) / den
    return y + off * ny_, x + off * nx_, best


@ngjit
def trace_candidates(
    gy: np.ndarray,
    gx: np.ndarray,
    seeds: np.ndarray,
    max_half: int,
    min_length: float,
    max_rms: float,
    stop_ratio: float,
    max_turn: float,
    trim: float,
) -> np.ndarray:
    """Trace an edge from every seed and fit a line to it.

    Parameters
    ----------
    gy, gx : ndarray
        Gradient of the extended block.
    seeds : ndarray of int64, shape (n, 2)
        Local seed positions.
    max_half : int
        Largest distance traced from the seed along the tangent (px).
    min_length : float
        Minimum trimmed length (px).
    max_rms : float
        Maximum RMS perpendicular residual of the chain (px).
    stop_ratio : float
        Stop when the gradient falls below this fraction of the seed's.
    max_turn : float
        Stop when the local gradient direction turns by more than this (degrees).
    trim : float
        Length removed at each end of the chain (corners, line ends), px.

    Returns
    -------
    ndarray of float64, shape (n, len(CAND_FIELDS))
        One row per seed (see :data:`CAND_FIELDS`).
    """
    n = seeds.shape[0]
    out = np.zeros((n, 10))
    cos_turn = math.cos(math.radians(max_turn))
    pts_y = np.empty(2 * max_half + 3)
    pts_x = np.empty(2 * max_half + 3)
    for k in range(n):
        sy = seeds[k, 0]
        sx = seeds[k, 1]
        out[k, 0] = sy
        out[k, 1] = sx
        g0y = gy[sy, sx]
        g0x = gx[sy, sx]
        gm = math.sqrt(g0y * g0y + g0x * g0x)
        out[k, 8] = gm
        n0y = g0y / gm
        n0x = g0x / gm
        y, x, g = _follow(gy, gx, sy, sx, n0y, n0x, 0.0, 0.0)
        npts = 0
        pts_y[npts] = y
        pts_x[npts] = x
        npts += 1
        start_y = y
        start_x = x
        for side in range(2):
            ty = n0x if side == 0 else -n0x
            tx = -n0y if side == 0 else n0y
            ny_ = n0y
            nx_ = n0x
            cy = start_y
            cx = start_x
            for step in range(1, max_half + 1):
                py = cy + ty
                px = cx + tx
                py, px, g = _follow(gy, gx, sy, sx, ny_, nx_, py, px)
                if g < stop_ratio * gm:
                    break
                if (py - start_y) ** 2 + (px - start_x) ** 2 > max_half * max_half:
                    break
                ly, lx = _bilinear2(gy, gx, sy, sx, py, px)
                lm = math.sqrt(ly * ly + lx * lx)
                if lm == 0.0 or (ly * n0y + lx * n0x) / lm < cos_turn:
                    break
                pts_y[npts] = py
                pts_x[npts] = px
                npts += 1
                cy = py
                cx = px
                if step >= 6:
                    dy = cy - start_y
                    dx = cx - start_x
                    dn = math.sqrt(dy * dy + dx * dx)
                    ty = dy / dn
                    tx = dx / dn
                    if side == 0:
                        ny_ = -tx
                        nx_ = ty
                    else:
                        ny_ = tx
                        nx_ = -ty
        # total least squares line
        my = 0.0
        mx = 0.0
        for i in range(npts):
            my += pts_y[i]
            mx += pts_x[i]
        my /= npts
        mx /= npts
        syy = 0.0
        sxx = 0.0
        sxy = 0.0
        for i in range(npts):
            dy = pts_y[i] - my
            dx = pts_x[i] - mx
            syy += dy * dy
            sxx += dx * dx
            sxy += dy * dx
        theta = 0.5 * math.atan2(2.0 * sxy, sxx - syy)
        tx = math.cos(theta)
        ty = math.sin(theta)
        # orient the tangent so that the gradient (normal) is to its left: n = (tx, -ty)
        if (tx * n0y - ty * n0x) < 0.0:
            tx = -tx
            ty = -ty
        amin = 1e300
        amax = -1e300
        ss = 0.0
        for i in range(npts):
            dy = pts_y[i] - my
            dx = pts_x[i] - mx
            a = dy * ty + dx * tx
            p = -dy * tx + dx * ty
            ss += p * p
            amin = min(amin, a)
            amax = max(amax, a)
        rms = math.sqrt(ss / npts)
        amin += trim
        amax -= trim
        length = amax - amin
        amid = 0.5 * (amin + amax)
        out[k, 2] = my + amid * ty
        out[k, 3] = mx + amid * tx
        out[k, 4] = ty
        out[k, 5] = tx
        out[k, 6] = 0.5 * max(length, 0.0)
        out[k, 7] = rms
        if length < min_length:
            out[k, 9] = 1
        elif rms > max_rms:
            out[k, 9] = 2
    return out
