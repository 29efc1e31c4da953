"""Flat pixels by uniform local binary patterns: the window test of the ``ha`` SNR method.

IQUAFLOW's homogeneous-area SNR calls a pixel *flat* when its rotation-invariant uniform LBP
(``skimage.feature.local_binary_pattern(band, 8 R, R, method="uniform")``) is at most
``R - 1`` or at least ``7 R + 1``. :func:`lbp_flat` gives that mask in one numba pass,
without the LBP image: the same sample positions, bilinear weights, comparisons and
transition count as scikit-image's ``_local_binary_pattern`` (0.24-0.26), so the mask is
the same bit for bit (tested against scikit-image on integer and float images, every radius
used, ties included: ``tests/test_kernels/test_lbp.py``). scikit-image holds the GIL and
takes ~105 ms per Mpx here; this takes a few ms and releases it.

What the uniform LBP is, as scikit-image computes it for a pixel ``(r, c)``:

- ``P = 8 R`` samples at ``(r + rp_i, c + cp_i)``, ``rp_i = round(-R sin(2 pi i / P), 5)``,
  ``cp_i = round(R cos(2 pi i / P), 5)``, each a bilinear interpolation of the four
  neighbouring pixels (``(1 - dc) tl + dc tr`` on each row, then ``(1 - dr) top + dr bottom``),
  0 outside the image;
- ``s_i = 1`` where ``sample_i - centre >= 0``;
- the number of changes ``s_i != s_{i+1}`` for ``i < P - 1`` (the pair ``(P - 1, 0)`` is not
  counted); at most 2: the LBP is the number of ones, else ``P + 1``.
"""

from __future__ import annotations

import math

import numpy as np

from iqx.kernels._numba import ngjit

__all__ = ["lbp_flat"]

#: image sizes from which the row identity of :func:`_row_bits` (``floor(c + cp) = c +
#: floor(cp)``) is not relied on
_ROW_IDENTITY_LIMIT = 1 << 22
#: dtypes read as they are (others are converted to float64, as scikit-image converts all)
_NATIVE = (np.uint8, np.uint16, np.float32, np.float64)


