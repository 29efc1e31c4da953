"""The vectorised seed kernels equal their plain scalar definitions bit for bit.

``seed_score``, ``cell_seeds`` (:mod:`iqx.kernels._edges_seeds`) and ``block_pixels`` are
rewritten for speed (row views, selects); the references below are the straightforward
pixel-by-pixel definitions (the kernels as they were up to 5f0ca60), compiled with plain
``numba.njit``. Scores are compared as bit patterns, seeds exactly, on natural-like,
random, tied (flat and exactly straight) and overflowing (NaN-score) inputs.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from iqx.kernels.edges import block_pixels, cell_seeds, seed_score, sobel
from iqx.testing.edges import parcel_scene


@numba.njit
def _ref_score(gy, gx, radius):
    ny, nx = gy.shape
    mag = np.sqrt(gy * gy + gx * gx)
    out = np.zeros((ny, nx), np.float32)
    e = max(radius, 1)
    for r in range(e, ny - e):
        for c in range(e, nx - e):
            m = mag[r, c]
            if m == 0.0:
                continue
            sy_ = (gy[r, c] / m) * 1.082392200292394
            sx_ = (gx[r, c] / m) * 1.082392200292394
            dy = (1 if sy_ > 0.5 else 0) - (1 if sy_ < -0.5 else 0)
            dx = (1 if sx_ > 0.5 else 0) - (1 if sx_ < -0.5 else 0)
            if not (m >= mag[r + dy, c + dx] and m > mag[r - dy, c - dx]):
                continue
            a = 0.0
            b = 0.0
            d = 0.0
            for rr in range(r - radius, r + radius + 1):
                ra = 0.0
                rb = 0.0
                rd = 0.0
                for q in range(c - radius, c + radius + 1):
                    ra += gy[rr, q] * gy[rr, q]
                    rb += gx[rr, q] * gx[rr, q]
                    rd += gy[rr, q] * gx[rr, q]
                a += ra
                b += rb
                d += rd
            tr = a + b
            if tr > 0.0:
                coh = math.sqrt((a - b) * (a - b) + 4.0 * d * d) / tr
                out[r, c] = m * coh * coh
    return out


@numba.njit
def _ref_seeds(score, off_y, off_x, cy0, cy1, cx0, cx1, sny, snx, cell, per_cell, min_sep):
    out = []
    for i in range((cy0 + cell - 1) // cell, (cy1 - 1) // cell + 1):
        for j in range((cx0 + cell - 1) // cell, (cx1 - 1) // cell + 1):
            n0 = len(out)
            for _ in range(per_cell):
                best = 0.0
                by = -1
                bx = -1
                for y in range(i * cell, min(i * cell + cell, sny)):
                    for x in range(j * cell, min(j * cell + cell, snx)):
                        m = score[y - off_y, x - off_x]
                        if m <= best:
                            continue
                        near = False
                        for q in range(n0, len(out)):
                            sy, sx = out[q]
                            if abs(sy - (y - off_y)) < min_sep and abs(sx - (x - off_x)) < min_sep:
                                near = True
                        if not near:
                            best = m
                            by = y - off_y
                            bx = x - off_x
                if by < 0:
                    break
                out.append((by, bx))
    res = np.empty((len(out), 2), np.int64)
    for k in range(len(out)):
        res[k, 0] = out[k][0]
        res[k, 1] = out[k][1]
    return res


def _images() -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    step = np.zeros((60, 70))
    step[:, 35:] = 1.0  # exactly straight: coherence 1, tied scores
    square = np.zeros((64, 64))
    square[16:48, 16:48] = 5.0
    huge = rng.normal(size=(48, 50)) * 10.0 ** rng.uniform(0, 25, size=(48, 50))
    return [
        np.asarray(parcel_scene(160, sigma=0.8, snr=60, seed=2), float),
        rng.normal(size=(90, 97)),
        np.round(rng.normal(size=(80, 80)) * 2.0),  # many ties
        step,
        square,
        huge,  # overflowing float32 gradients: inf magnitudes and NaN scores
        np.zeros((20, 30)),
        rng.normal(size=(6, 9)),
    ]


@pytest.mark.parametrize("radius", [0, 1, 2, 3])
def test_seed_score_and_cells_equal_reference(radius: int) -> None:
    nan_seen = False
    for img in _images():
        gy, gx = sobel(img, np.isfinite(img))
        got = seed_score(gy, gx, radius)
        ref = _ref_score(gy, gx, radius)
        assert np.array_equal(got.view(np.uint32), ref.view(np.uint32))
        nan_seen |= bool(np.isnan(got).any())
        ny, nx = img.shape
        for oy, ox, cy0, cy1, cx0, cx1 in [(0, 0, 0, ny, 0, nx), (16, 32, 30, ny, 40, nx - 3)]:
            for cell, per_cell, sep in [(16, 3, 4), (16, 1, 0), (8, 5, 2), (5, 4, 1)]:
                args = (oy, ox, cy0 + oy, cy1 + oy, cx0 + ox, cx1 + ox, ny + oy, nx + ox)
                a = cell_seeds(got, *args, cell, per_cell, sep)
                b = _ref_seeds(ref, *args, cell, per_cell, sep)
                assert np.array_equal(a, b), (img.shape, radius, args, cell)
    assert nan_seen or radius == 0  # the pixel-by-pixel path for NaN scores is exercised


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("nodata", [None, 0.0, 7.0])
def test_block_pixels_equal_numpy(dtype, nodata) -> None:
    rng = np.random.default_rng(1)
    x = (rng.random((33, 41)) * 20).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x[3, 4:9] = np.nan
        x[5, 1] = np.inf
    use = nodata is not None
    img, valid = block_pixels(x, nodata if use else 0.0, use)
    ref = np.array(x, dtype=np.float64)
    ok = np.isfinite(ref)
    if use:
        ok &= ref != nodata
    ref[~ok] = 0.0
    assert img.dtype == np.float64 and np.array_equal(valid, ok)
    assert np.array_equal(img.view(np.uint64), ref.view(np.uint64))
