"""Blind signal-to-noise ratio of a scene, per band, at any scale.

Methods (see ``docs/snr.md`` for the definitions, the biases they fix and measured
accuracy):

``"blocks"`` (default)
    Bias-corrected homogeneous blocks over *all* signal levels: ``6 x 6`` blocks on a global
    grid, plane-detrended residual std per block, a low quantile of those stds per signal
    bin divided by the matching chi-distribution quantile (exact small-sample correction),
    an affine noise-variance curve ``sigma^2 = a + b * DN`` fitted across bins (photon +
    read noise), and SNR = median DN / sigma(median DN).
``"pca"``
    Weak-texture patch selection (Liu et al. 2013) + eigenvalue split (Chen et al. 2015):
    the texture-robust estimator. SNR = median DN / sigma.
``"immerkaer"``
    Immerkaer (1996) Laplacian-difference estimator: O(N), one numba pass with a 1-pixel
    halo. Fastest; biased upward on fine texture.
``"hb"``, ``"ha"``
    IQUAFLOW's homogeneous-blocks and homogeneous-area definitions. With
    ``iquaflow_compat=True`` they reproduce IQUAFLOW 1.0.1's numbers (0 = nodata, whole
    image in memory, IQUAFLOW's channel handling).

Every method is a sparse block reduction (:func:`iqx.parallel.reduce_blocks_leading`): each
chunk returns small partial histograms/sums computed on a globally aligned block grid. A
chunk owns the blocks whose *last* pixel lies in its core (the last chunk along an axis also
owns those reaching the scene's end), and a leading halo of ``block - 1`` pixels (above and
to the left only) lets it see them whole; so the answer is the same for NumPy input and for
any chunking, and since a chunk needs only chunks read before it, peak memory is a few
chunks per thread whatever the scene size. A chunk thinner than the halo (e.g. the last 16
rows of a 1040-pixel scene in 1024-pixel chunks) is merged into its neighbour explicitly
(``reduce_blocks_leading(..., rechunk=True)``), so no ordinary chunking fails.
:func:`snr_map` evaluates :func:`snr` per tile through :func:`iqx.parallel.map_tiles_xr`.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats
from scipy.optimize import nnls

from iqx.errors import InvalidParameterError, UnsupportedDtypeError
from iqx.kernels import homogeneous as hk
from iqx.kernels import noise_estimators as ne
from iqx.metrics import _snr_iquaflow as iqf
from iqx.parallel import as_scene, is_dask, lazy_call, map_tiles_xr, reduce_blocks_leading
from iqx.registry import register_metric

__all__ = ["DEFAULT_METHOD", "METHODS", "combine_bands", "flat_summary", "snr", "snr_map"]

#: every method understood by :func:`snr`
METHODS = ("blocks", "pca", "immerkaer", "hb", "ha")
#: the method behind the ``snr`` key (see docs/snr.md, "Choosing the default")
DEFAULT_METHOD = "blocks"

_SIG_RES = 64  # signal keys per octave (1.1 % bins) for the blocks method
_STD_RES = 256  # std keys per octave (0.27 % bins)
_STD_BITS = 20
_TEX_RES = 8  # texture-strength keys per octave for the PCA method

_DEFAULTS: dict[str, dict[str, Any]] = {
    "blocks": {"block_size": 6, "quantile": 0.1, "min_blocks": 50, "max_bins": 16},
    "pca": {"block_size": 7, "min_blocks": 100, "confidence": 0.99},
    "immerkaer": {"min_blocks": 100},
    "hb": {"block_size": 3, "stride": None},
    "ha": {"block_size": 5, "stride": None, "radius": 1, "lbp_threshold": 0.6},
}


# --------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------
def _check_dtype(dtype: np.dtype) -> None:
    if dtype.kind not in "uif":
        raise UnsupportedDtypeError(
            f"SNR needs integer or real-floating pixels, got dtype {dtype} "
            "(bool, complex, object and string images have no DN scale)"
        )


def _params(method: str, kw: dict[str, Any]) -> dict[str, Any]:
    if method not in METHODS:
        raise InvalidParameterError(f"method must be one of {METHODS}, got {method!r}")
    params = dict(_DEFAULTS[method])
    unknown = set(kw) - set(params)
    if unknown:
        raise InvalidParameterError(
            f"unknown parameter(s) {sorted(unknown)} for method {method!r}; "
            f"accepted: {sorted(params)}"
        )
    params.update({k: v for k, v in kw.items() if v is not None})
    b = params.get("block_size")
    if b is not None and (not isinstance(b, int | np.integer) or b < 2):
        raise InvalidParameterError(f"block_size must be an integer >= 2, got {b!r}")
    if method == "blocks" and b < 3:
        raise InvalidParameterError("the blocks method needs block_size >= 3 (plane fit)")
    if params.get("stride") is None and method in ("hb", "ha"):
        params["stride"] = b
    if "quantile" in params and not 0.0 < params["quantile"] < 1.0:
        raise InvalidParameterError(f"quantile must be in (0, 1), got {params['quantile']}")
    if "lbp_threshold" in params and not 0.0 <= params["lbp_threshold"] <= 1.0:
        raise InvalidParameterError("lbp_threshold must be in [0, 1]")
    return params


def _halo(method: str, p: dict[str, Any]) -> int:
    """Neighbourhood a measured item needs on each side (the registered halo)."""
    if method == "immerkaer":
        return 1
    if method == "ha":
        return p["block_size"] - 1 + p["radius"]
    return p["block_size"] - 1


def _shift(method: str, p: dict[str, Any]) -> int:
    """How far past its origin an item's neighbourhood ends: the chunk holding
    ``origin + shift`` owns the item (see :func:`iqx.parallel.reduce_blocks_leading`)."""
    if method == "immerkaer":
        return 1
    if method == "ha":
        return p["block_size"] - 1 + p["radius"]
    if method in ("blocks", "pca", "hb"):
        return p["block_size"] - 1
    return 0


def _lead_halo(method: str, p: dict[str, Any]) -> int:
    """Leading halo: from an owned item's neighbourhood start to its owner's core start."""
    if method == "immerkaer":
        return 2
    if method == "ha":
        return p["block_size"] - 1 + 2 * p["radius"]
    return _shift(method, p)


def _valid_block(block: np.ndarray, nodata: Any) -> np.ndarray | None:
    """Validity of a block, or None when every pixel is valid by construction (integer
    pixels without ``nodata``): the kernels then skip the mask instead of reading one."""
    has_nodata = nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata))
    if block.dtype.kind != "f" and not has_nodata:
        return None
    valid = np.isfinite(block) if block.dtype.kind == "f" else np.ones(block.shape, dtype=bool)
    if has_nodata:
        valid &= block != nodata
    return valid


def _core(info: Any, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Local ``(r0, r1, c0, c1)`` of the block's core (halo excluded)."""
    ny, nx = shape
    return info.halo_top, ny - info.halo_bottom, info.halo_left, nx - info.halo_right


