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
from iqx.kernels._numba import ngjit

__all__ = [
    "CAND_FIELDS",
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
def _row_sums(
    gyr: np.ndarray,
    gxr: np.ndarray,
    radius: int,
    a_out: np.ndarray,
    b_out: np.ndarray,
    d_out: np.ndarray,
) -> None:
    """Structure-tensor sums of one row over ``2 radius + 1`` columns."""
    nx = gyr.shape[0]
    for c in range(radius, nx - radius):
        a = 0.0
        b = 0.0
        d = 0.0
        for q in range(c - radius, c + radius + 1):
            a += gyr[q] * gyr[q]
            b += gxr[q] * gxr[q]
            d += gyr[q] * gxr[q]
        a_out[c] = a
        b_out[c] = b
        d_out[c] = d


@ngjit
def seed_score(gy: np.ndarray, gx: np.ndarray, radius: int) -> np.ndarray:
    """Edge-likeness of every pixel: gradient magnitude x orientation coherence.

    The score is ``|g| * c`` with ``c = ((l1 - l2) / (l1 + l2))^2`` the coherence of the
    structure tensor summed over a ``(2 radius + 1)^2`` window (1 on a straight edge, ~0 on
    corners, blobs and texture), and 0 for pixels that are not a local maximum of ``|g|``
    across their gradient direction (Canny-style non-maximum suppression). It only depends
    on a ``radius + 2`` neighbourhood, so it is the same in any block that holds it.
    """
    ny, nx = gy.shape
    mag = np.sqrt(gy * gy + gx * gx)
    # separable box sums of the structure tensor: row sums over 2 radius + 1 columns in a
    # ring buffer of 2 radius + 1 rows (memory O(nx), same summation order as full maps),
    # then the column sums of the current row in one vectorisable pass
    k = 2 * radius + 1
    jyy = np.zeros((k, nx))
    jxx = np.zeros((k, nx))
    jxy = np.zeros((k, nx))
    sa = np.empty(nx)
    sb = np.empty(nx)
    sd = np.empty(nx)
    out = np.zeros((ny, nx), np.float32)
    e = max(radius, 1)
    done = 0  # rows whose sums are in the buffer: [done - k, done)
    one = np.float32(1.0)
    zero = np.float32(0.0)
    for r in range(e, ny - e):
        while done <= r + radius:
            _row_sums(gy[done], gx[done], radius, jyy[done % k], jxx[done % k], jxy[done % k])
            done += 1
        sa[:] = 0.0
        sb[:] = 0.0
        sd[:] = 0.0
        for i in range(k):
            q = (r - radius + i) % k
            for c in range(nx):
                sa[c] += jyy[q, c]
                sb[c] += jxx[q, c]
                sd[c] += jxy[q, c]
        mu = mag[r - 1]
        mr = mag[r]
        md = mag[r + 1]
        # branch-free: every pixel computes its score, a select keeps the local maxima
        for c in range(e, nx - e):
            m = mr[c]
            mm = m if m != 0.0 else one
            # non-maximum suppression across the edge (nearest of the 4 directions):
            # round(u / cos(22.5 deg)) for |u| <= 1, half to even, is -1, 0 or 1
            sy_ = (gy[r, c] / mm) * 1.082392200292394
            sx_ = (gx[r, c] / mm) * 1.082392200292394
            dy = np.int64(sy_ > 0.5) - np.int64(sy_ < -0.5)
            dx = np.int64(sx_ > 0.5) - np.int64(sx_ < -0.5)
            fwd = mu[c + dx] if dy < 0 else (md[c + dx] if dy > 0 else mr[c + dx])
            bwd = md[c - dx] if dy < 0 else (mu[c - dx] if dy > 0 else mr[c - dx])
            a = sa[c]
            b = sb[c]
            d = sd[c]
            tr = a + b
            disc = math.sqrt((a - b) * (a - b) + 4.0 * d * d)
            coh = disc / tr if tr > 0.0 else 0.0
            keep = (m != 0.0) & (m >= fwd) & (m > bwd) & (tr > 0.0)
            out[r, c] = m * coh * coh if keep else zero
    return out


@ngjit
def cell_seeds(
    score: np.ndarray,
    off_y: int,
    off_x: int,
    core_y0: int,
    core_y1: int,
    core_x0: int,
    core_x1: int,
    scene_ny: int,
    scene_nx: int,
    cell: int,
    per_cell: int,
    min_sep: int,
) -> np.ndarray:
    """Up to ``per_cell`` seeds per scene-aligned cell whose origin lies in the block core.

    Parameters
    ----------
    score : ndarray
        Seed score of the extended block (:func:`seed_score`).
    off_y, off_x : int
        Scene coordinates of the extended block's first pixel.
    core_y0, core_y1, core_x0, core_x1 : int
        Scene coordinates of the block core (half-open).
    scene_ny, scene_nx : int
        Scene size.
    cell : int
        Cell size (px).
    per_cell : int
        Largest number of seeds per cell: the highest scores, strongest first.
    min_sep : int
        Smallest Chebyshev distance between two seeds of a cell (px).

    Returns
    -------
    ndarray of int64, shape (n, 2)
        Local ``(row, col)`` of each seed (cells with no positive score give none).
    """
    first_i = (core_y0 + cell - 1) // cell
    first_j = (core_x0 + cell - 1) // cell
    ni = max(0, (core_y1 - 1) // cell - first_i + 1)
    nj = max(0, (core_x1 - 1) // cell - first_j + 1)
    out = np.empty((ni * nj * per_cell, 2), np.int64)
    n = 0
    for i in range(first_i, first_i + ni):
        for j in range(first_j, first_j + nj):
            y0 = i * cell
            x0 = j * cell
            n0 = n
            for _ in range(per_cell):
                best = 0.0
                by = -1
                bx = -1
                for y in range(y0, min(y0 + cell, scene_ny)):
                    for x in range(x0, min(x0 + cell, scene_nx)):
                        ly = y - off_y
                        lx = x - off_x
                        m = score[ly, lx]
                        if m <= best:
                            continue
                        near = False
                        for q in range(n0, n):
                            if abs(out[q, 0] - ly) < min_sep and abs(out[q, 1] - lx) < min_sep:
                                near = True
                                break
                        if not near:
                            best = m
                            by = ly
                            bx = lx
                if by < 0:
                    break
                out[n, 0] = by
                out[n, 1] = bx
                n += 1
    return out[:n]


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
    fy = y - fy0
    fx = x - fx0
    return (
        a[r, c] * (1 - fy) * (1 - fx)
        + a[r, c + 1] * (1 - fy) * fx
        + a[r + 1, c] * fy * (1 - fx)
        + a[r + 1, c + 1] * fy * fx
    )


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
                ly = _bilinear(gy, sy, sx, py, px)
                lx = _bilinear(gx, sy, sx, py, px)
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
