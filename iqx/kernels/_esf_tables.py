"""Cached cosine/sine tables of the per-edge DFTs of the slanted-edge kernel."""

from __future__ import annotations

import functools

import numpy as np

from iqx.kernels._esf_fields import _DF

__all__ = ["dft_tables"]


@functools.lru_cache(maxsize=16)
def _dft_tables(oversamplings: tuple, halfwidth: int, freqs: tuple) -> tuple:
    n_os = len(oversamplings)
    nl = 2 * halfwidth * max(oversamplings) - 1
    nk = int(2.0 / _DF + 0.5) + 1
    f = np.asarray(freqs, dtype=np.float64)
    sig_max = 2.0 * halfwidth / 2.5631
    nx = int(2.0 * (3.0 * sig_max + 1.0) * 2 * max(oversamplings)) + 2
    cg = np.zeros((n_os, nl, nk))
    sg = np.zeros((n_os, nl, nk))
    cf = np.zeros((n_os, nl, len(f)))
    sf = np.zeros((n_os, nl, len(f)))
    corr_g = np.ones((n_os, nk))
    corr_f = np.ones((n_os, len(f)))
    ec = np.zeros((n_os, nk, nx))
    es = np.zeros((n_os, nk, nx))
    fg = np.arange(nk) * _DF
    for i, o in enumerate(oversamplings):
        delta = 1.0 / o
        j = np.arange(nl)[:, None] * delta
        cg[i] = np.cos(2.0 * np.pi * fg[None, :] * j)
        sg[i] = np.sin(2.0 * np.pi * fg[None, :] * j)
        cf[i] = np.cos(2.0 * np.pi * f[None, :] * j)
        sf[i] = np.sin(2.0 * np.pi * f[None, :] * j)
        for arr, fr in ((corr_g, fg), (corr_f, f)):
            a = np.pi * fr * delta
            with np.errstate(invalid="ignore", divide="ignore"):
                arr[i] = np.where(fr > 0.0, (np.sin(a) / a) ** 2, 1.0)
        x = np.arange(nx) * (0.5 * delta)
        ec[i] = np.cos(2.0 * np.pi * fg[:, None] * x[None, :])
        es[i] = np.sin(2.0 * np.pi * fg[:, None] * x[None, :])
    out = (cg, sg, corr_g, cf, sf, corr_f, ec, es)
    for a in out:
        a.setflags(write=False)
    return out


def dft_tables(oversamplings: np.ndarray, halfwidth: int, freqs: np.ndarray) -> tuple:
    """Cosine/sine kernels of the per-edge DFTs for :func:`measure_candidates` (cached).

    For each oversampling ``os`` (bin width ``delta = 1/os``): ``cos/sin(2 pi f j delta)``
    for the regular grid ``f = 0, 0.025, ... 2`` cy/px and for ``freqs``, the bin-box and
    difference-filter corrections ``sinc(f delta)^2``, and ``cos/sin(2 pi f i delta/2)``
    for the LSF rebuilt on a half-bin grid (FWHM). Read-only, a few MB, built once per
    process and parameter set.
    """
    return _dft_tables(
        tuple(int(o) for o in oversamplings),
        int(halfwidth),
        tuple(float(v) for v in np.asarray(freqs, dtype=np.float64)),
    )
