"""Line refinement of the slanted-edge kernel: gradient centroids, then the slope.

Step 1 of :func:`iqx.kernels.esf.measure_candidates`: the traced line is moved to the
weighted centroids of the Sobel gradient (projected on the normal) in 1-px strips along
the edge (twice, as sfrmat does per row), then shifted and rotated so that the ESF 50 %
points of the two halves of the ROI (:func:`iqx.kernels._esf_geometry._half_x50`) lie on
it (two steps; removes the phase-dependent bias of gradient centroids on sharp, sampled
edges). On the traced line and after the first centroid pass,
:func:`iqx.kernels._esf_gates.plateau_gate` rejects candidates that fail relaxed plateau
gates.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._esf_fields import S_BORDER, S_FIT_FAILED, S_OK
from iqx.kernels._esf_gates import plateau_gate
from iqx.kernels._esf_geometry import _half_x50, _rotate, row_span
from iqx.kernels._numba import ngjit

__all__: list[str] = []


@ngjit
def refine_line(
    img: np.ndarray,
    gy: np.ndarray,
    gx: np.ndarray,
    sy: int,
    sx: int,
    cy: float,
    cx: float,
    ty: float,
    tx: float,
    lh: float,
    H: float,
    plateau: float,
    gates: np.ndarray,
) -> tuple[int, float, float, float, float, float, int, int, int, int]:
    """Refine one traced line (centre ``(cy, cx)`` relative to the seed ``(sy, sx)``,
    direction ``(ty, tx)``, half-length ``lh``).

    Returns
    -------
    status : int
        ``S_OK``, ``S_BORDER`` (the ROI leaves the block), ``S_FIT_FAILED`` or the status
        of a failed plateau gate (:func:`iqx.kernels._esf_gates.plateau_gate` with the
        thresholds ``gates[0]`` on the traced line, ``gates[1]`` after the first pass:
        ``min_snr, max_noise_ratio, max_plateau_slope``, 0 = not tested).
    cy, cx, ty, tx : float
        The refined line (the traced one, or as far as refined, when ``status != 0``).
    fit_rms : float
        RMS residual of the last centroid line fit (px).
    r0, r1, c0, c1 : int
        Bounding box (inclusive) of the ROI of the last centroid pass.
    """
    ny, nx = img.shape
    status = S_OK
    fit_rms = 0.0
    wc = max(H - plateau, 2.0)
    nstrip = int(2.0 * lh) + 1
    sw = np.zeros(nstrip)
    swd = np.zeros(nstrip)
    swa = np.zeros(nstrip)
    shift = 0.0
    r0 = 0
    r1 = 0
    c0 = 0
    c1 = 0
    for it in range(3):
        nyv = tx
        nxv = -ty
        ext = H + 2.0
        ry = abs(ty) * lh + abs(nyv) * ext
        rx = abs(tx) * lh + abs(nxv) * ext
        r0 = sy + math.floor(cy - ry)
        r1 = sy + math.ceil(cy + ry)
        c0 = sx + math.floor(cx - rx)
        c1 = sx + math.ceil(cx + rx)
        if r0 < 0 or c0 < 0 or r1 >= ny or c1 >= nx:
            status = S_BORDER
            break
        if it < 2:
            # cheap plateau gates: contrast/SNR on the traced line, all four after the first
            # centroid pass (relaxed thresholds; iqx.kernels._esf_gates)
            box = (r0, r1, c0, c1)
            status = plateau_gate(
                img, sy, sx, cy, cx, ty, tx, lh, H, plateau, box,
                gates[it, 0], gates[it, 1], gates[it, 2],
            )  # fmt: skip
            if status != 0:
                break
        if it == 2:
            break
        sw[:] = 0.0
        swd[:] = 0.0
        swa[:] = 0.0
        for r in range(r0, r1 + 1):
            lo, hi = row_span((r - sy) - cy, sx + cx, ty, tx, nyv, nxv, lh, wc, c0, c1)
            for c in range(lo, hi + 1):
                dy = (r - sy) - cy
                dx = (c - sx) - cx
                a = dy * ty + dx * tx
                d = dy * nyv + dx * nxv
                if abs(a) > lh or abs(d) > wc:
                    continue
                g = gy[r, c] * nyv + gx[r, c] * nxv
                if g <= 0.0:
                    continue
                s = int(a + lh)
                sw[s] += g
                swd[s] += g * d
                swa[s] += g * a
        # weighted line fit d = alpha + beta * a over strips
        m = 0
        sa = 0.0
        sd = 0.0
        saa = 0.0
        sad = 0.0
        for s in range(nstrip):
            if sw[s] > 0.0:
                am = swa[s] / sw[s]
                dm = swd[s] / sw[s]
                m += 1
                sa += am
                sd += dm
                saa += am * am
                sad += am * dm
        if m < 5:
            status = S_FIT_FAILED
            break
        den = m * saa - sa * sa
        beta = (m * sad - sa * sd) / den
        alpha = (sd - beta * sa) / m
        ss = 0.0
        for s in range(nstrip):
            if sw[s] > 0.0:
                am = swa[s] / sw[s]
                dm = swd[s] / sw[s]
                e = dm - alpha - beta * am
                ss += e * e
        fit_rms = math.sqrt(ss / m)
        cy += alpha * nyv
        cx += alpha * nxv
        shift += abs(alpha)
        nt = math.sqrt(1.0 + beta * beta)
        nty = (ty + beta * nyv) / nt
        ntx = (tx + beta * nxv) / nt
        ty = nty
        tx = ntx
        if shift > 3.0 or abs(beta) > 0.3:
            status = S_FIT_FAILED
            break
    if status == 0:
        # slope refinement: golden-section search of the rotation that minimises the
        # scatter of the pixels around their binned ESF (removes the phase-dependent
        # bias of gradient centroids on sharp, sampled edges)
        nmax = (r1 - r0 + 1) * (c1 - c0 + 1)
        py = np.empty(nmax)
        px = np.empty(nmax)
        pv = np.empty(nmax)
        npx = 0
        for r in range(r0, r1 + 1):
            lo, hi = row_span((r - sy) - cy, sx + cx, ty, tx, tx, -ty, lh + 1.0, H + 1.0, c0, c1)
            for c in range(lo, hi + 1):
                dy = (r - sy) - cy
                dx = (c - sx) - cx
                if abs(dy * tx - dx * ty) <= H + 1.0 and abs(dy * ty + dx * tx) <= lh + 1.0:
                    py[npx] = dy
                    px[npx] = dx
                    pv[npx] = img[r, c]
                    npx += 1
        for _ in range(2):
            xl50, al = _half_x50(py, px, pv, npx, ty, tx, lh, H, -1)
            xr50, ar = _half_x50(py, px, pv, npx, ty, tx, lh, H, 1)
            if np.isnan(xl50) or np.isnan(xr50) or ar - al < 4.0:
                break
            beta = (xr50 - xl50) / (ar - al)
            alpha = xl50 - beta * al
            if abs(beta) > 0.05 or abs(alpha) > 1.0:
                break
            # move the centre along the normal, then rotate about it
            nyv = tx
            nxv = -ty
            cy += alpha * nyv
            cx += alpha * nxv
            for i in range(npx):
                py[i] -= alpha * nyv
                px[i] -= alpha * nxv
            ty, tx = _rotate(ty, tx, beta)
    return status, cy, cx, ty, tx, fit_rms, r0, r1, c0, c1