def _owned_range(start: int, length: int, scene_len: int, shift: int) -> tuple[int, int]:
    """Global ``[lo, hi)`` of the item origins a chunk owns: ``origin + shift`` in its core,
    plus every origin up to the scene's end for the last chunk (leading-halo ownership)."""
    lo = max(start - shift, 0)
    hi = scene_len if start + length == scene_len else start + length - shift
    return lo, max(hi, lo)


def _origins(info: Any, shape: tuple[int, int], size: int, stride: int, shift: int) -> tuple:
    r0, r1, c0, c1 = _core(info, shape)
    out = []
    for start, length, ext0, n in (
        (info.y0, r1 - r0, info.y0 - r0, info.shape[0]),
        (info.x0, c1 - c0, info.x0 - c0, info.shape[1]),
    ):
        lo, hi = _owned_range(start, length, n, shift)
        out.append(hk.owned_origins(lo, hi - lo, ext0, n, size, stride))
    return tuple(out)


# --------------------------------------------------------------------------------------
# chunk step (one (band, y, x) block -> list of per-band partials)
# --------------------------------------------------------------------------------------
def _chunk(
    block: np.ndarray,
    info: Any,
    *extra: np.ndarray,
    method: str,
    params: dict[str, Any],
    nodata: Any,
    medians: Sequence[float] | None = None,
) -> list[dict[str, Any]]:
    valid_all = np.asarray(extra[0], dtype=bool) if extra else _valid_block(block, nodata)
    out = []
    for b in range(block.shape[0]):
        band = block[b]
        use_valid = valid_all is not None
        valid = valid_all[b] if use_valid else hk.NO_MASK
        part: dict[str, Any] = {}
        r0, r1, c0, c1 = _core(info, band.shape)
        if medians is None:
            part["hist"] = hk.core_value_histogram(
                band, valid if use_valid else None, r0, r1, c0, c1
            )
        size = params.get("block_size", 0)
        if method == "blocks":
            oys, oxs = _origins(info, band.shape, size, size, size - 1)
            eps = 1e-6 if band.dtype.kind == "f" else 1.0
            part["blocks"] = hk.block_key_counts(
                band, valid, use_valid, oys, oxs, size, _SIG_RES, eps, _STD_RES, _STD_BITS
            )
        elif method == "immerkaer":
            small_int = band.dtype.kind in "ui" and band.dtype.itemsize <= 2
            imm = ne.immerkaer_sums_int if small_int else ne.immerkaer_sums
            ly0, ly1 = _owned_range(info.y0, r1 - r0, info.shape[0], 1)
            lx0, lx1 = _owned_range(info.x0, c1 - c0, info.shape[1], 1)
            oy, ox = info.y0 - r0, info.x0 - c0  # global index of the block's first pixel
            part["imm"] = imm(band, valid, ly0 - oy, ly1 - oy, lx0 - ox, lx1 - ox, use_valid)
        elif method == "pca":
            oys, oxs = _origins(info, band.shape, size, size, size - 1)
            full = valid if use_valid else np.ones(band.shape, dtype=bool)
            xi, ok = ne.patch_texture(band, full, oys, oxs, size)
            iy, ix = np.nonzero(ok)
            tkey = hk.log_key(xi[iy, ix], _TEX_RES)
            uk, group = np.unique(tkey, return_inverse=True)
            counts, sxx = ne.patch_cov_by_group(
                band, oys[iy], oxs[ix], group.astype(np.int64), uk.size, size
            )
            part["pca"] = {int(k): (int(c), s) for k, c, s in zip(uk, counts, sxx, strict=True)}
        elif method == "hb" and medians is not None:
            oys, oxs = _origins(info, band.shape, size, params["stride"], size - 1)
            part["hb"] = hk.hb_block_stds(band, valid, use_valid, oys, oxs, size, float(medians[b]))
        elif method == "ha":
            full = valid if use_valid else np.ones(band.shape, dtype=bool)
            part["ha"] = _ha_chunk(band, full, info, params)
        out.append(part)
    return out


