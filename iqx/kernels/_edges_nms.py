"""De-duplication of overlapping edge measurements: greedy non-maximum suppression.

Segments are rows ``cy, cx, ty, tx, half_length, status, band``. Two segments *clash*
(overlap) when their directions are within ``acos(cos_max)``, one's centre lies within
``halfwidth`` of the other's line and they overlap along it (:func:`segments_clash`).
A grid hash of the centres (buckets of ``reach`` px) keeps both passes near linear.
Public through :mod:`iqx.kernels.edges`.
"""

from __future__ import annotations

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["greedy_nms", "overlap_components", "segments_clash"]


@ngjit
def segments_clash(
    dy: float,
    dx: float,
    tyi: float,
    txi: float,
    hli: float,
    tyj: float,
    txj: float,
    hlj: float,
    cos_max: float,
    halfwidth: float,
) -> bool:
    """Does segment ``i`` overlap segment ``j``? ``(dy, dx)`` is the centre of ``i`` minus
    the centre of ``j``; directions within ``acos(cos_max)``, centre of ``i`` within
    ``halfwidth`` of ``j``'s line across it and the two overlapping along it (measured in
    ``j``'s frame)."""
    if abs(tyi * tyj + txi * txj) < cos_max:
        return False
    along = abs(dy * tyj + dx * txj)
    across = abs(dy * txj - dx * tyj)
    return across < halfwidth and along < hli + hlj


@ngjit
def _clash(
    i: int,
    j: int,
    geo: np.ndarray,
    cos_max: float,
    halfwidth: float,
) -> bool:
    """Does segment ``i`` overlap the (kept) segment ``j``? Same band and
    :func:`segments_clash`."""
    if geo[i, 6] != geo[j, 6]:
        return False
    return segments_clash(
        geo[i, 0] - geo[j, 0], geo[i, 1] - geo[j, 1], geo[i, 2], geo[i, 3], geo[i, 4],
        geo[j, 2], geo[j, 3], geo[j, 4], cos_max, halfwidth,
    )  # fmt: skip


@ngjit
def _buckets(geo: np.ndarray, size: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Grid-hash bucket ``(row, col)`` of each segment centre (buckets of ``size`` px)."""
    n = geo.shape[0]
    y0 = 1e300
    x0 = 1e300
    y1 = -1e300
    x1 = -1e300
    for i in range(n):
        y0 = min(y0, geo[i, 0])
        x0 = min(x0, geo[i, 1])
        y1 = max(y1, geo[i, 0])
        x1 = max(x1, geo[i, 1])
    by = np.empty(n, np.int64)
    bx = np.empty(n, np.int64)
    for i in range(n):
        by[i] = int((geo[i, 0] - y0) / size)
        bx[i] = int((geo[i, 1] - x0) / size)
    nby = int((y1 - y0) / size) + 1 if n else 0
    nbx = int((x1 - x0) / size) + 1 if n else 0
    return by, bx, nby, nbx


@ngjit
def greedy_nms(
    geo: np.ndarray, order: np.ndarray, cos_max: float, halfwidth: float, reach: float
) -> np.ndarray:
    """Greedy non-maximum suppression of segments, in ``order``.

    Parameters
    ----------
    geo : ndarray, shape (n, 7)
        ``cy, cx, ty, tx, half_length, status, band`` per segment.
    order : ndarray of int64
        Visiting order (best first); a segment is kept unless it overlaps (:func:`_clash`)
        a segment kept before it.
    cos_max, halfwidth : float
        Direction and across-distance limits of an overlap.
    reach : float
        Upper bound of the centre distance of two overlapping segments (grid-hash size).

    Returns
    -------
    ndarray of bool
        Kept segments.
    """
    n = geo.shape[0]
    kept = np.zeros(n, np.bool_)
    if n == 0:
        return kept
    by, bx, nby, nbx = _buckets(geo, reach)
    head = np.full(nby * nbx, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    for i in order:
        clash = False
        for yy in range(max(by[i] - 1, 0), min(by[i] + 2, nby)):
            for xx in range(max(bx[i] - 1, 0), min(bx[i] + 2, nbx)):
                j = head[yy * nbx + xx]
                while j >= 0:
                    if _clash(i, j, geo, cos_max, halfwidth):
                        clash = True
                        break
                    j = nxt[j]
                if clash:
                    break
            if clash:
                break
        if not clash:
            kept[i] = True
            b = by[i] * nbx + bx[i]
            nxt[i] = head[b]
            head[b] = i
    return kept


@ngjit
def _find(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@ngjit
def overlap_components(
    geo: np.ndarray, cos_max: float, halfwidth: float, reach: float
) -> np.ndarray:
    """Connected components of the overlap graph (either direction of :func:`_clash`).

    Greedy suppression restricted to one component gives the same answer as over the whole
    set, so components can be settled independently (and early, once no later segment can
    join them). Returns a component label (a representative index) per segment.
    """
    n = geo.shape[0]
    parent = np.arange(n)
    if n == 0:
        return parent
    by, bx, nby, nbx = _buckets(geo, reach)
    head = np.full(nby * nbx, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    for i in range(n):
        for yy in range(max(by[i] - 1, 0), min(by[i] + 2, nby)):
            for xx in range(max(bx[i] - 1, 0), min(bx[i] + 2, nbx)):
                j = head[yy * nbx + xx]
                while j >= 0:
                    if _clash(i, j, geo, cos_max, halfwidth) or _clash(
                        j, i, geo, cos_max, halfwidth
                    ):
                        ri = _find(parent, i)
                        rj = _find(parent, j)
                        if ri != rj:
                            parent[max(ri, rj)] = min(ri, rj)
                    j = nxt[j]
        b = by[i] * nbx + bx[i]
        nxt[i] = head[b]
        head[b] = i
    for i in range(n):
        parent[i] = _find(parent, i)
    return parent