def _offsets(points: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Sample offsets ``(rp, cp)``, computed as scikit-image computes them."""
    angles = 2 * np.pi * np.arange(points, dtype=np.float64) / points
    rp = np.round(-radius * np.sin(angles), 5)
    cp = np.round(radius * np.cos(angles), 5)
    return rp, cp


@ngjit
def _pixel(img: np.ndarray, r: int, c: int) -> float:
    """``img[r, c]`` as float64, 0 outside the image (scikit-image's constant mode)."""
    if r < 0 or c < 0 or r >= img.shape[0] or c >= img.shape[1]:
        return 0.0
    return float(img[r, c])


@ngjit
def _sample(img: np.ndarray, r: float, c: float) -> float:
    """Bilinear interpolation at ``(r, c)``, in scikit-image's order of operations."""
    minr = math.floor(r)
    minc = math.floor(c)
    maxr = math.ceil(r)
    maxc = math.ceil(c)
    dr = r - minr
    dc = c - minc
    top = (1 - dc) * _pixel(img, minr, minc) + dc * _pixel(img, minr, maxc)
    bottom = (1 - dc) * _pixel(img, maxr, minc) + dc * _pixel(img, maxr, maxc)
    return (1 - dr) * top + dr * bottom


@ngjit
def _row_bits(
    img: np.ndarray,
    r: int,
    rp: np.ndarray,
    cp: np.ndarray,
    reach: int,
    bits: np.ndarray,
) -> None:
    """Sign bits (bit ``i`` set: ``sample_i - centre >= 0``) of the pixels ``reach <= c <
    nx - reach`` of an inner row ``r`` (``bits[c - reach]``), sample by sample along the row.

    For an integer ``c`` and an offset ``cp`` of at most a few pixels, ``floor(c + cp)`` is
    ``c + floor(cp)`` exactly (the rounded sum cannot cross an integer: ``cp`` is rounded to
    5 decimals, the rounding error of the sum is below 2**-30 for ``c < 2**22``), so each
    neighbour is at a constant offset along the row and the loop vectorises; the weights
    ``dc = (c + cp) - floor(c + cp)`` and ``dr`` are computed per pixel as scikit-image
    computes them.
    """
    m = img.shape[1] - 2 * reach
    centre = img[r, reach : reach + m]
    for i in range(rp.shape[0]):
        rr = r + rp[i]
        r0 = math.floor(rr)
        r1 = math.ceil(rr)
        dr = rr - r0
        f0 = reach + math.floor(cp[i])
        f1 = reach + math.ceil(cp[i])
        top0 = img[r0, f0 : f0 + m]
        top1 = img[r0, f1 : f1 + m]
        bot0 = img[r1, f0 : f0 + m]
        bot1 = img[r1, f1 : f1 + m]
        shift = np.uint32(i)
        offset = cp[i]
        for c in range(m):
            dc = (float(c + reach) + offset) - float(c + f0)
            top = (1 - dc) * float(top0[c]) + dc * float(top1[c])
            bottom = (1 - dc) * float(bot0[c]) + dc * float(bot1[c])
            value = (1 - dr) * top + dr * bottom
            bits[c] |= np.uint32(value - float(centre[c]) >= 0) << shift


@ngjit
def _flat_from_bits(bits: np.uint32, points: int, low: int, high: int) -> bool:
    """Flat test of one pixel from its sign bits (the uniform LBP rule)."""
    changes = 0
    ones = (bits >> np.uint32(points - 1)) & np.uint32(1)
    for i in range(points - 1):
        b = (bits >> np.uint32(i)) & np.uint32(1)
        changes += b != ((bits >> np.uint32(i + 1)) & np.uint32(1))
        ones += b
    lbp = ones if changes <= 2 else points + 1
    return lbp <= low or lbp >= high


@ngjit
def _flat_mask(
    img: np.ndarray, rp: np.ndarray, cp: np.ndarray, reach: int, low: int, high: int
) -> np.ndarray:
    ny, nx = img.shape
    points = rp.shape[0]
    # the flat test of every bit pattern, when there are few enough patterns
    table = np.zeros(1 << points if points <= 16 else 1, np.float64)
    if points <= 16:
        for pattern in range(1 << points):
            table[pattern] = 1.0 if _flat_from_bits(np.uint32(pattern), points, low, high) else 0.0
    out = np.zeros((ny, nx), np.float64)
    inner = np.zeros(max(nx - 2 * reach, 0), np.uint32)
    for r in range(ny):
        inner_row = r >= reach and r + reach < ny and nx > 2 * reach
        if inner_row:
            inner[:] = 0
            _row_bits(img, r, rp, cp, reach, inner)
        for c in range(nx):
            if inner_row and reach <= c < nx - reach:
                bits = inner[c - reach]
            else:  # border: every sample bounds-tested
                bits = np.uint32(0)
                centre = float(img[r, c])
                for i in range(points):
                    if _sample(img, r + rp[i], c + cp[i]) - centre >= 0:
                        bits |= np.uint32(1) << np.uint32(i)
            if points <= 16:
                out[r, c] = table[bits]
            elif _flat_from_bits(bits, points, low, high):
                out[r, c] = 1.0
    return out


def lbp_flat(band: np.ndarray, radius: int) -> np.ndarray:
    """Float64 mask (1.0 flat, 0.0 not) of the pixels whose uniform LBP of ``8 radius``
    points at ``radius`` is at most ``radius - 1`` or at least ``7 radius + 1``.

    Equals ``((lbp >= 7 R + 1) | (lbp <= R - 1)).astype(float)`` with
    ``lbp = skimage.feature.local_binary_pattern(band, 8 R, R, method="uniform")``.

    Parameters
    ----------
    band : ndarray
        2-D image, any real dtype (values read as float64, as scikit-image converts them).
    radius : int
        LBP radius ``R`` (px), at least 1.

    Returns
    -------
    ndarray of float64
        The mask, shape of ``band``.
    """
    points = 8 * radius
    if points > 32:
        raise ValueError(f"lbp_flat: radius {radius} gives {points} points, at most 32 supported")
    rp, cp = _offsets(points, float(radius))
    img = np.asarray(band)
    if img.dtype.type not in _NATIVE or not img.dtype.isnative:  # one compiled kernel each
        img = img.astype(np.float64)  # as scikit-image converts every input
    # samples lie within ceil(max |offset|) of the pixel: inside the image beyond that margin
    reach = math.ceil(max(np.abs(rp).max(), np.abs(cp).max()))
    if max(img.shape) >= _ROW_IDENTITY_LIMIT:  # bounds-tested samples only
        reach = max(img.shape)
    return _flat_mask(img, rp, cp, reach, radius - 1, points - radius + 1)