def _ha_chunk(band: np.ndarray, valid: np.ndarray, info: Any, p: dict[str, Any]) -> dict:
    from skimage.feature import local_binary_pattern

    size, radius = p["block_size"], p["radius"]
    npts = 8 * radius
    oys, oxs = _origins(info, band.shape, size, p["stride"], size - 1 + radius)
    empty = {"n_good": 0, "keys": np.empty(0, np.int64), "sums": np.zeros((0, 4))}
    if oys.size == 0 or oxs.size == 0:
        return empty
    lbp = local_binary_pattern(band, npts, radius, method="uniform")
    flat = ((lbp >= npts - radius + 1) | (lbp <= radius - 1)).astype(np.float64)
    ratio = hk.block_sums(flat, oys, oxs, size) / size**2
    mean, var, _, ok = hk.block_moments(band, valid, oys, oxs, size)
    good = ok & (ratio >= p["lbp_threshold"]) & (ratio < 1)
    m_int = np.trunc(mean[good]).astype(np.int64)
    s = np.sqrt(var[good])
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(s > 0, m_int / s, np.nan)
    keys, inv = np.unique(m_int, return_inverse=True)
    fin = np.isfinite(r)
    rr = np.where(fin, r, 0.0)
    sums = np.stack(
        [
            np.bincount(inv, minlength=keys.size),
            np.bincount(inv, weights=fin, minlength=keys.size),
            np.bincount(inv, weights=rr, minlength=keys.size),
            np.bincount(inv, weights=rr * rr, minlength=keys.size),
        ],
        axis=1,
    ).astype(np.float64)
    return {"n_good": int(good.sum()), "keys": keys, "sums": sums}


# --------------------------------------------------------------------------------------
# combine step
# --------------------------------------------------------------------------------------
def _combine(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    nb = len(parts[0])
    out = []
    for b in range(nb):
        bands = [p[b] for p in parts]
        merged: dict[str, Any] = {}
        if "hist" in bands[0]:
            merged["hist"] = hk.sparse_merge([p["hist"] for p in bands])
        if "blocks" in bands[0]:
            merged["blocks"] = hk.sparse_merge([p["blocks"] for p in bands])
        if "imm" in bands[0]:
            merged["imm"] = tuple(sum(p["imm"][i] for p in bands) for i in range(3))
        if "pca" in bands[0]:
            acc: dict[int, tuple[int, np.ndarray]] = {}
            for p in bands:
                for k, (c, s) in p["pca"].items():
                    if k in acc:
                        acc[k] = (acc[k][0] + c, acc[k][1] + s)
                    else:
                        acc[k] = (c, s.copy())
            merged["pca"] = acc
        if "hb" in bands[0]:
            merged["hb"] = np.concatenate([p["hb"] for p in bands])
        if "ha" in bands[0]:
            keys = np.concatenate([p["ha"]["keys"] for p in bands])
            sums = np.concatenate([p["ha"]["sums"] for p in bands])
            uk, inv = np.unique(keys, return_inverse=True)
            merged_sums = np.zeros((uk.size, 4))
            np.add.at(merged_sums, inv, sums)
            merged["ha"] = {
                "n_good": sum(p["ha"]["n_good"] for p in bands),
                "keys": uk,
                "sums": merged_sums,
            }
        out.append(merged)
    return out


# --------------------------------------------------------------------------------------
# finalize step: one band's merged partial -> result dict
# --------------------------------------------------------------------------------------
def _nan_result(reason: str, **extra: Any) -> dict[str, Any]:
    res = {
        "snr": math.nan,
        "snr_std": math.nan,
        "signal": math.nan,
        "noise": math.nan,
        "noise_std": math.nan,
        "n_blocks": 0,
        "reason": reason,
    }
    res.update(extra)
    return res


def _ratio_result(signal: float, noise: float, noise_se: float, n: int, **extra: Any) -> dict:
    if not np.isfinite(noise) or noise <= 0:
        return _nan_result(
            "noise estimate is zero: the measured blocks are constant "
            "(constant image, or noise below the quantisation step)",
            signal=signal,
            noise=noise,
            n_blocks=n,
            **extra,
        )
    if signal <= 0:
        return _nan_result(
            f"median signal {signal:g} is not positive; SNR is undefined",
            signal=signal,
            noise=noise,
            noise_std=noise_se,
            n_blocks=n,
            **extra,
        )
    value = signal / noise
    res = {
        "snr": value,
        "snr_std": value * noise_se / noise,
        "signal": signal,
        "noise": noise,
        "noise_std": noise_se,
        "n_blocks": int(n),
        "reason": "",
    }
    res.update(extra)
    return res


def _median(part: dict[str, Any], is_float: bool) -> float:
    keys, counts = part["hist"]
    return hk.histogram_median(keys, counts, is_float)


def _finalize_band(part: dict[str, Any], method: str, p: dict[str, Any], ctx: dict) -> dict:
    is_float = ctx["is_float"]
    if method != "hb" and int(part["hist"][1].sum()) == 0:
        return _nan_result("no valid pixels (all nodata or NaN)")
    if method == "blocks":
        return _finalize_blocks(part, p, ctx)
    if method == "immerkaer":
        s, _, n = part["imm"]
        if n < p["min_blocks"]:
            return _nan_result(
                f"only {n} pixels have a fully valid 3x3 neighbourhood (need >= {p['min_blocks']})"
            )
        sigma = ne.IMMERKAER_FACTOR * s / n
        s1, s2 = part["imm"][0] / n, part["imm"][1] / n
        se = ne.IMMERKAER_FACTOR * math.sqrt(max(s2 - s1 * s1, 0.0) * _IMM_CORR / n)
        return _ratio_result(_median(part, is_float), sigma, se, n)
    if method == "pca":
        return _finalize_pca(part, p, ctx)
    if method == "ha":
        return _finalize_ha(part, p, ctx)
    raise AssertionError(method)  # hb is finalised in _finalize_hb


@functools.lru_cache(maxsize=64)
def _chi_quantile_factor(q: float, dof: int) -> float:
    """q-quantile of s/sigma for a sample std with ``dof`` degrees of freedom."""
    return math.sqrt(stats.chi2.ppf(q, dof) / dof)


@functools.lru_cache(maxsize=64)
def _quantile_density(q: float, dof: int) -> float:
    """``pdf * y`` of s/sigma at its q-quantile ``y`` (scipy.stats calls cost ~0.3 ms)."""
    y = _chi_quantile_factor(q, dof)
    return stats.chi2.pdf(dof * y * y, dof) * 2.0 * dof * y * y


def _quantile_se(q: float, dof: int, n: int) -> float:
    """Relative standard error of sigma estimated from the q-quantile of n block stds."""
    return math.sqrt(q * (1 - q) / n) / _quantile_density(q, dof)


def _finalize_blocks(part: dict[str, Any], p: dict[str, Any], ctx: dict) -> dict:
    keys, counts = part["blocks"]
    size = p["block_size"]
    nonconst = ((keys & ((1 << _STD_BITS) - 1)) - 1) >= 0
    n_const = int(counts[~nonconst].sum())
    keys, counts = keys[nonconst], counts[nonconst]
    total = int(counts.sum())
    if total == 0 and n_const:
        return _nan_result(
            f"all {n_const} valid {size}x{size} blocks are exactly constant (constant image, "
            "fill or saturation; noise below the quantisation step)",
            n_blocks=0,
        )
    if total < p["min_blocks"]:
        return _nan_result(
            f"only {total} fully valid {size}x{size} blocks (need >= {p['min_blocks']})",
            n_blocks=total,
        )
    dof = size * size - 3
    q = p["quantile"]
    factor = _chi_quantile_factor(q, dof)
    eps = 1e-6 if ctx["is_float"] else 1.0
    skeys = keys >> _STD_BITS
    tkeys = (keys & ((1 << _STD_BITS) - 1)) - 1
    # equal-count signal bins on the signal-key grid
    uniq_s, first = np.unique(skeys, return_index=True)
    per_s = np.add.reduceat(counts, first)
    nbins = int(max(1, min(p["max_bins"], total // max(p["min_blocks"], 1))))
    cum = np.cumsum(per_s)
    edges = np.searchsorted(cum, np.arange(1, nbins) * total / nbins, side="left")
    groups = np.split(np.arange(uniq_s.size), np.unique(edges[(edges > 0)]))
    rows = []
    for g in groups:
        if g.size == 0:
            continue
        sel = np.isin(skeys, uniq_s[g])
        n = int(counts[sel].sum())
        if n < p["min_blocks"]:
            continue
        dn = float(np.sum(hk.key_to_symlog(skeys[sel], _SIG_RES, eps) * counts[sel]) / n)
        # quantile of the block stds, linear inside the log-spaced key bin
        tk, tc = tkeys[sel], counts[sel]
        order = np.argsort(tk, kind="stable")
        tk, tc = tk[order], tc[order]
        uk, idx = np.unique(tk, return_index=True)
        uc = np.add.reduceat(tc, idx)
        ccum = np.cumsum(uc)
        target = q * n
        i = int(np.searchsorted(ccum, target, side="left"))
        if uk[i] < 0:
            s_q = 0.0
        else:
            below = ccum[i - 1] if i > 0 else 0
            frac = (target - below) / uc[i]
            s_q = float(np.exp2((uk[i] + frac) / _STD_RES - 64.0))
        sigma = s_q / factor
        rows.append((dn, sigma, sigma * _quantile_se(q, dof, n), n))
    if not rows:
        return _nan_result("no signal bin holds enough blocks", n_blocks=total)
    curve = np.array(rows)
    signal = _median(part, ctx["is_float"])
    sigma, se = _noise_at(curve, signal)
    return _ratio_result(signal, sigma, se, int(curve[:, 3].sum()), curve=curve)


def _noise_at(curve: np.ndarray, dn: float) -> tuple[float, float]:
    """sigma(dn) from the affine variance model ``sigma^2 = a + b*DN`` fitted to the bins."""
    x, sig, se = curve[:, 0], curve[:, 1], curve[:, 2]
    if np.any(sig <= 0):
        # a quantisation-limited bin: report the bin nearest to dn as is
        k = int(np.argmin(np.abs(x - dn)))
        return float(sig[k]), float(se[k])
    var_se = np.maximum(2 * sig * se, 1e-300)
    w = 1.0 / var_se
    if curve.shape[0] == 1 or np.ptp(x) <= 1e-9 * max(abs(x).max(), 1.0):
        wt = w**2
        v = float(np.sum(wt * sig**2) / np.sum(wt))
        vse = float(1.0 / np.sqrt(np.sum(wt)))
        return math.sqrt(v), vse / (2 * math.sqrt(v))
    scale = float(np.abs(x).max())
    design = np.stack([np.ones_like(x), x / scale], axis=1)
    coef, _ = nnls(design * w[:, None], sig**2 * w)
    active = coef > 0
    xv = np.array([1.0, dn / scale])
    var = float(coef @ xv)
    if var <= 0:
        k = int(np.argmin(np.abs(x - dn)))
        return float(sig[k]), float(se[k])
    a = design[:, active] * w[:, None]
    cov = np.linalg.pinv(a.T @ a)
    vvar = float(xv[active] @ cov @ xv[active])
    return math.sqrt(var), math.sqrt(max(vvar, 0.0)) / (2 * math.sqrt(var))


def _finalize_pca(part: dict[str, Any], p: dict[str, Any], ctx: dict) -> dict:
    groups = part["pca"]
    size = p["block_size"]
    d = size * size
    keys = np.array(sorted(k for k in groups if k >= 0), dtype=np.int64)  # drop constant patches
    total = int(sum(groups[k][0] for k in keys))
    if total == 0 and groups:
        return _nan_result(
            f"all valid {size}x{size} patches are exactly constant (constant image, fill or "
            "saturation)"
        )
    if total < p["min_blocks"]:
        return _nan_result(
            f"only {total} fully valid {size}x{size} patches (need >= {p['min_blocks']})",
            n_blocks=total,
        )
    lower = hk.key_to_log(keys, _TEX_RES)
    n_diff = 2 * size * (size - 1)
    # Liu 2013: xi ~ Gamma(shape d/2, scale 2 sigma^2 tr(D^T D) / d), tr = 2 n_diff
    tau_unit = stats.gamma.ppf(p["confidence"], a=d / 2.0, scale=2.0 * 2 * n_diff / d)

    def estimate(sel: np.ndarray) -> tuple[float, int, int]:
        n = int(sum(groups[k][0] for k in keys[sel]))
        sxx = sum(groups[k][1] for k in keys[sel])
        lam = np.linalg.eigvalsh(sxx / n)[1:]  # drop the DC-removal null eigenvalue
        var, ntail = ne.chen_split_variance(lam)
        return var, n, ntail

    sel = np.ones(keys.size, dtype=bool)
    var, n, ntail = estimate(sel)
    for _ in range(10):
        new = lower <= var * tau_unit
        cum = np.cumsum([groups[k][0] for k in keys])
        if cum[new].max(initial=0) < p["min_blocks"]:
            new = np.arange(keys.size) <= np.searchsorted(cum, p["min_blocks"])
        if np.array_equal(new, sel):
            break
        sel = new
        var, n, ntail = estimate(sel)
    sigma = math.sqrt(var)
    se = sigma / math.sqrt(2.0 * n * ntail) if n * ntail > 0 else math.nan
    return _ratio_result(_median(part, ctx["is_float"]), sigma, se, n)


def _finalize_ha(part: dict[str, Any], p: dict[str, Any], ctx: dict) -> dict:
    ha = part["ha"]
    if ctx["is_float"]:
        return _nan_result("ha matches window means to the median DN: needs integer pixels")
    if ha["n_good"] < 10:
        return _nan_result(
            f"only {ha['n_good']} homogeneous LBP windows (ha needs >= 10)",
            n_blocks=ha["n_good"],
        )
    med = _median(part, False)
    hit = ha["keys"] == med
    cnt, cnt_f, s1, s2 = ha["sums"][hit].sum(axis=0) if hit.any() else (0, 0, 0.0, 0.0)
    if cnt >= 3 and cnt_f == 0:
        return _nan_result(
            f"all {int(cnt)} homogeneous windows at the median DN are exactly constant",
            signal=med,
            n_blocks=int(cnt),
        )
    if cnt < 3:
        return _nan_result(
            f"only {int(cnt)} homogeneous windows have a mean of exactly the median DN "
            f"{med:g} (ha needs >= 3)",
            signal=med,
            n_blocks=int(cnt),
        )
    mean = s1 / cnt_f
    std = math.sqrt(max(s2 / cnt_f - mean * mean, 0.0))
    return {
        "snr": mean,
        "snr_std": std,
        "signal": med,
        "noise": med / mean,
        "noise_std": med / mean**2 * std,
        "n_blocks": int(cnt),
        "reason": "",
    }


def _finalize_hb(stds: np.ndarray, med: float) -> dict:
    stds = stds[np.isfinite(stds)]
    if stds.size == 0:
        return _nan_result(
            f"no block has a rounded mean of exactly the median DN {med:g}", signal=med
        )
    clipped = stats.sigmaclip(stds, 4.0, 2.0).clipped
    noise = float(np.median(clipped))
    spread = float(np.std(clipped))
    res = _ratio_result(med, noise, spread, int(clipped.size))
    if np.isfinite(res["snr"]):
        res["snr_std"] = med / noise**2 * spread  # IQUAFLOW's error propagation
    return res


def _immerkaer_corr() -> float:
    """Sum over lags of corr(|c_0|, |c_lag|) for the Immerkaer response of white noise."""
    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=float)
    from scipy.signal import correlate2d

    rho = correlate2d(k, k) / 36.0
    g = rho * np.arcsin(np.clip(rho, -1, 1)) + np.sqrt(1 - np.clip(rho, -1, 1) ** 2) - 1
    return float(g.sum() / (math.pi / 2 - 1))


_IMM_CORR = _immerkaer_corr()


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------
def _finalize_all(parts: list[dict], method: str, p: dict, ctx: dict) -> list[dict]:
    return [_finalize_band(part, method, p, ctx) for part in parts]


def _hb_medians(parts: list[dict]) -> list[float]:
    return [_median(part, False) for part in parts]


def _to_dataset(results: list[dict], scene: xr.DataArray, method: str, p: dict) -> xr.Dataset:
    band = scene.coords["band"].values if "band" in scene.coords else np.arange(len(results))
    names = ("snr", "snr_std", "signal", "noise", "noise_std")
    data = {k: ("band", np.array([float(r[k]) for r in results], dtype=np.float64)) for k in names}
    data["n_blocks"] = ("band", np.array([int(r["n_blocks"]) for r in results], dtype=np.int64))
    data["reason"] = ("band", np.array([r["reason"] for r in results], dtype=object))
    curves = [r.get("curve") for r in results]
    if any(c is not None for c in curves):
        nbin = max(c.shape[0] for c in curves if c is not None)
        cols = {"curve_signal": 0, "curve_noise": 1, "curve_noise_std": 2, "curve_n_blocks": 3}
        for name, col in cols.items():
            arr = np.full((len(results), nbin), np.nan)
            for i, c in enumerate(curves):
                if c is not None:
                    arr[i, : c.shape[0]] = c[:, col]
            data[name] = (("band", "dn_bin"), arr)
    ds = xr.Dataset(data, coords={"band": band})
    ds.attrs.update(
        {
            "method": method,
            "params": repr({k: v for k, v in p.items()}),
            "reason": "; ".join(
                f"band {b}: {r['reason']}"
                for b, r in zip(band, results, strict=True)
                if r["reason"]
            ),
        }
    )
    return ds


@register_metric(
    "snr",
    summary="Blind signal-to-noise ratio per band (homogeneous blocks, PCA, Immerkaer, IQUAFLOW HB/HA).",
    outputs=("snr", "snr_std", "signal", "noise", "noise_std", "n_blocks", "reason"),
    units={
        "snr": "1",
        "snr_std": "1",
        "signal": "DN",
        "noise": "DN",
        "noise_std": "DN",
        "n_blocks": "count",
    },
    chunk_invariant=True,
    halo=lambda method=DEFAULT_METHOD, **kw: _halo(method, _params(method, kw)),
    references=(
        "Gao 1993, An operational method for estimating signal to noise ratios from data "
        "acquired with imaging spectrometers (RSE 43:23)",
        "Immerkaer 1996, Fast noise variance estimation (CVIU 64(2):300)",
        "Liu, Tanaka & Okutomi 2013, Single-image noise level estimation for blind "
        "denoising (IEEE TIP 22(12):5226)",
        "Chen, Zhu & Heng 2015, An efficient statistical method for image noise level "
        "estimation (ICCV)",
        "IQUAFLOW 1.0.1 snr_metric.py (SNRHomogeneousBlocks / SNRHomogeneousArea)",
    ),
)
def snr(
    image: Any,
    method: str = DEFAULT_METHOD,
    *,
    mask: Any = None,
    iquaflow_compat: bool = False,
    curve: bool = False,
    compute: bool = True,
    **params: Any,
) -> xr.Dataset | Any:
    """Blind signal-to-noise ratio of each band of a scene.

    Parameters
    ----------
    image : xarray.DataArray, numpy.ndarray or dask.array.Array
        Scene ``(band, y, x)`` or one band ``(y, x)``; integer or real-floating pixels.
        ``attrs["nodata"]`` (and NaN) mark invalid pixels unless ``mask`` is given.
    method : {"blocks", "pca", "immerkaer", "hb", "ha"}
        Estimator (see the module docstring and ``docs/snr.md``). Default ``"blocks"``.
    mask : bool array-like, optional
        Validity mask of the image's shape (True = valid); overrides ``nodata``.
    iquaflow_compat : bool
        Only for ``"hb"``/``"ha"``: reproduce IQUAFLOW 1.0.1 exactly (0 = nodata, the image
        is loaded in memory, IQUAFLOW's channel split and combination). The IQUAFLOW
        combined value is stored in the ``iquaflow_snr``/``iquaflow_snr_std`` variables.
    curve : bool
        Only for ``"blocks"``: add the noise-versus-signal curve on a ``dn_bin`` dim
        (``curve_signal``, ``curve_noise``, ``curve_noise_std``, ``curve_n_blocks``).
    compute : bool
        If False, return a ``dask.delayed`` object that builds the Dataset.
    **params
        Method parameters: ``block_size`` (blocks 6, pca 7, hb 3, ha 5), ``quantile``
        (blocks, 0.1), ``min_blocks``, ``max_bins`` (blocks), ``confidence`` (pca, 0.99),
        ``stride``, ``radius``, ``lbp_threshold`` (hb/ha, IQUAFLOW's).

    Returns
    -------
    xarray.Dataset
        Variables on ``band``: ``snr``, ``snr_std`` (1-sigma uncertainty), ``signal``
        (median DN), ``noise`` (sigma in DN), ``noise_std``, ``n_blocks`` (blocks/patches/
        pixels used) and ``reason`` (empty when measured; otherwise why ``snr`` is NaN).
        Attributes ``method``, ``params``, ``reason`` (all bands' reasons).

    Raises
    ------
    UnsupportedDtypeError
        For bool, complex, object or string pixels.
    InvalidParameterError
        For unknown methods or parameters, or a mask of the wrong shape.
    """
    scene = as_scene(image)
    _check_dtype(scene.dtype)
    p = _params(method, params)
    if iquaflow_compat and method not in ("hb", "ha"):
        raise InvalidParameterError("iquaflow_compat applies to method 'hb' or 'ha' only")
    if curve and method != "blocks":
        raise InvalidParameterError("curve=True is available for method='blocks' only")
    if iquaflow_compat:
        return _maybe_delayed(_iquaflow_dataset(scene, method, p), compute)
    extra: tuple = ()
    if mask is not None:
        m = as_scene(mask)
        if m.shape != scene.shape:
            raise InvalidParameterError(f"mask shape {m.shape} != image shape {scene.shape}")
        extra = (m.astype(bool),)
    nodata = scene.attrs.get("nodata")
    ctx = {"is_float": scene.dtype.kind == "f"}
    ny, nx = scene.sizes["y"], scene.sizes["x"]
    if min(ny, nx) < p.get("block_size", 3):
        results = [
            _nan_result(f"image {ny}x{nx} is smaller than one {p.get('block_size', 3)}-pixel block")
        ] * scene.sizes["band"]
        return _maybe_delayed(_to_dataset(results, scene, method, p), compute)
    halo = _lead_halo(method, p)
    if method == "hb":
        return _snr_hb(scene, extra, nodata, p, ctx, halo, compute)
    chunk = functools.partial(_chunk, method=method, params=p, nodata=nodata)
    fin = functools.partial(_finalize_all, method=method, p=p, ctx=ctx)
    res = reduce_blocks_leading(
        chunk, _combine, fin, scene, halo=halo, extra=extra, compute=compute, rechunk=True
    )
    build = functools.partial(_build, scene=_template(scene), method=method, p=p, curve=curve)
    return build(res) if compute else lazy_call(build, res)


def _template(scene: xr.DataArray) -> xr.DataArray:
    """A pixel-free stand-in carrying the band coordinate (cheap to ship to workers)."""
    return xr.DataArray(
        np.zeros((scene.sizes["band"], 0, 0)),
        dims=scene.dims,
        coords={"band": scene.coords["band"].values} if "band" in scene.coords else None,
    )


def _build(
    results: list[dict], scene: xr.DataArray, method: str, p: dict, curve: bool
) -> xr.Dataset:
    if not curve:
        results = [{k: v for k, v in r.items() if k != "curve"} for r in results]
    return _to_dataset(results, scene, method, p)


def _maybe_delayed(ds: xr.Dataset, compute: bool) -> Any:
    return ds if compute else lazy_call(_identity, ds)


def _snr_hb(scene, extra, nodata, p, ctx, halo, compute):
    if ctx["is_float"]:
        results = [
            _nan_result(
                "hb matches rounded block means to the median DN exactly: it needs integer "
                "pixels (use method='blocks' for float data)"
            )
        ] * scene.sizes["band"]
        return _maybe_delayed(_to_dataset(results, scene, "hb", p), compute)
    chunk1 = functools.partial(_chunk, method="hb", params=p, nodata=nodata)
    tmpl = _template(scene)
    lazy = is_dask(scene)
    medians = reduce_blocks_leading(
        chunk1, _combine, _hb_medians, scene, extra=extra, compute=not lazy, rechunk=True
    )
    if lazy:  # pass 2 needs the global median: the chunk function itself is a delayed value
        chunk2 = lazy_call(
            functools.partial, _chunk, method="hb", params=p, nodata=nodata, medians=medians
        )
    else:
        chunk2 = functools.partial(_chunk, method="hb", params=p, nodata=nodata, medians=medians)
    res = reduce_blocks_leading(
        chunk2, _combine, _identity, scene, halo=halo, extra=extra, compute=not lazy, rechunk=True
    )
    if not lazy:
        return _maybe_delayed(_hb_build(res, medians, tmpl, p), compute)
    out = lazy_call(_hb_build, res, medians, tmpl, p)
    return out.compute() if compute else out


def _identity(parts: Any) -> Any:
    return parts


def _hb_build(parts: list[dict], medians: list[float], tmpl: xr.DataArray, p: dict) -> xr.Dataset:
    results = []
    for part, med in zip(parts, medians, strict=True):
        if not np.isfinite(med):
            results.append(_nan_result("no valid pixels (all nodata or NaN)"))
        else:
            results.append(_finalize_hb(part["hb"], med))
    return _to_dataset(results, tmpl, "hb", p)


def _iquaflow_dataset(scene: xr.DataArray, method: str, p: dict) -> xr.Dataset:
    arr = np.asarray(scene.data)
    chans = [arr[i] for i in range(arr.shape[0])]
    per = []
    for c in chans:
        if method == "hb":
            per.append(iqf.hb_one_channel(c, p["block_size"], p["stride"]))
        else:
            per.append(
                iqf.ha_one_channel(c, p["block_size"], p["stride"], p["radius"], p["lbp_threshold"])
            )
    results = []
    for c, (s, e) in zip(chans, per, strict=True):
        pos = c[c > 0]
        med = float(np.median(pos)) if pos.size else math.nan
        if s is None:
            r = _nan_result(
                "fewer than 10 homogeneous LBP windows (IQUAFLOW returns None)", signal=med
            )
        elif not np.isfinite(s):
            r = _nan_result(
                "IQUAFLOW returned NaN/inf: no usable block at the median DN", signal=med
            )
            r["snr"], r["snr_std"] = float(s), float(e)
        else:
            r = {
                "snr": s,
                "snr_std": e,
                "signal": med,
                "noise": med / s,
                "noise_std": med / s**2 * e,
                "n_blocks": -1,
                "reason": "",
            }
        results.append(r)
    ds = _to_dataset(results, scene, method, p)
    value, spread = iqf.combine_channels(per)
    ds["iquaflow_snr"] = value
    ds["iquaflow_snr_std"] = spread
    ds.attrs["iquaflow_compat"] = 1
    return ds


def combine_bands(ds: xr.Dataset) -> tuple[float | None, float | None, str]:
    """One value for a multi-band result: ``(value, uncertainty, reason)``.

    Rule (IQUAFLOW's §2.0 minus its NaN quirk): measurable bands only; one band -> itself;
    several -> mean, with uncertainty ``max(sqrt(sum err^2) / n, std of the band values)``.
    ``(None, None, reason)`` when no band is measurable.
    """
    if "iquaflow_snr" in ds:
        v, e = float(ds["iquaflow_snr"]), float(ds["iquaflow_snr_std"])
        if np.isfinite(v):
            return v, e, ""
        return None, None, ds.attrs.get("reason") or "no band measurable"
    s = np.asarray(ds["snr"].values, dtype=float)
    e = np.asarray(ds["snr_std"].values, dtype=float)
    ok = np.isfinite(s)
    if not ok.any():
        return None, None, ds.attrs.get("reason") or "no band measurable"
    if ok.sum() == 1:
        return float(s[ok][0]), float(e[ok][0]), ""
    quad = float(np.sqrt(np.nansum(e[ok] ** 2)) / ok.sum())
    return float(s[ok].mean()), max(quad, float(s[ok].std())), ""


def flat_summary(image: Any, *, iquaflow_compat: bool = False, **kw: Any) -> dict[str, Any]:
    """JSON-able summary for ``iqx measure``: ``snr_hb``, ``snr_ha`` and ``snr``.

    ``snr_hb``/``snr_ha`` use IQUAFLOW's definitions and band combination; ``snr`` is the
    default method combined with :func:`combine_bands`. Each key is a float or ``None``
    together with ``<key>_reason``; ``<key>_std`` holds the uncertainty.
    """
    out: dict[str, Any] = {}
    for key, method in (("snr_hb", "hb"), ("snr_ha", "ha"), ("snr", DEFAULT_METHOD)):
        compat = iquaflow_compat and method in ("hb", "ha")
        ds = snr(image, method, mask=kw.get("mask"), iquaflow_compat=compat)
        v, e, reason = combine_bands(ds)
        out[key] = v
        out[f"{key}_std"] = e
        out[f"{key}_reason"] = reason
    return out


# --------------------------------------------------------------------------------------
# per-tile map
# --------------------------------------------------------------------------------------
def _snr_tile(
    block: np.ndarray, info: Any, *mask: np.ndarray, method: str, params: dict, nodata: Any
) -> np.ndarray:
    """SNR of each band of one tile, measured on its own (NaN when not measurable)."""
    tile = xr.DataArray(block, dims=("band", "y", "x"), attrs={"nodata": nodata})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = snr(tile, method, mask=mask[0] if mask else None, **params)
    return ds["snr"].values


def snr_map(
    image: Any,
    *,
    tile: int = 512,
    method: str = DEFAULT_METHOD,
    mask: Any = None,
    **params: Any,
) -> xr.DataArray:
    """Per-tile SNR map on a coarse grid.

    Each ``tile x tile`` cell of a global grid (origin at the scene's first pixel; the last
    row/column of tiles may be partial) is measured independently with :func:`snr`, through
    :func:`iqx.parallel.map_tiles_xr` (so the map is the same for NumPy input and any
    chunking).

    Parameters
    ----------
    image : scene-like
        As for :func:`snr` (nodata from ``attrs["nodata"]`` and NaN).
    tile : int
        Tile edge in pixels (the scene is rechunked explicitly to multiples of it).
    method : str
        Any :func:`snr` method except the IQUAFLOW parity mode.
    mask : bool array-like, optional
        Validity mask of the image's shape (True = valid); overrides ``nodata``.
    **params
        Method parameters.

    Returns
    -------
    xarray.DataArray
        ``(band, y, x)`` float64, lazy for dask input; NaN where a tile is not measurable
        (``attrs["nan_means"]``). Coordinates are the centres of the (full) tiles in the
        scene's CRS from ``attrs["transform"]`` (pixel units without one), and
        ``attrs["transform"]`` is the coarse grid's (see :func:`iqx.parallel.map_tiles_xr`).
    """
    scene = as_scene(image)
    _check_dtype(scene.dtype)
    _params(method, params)
    if not isinstance(tile, int | np.integer) or tile < 8:
        raise InvalidParameterError(f"tile must be an integer >= 8, got {tile!r}")
    func = functools.partial(
        _snr_tile, method=method, params=params, nodata=scene.attrs.get("nodata")
    )
    attrs = {
        "method": method,
        "tile": int(tile),
        "long_name": "signal-to-noise ratio",
        "nan_means": "tile not measurable (too few valid blocks, constant or nodata)",
    }
    return map_tiles_xr(
        func, scene, tile=int(tile), outputs=np.float64, mask=mask, attrs=attrs, name="snr"
    )
