"""The SNR block reduction: the chunk / combine / finalize steps dispatched per method.

Each chunk returns one partial per band (value histogram for the median DN plus the
method's own sums); partials merge by key; each band is finalised by its method's module.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from iqx.kernels import hb_blocks as hb
from iqx.kernels import homogeneous as hk
from iqx.kernels import noise_estimators as ne
from iqx.metrics._snr_blocks import _finalize_blocks
from iqx.metrics._snr_common import (
    _SIG_RES,
    _STD_BITS,
    _STD_RES,
    _TEX_RES,
    _core,
    _median,
    _nan_result,
    _origins,
    _owned_range,
    _to_dataset,
    _valid_block,
)
from iqx.metrics._snr_homogeneous import _finalize_ha, _finalize_hb, _ha_chunk
from iqx.metrics._snr_immerkaer import _finalize_immerkaer
from iqx.metrics._snr_options import SNROptions
from iqx.metrics._snr_pca import _finalize_pca
from iqx.parallel import BlockInfo, is_dask, lazy_call, reduce_blocks_leading

__all__: list[str] = []


def _chunk(
    block: np.ndarray,
    info: Any,
    *extra: np.ndarray,
    method: str,
    params: SNROptions,
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
        size = params.size
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
            oys, oxs = _origins(info, band.shape, size, params.stride, size - 1)
            part["hb"] = hk.hb_block_stds(band, valid, use_valid, oys, oxs, size, float(medians[b]))
        elif method == "ha":
            full = valid if use_valid else np.ones(band.shape, dtype=bool)
            part["ha"] = _ha_chunk(band, full, info, params)
        out.append(part)
    return out


def _combine(parts: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    nb = len(parts[0])
    out = []
    for b in range(nb):
        bands = [p[b] for p in parts]
        merged: dict[str, Any] = {}
        if "hist" in bands[0]:
            merged["hist"] = hk.sparse_merge([p["hist"] for p in bands])
        if "blocks" in bands[0]:
            merged["blocks"] = hk.sparse_merge([p["blocks"] for p in bands], _STD_BITS)
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


def _finalize_band(part: dict[str, Any], method: str, p: SNROptions, ctx: dict) -> dict:
    if method != "hb" and int(part["hist"][1].sum()) == 0:
        return _nan_result("no valid pixels (all nodata or NaN)")
    if method == "blocks":
        return _finalize_blocks(part, p, ctx)
    if method == "immerkaer":
        return _finalize_immerkaer(part, p, ctx)
    if method == "pca":
        return _finalize_pca(part, p, ctx)
    if method == "ha":
        return _finalize_ha(part, p, ctx)
    raise AssertionError(method)  # hb is finalised in _finalize_hb


def _finalize_all(parts: list[dict], method: str, p: SNROptions, ctx: dict) -> list[dict]:
    return [_finalize_band(part, method, p, ctx) for part in parts]


def _hb_medians(parts: list[dict]) -> list[float]:
    return [_median(part, False) for part in parts]


def _template(scene: xr.DataArray) -> xr.DataArray:
    """A pixel-free stand-in carrying the band coordinate (cheap to ship to workers)."""
    return xr.DataArray(
        np.zeros((scene.sizes["band"], 0, 0)),
        dims=scene.dims,
        coords={"band": scene.coords["band"].values} if "band" in scene.coords else None,
    )


def _build(
    results: list[dict], scene: xr.DataArray, method: str, p: SNROptions, curve: bool
) -> xr.Dataset:
    if not curve:
        results = [{k: v for k, v in r.items() if k != "curve"} for r in results]
    return _to_dataset(results, scene, method, p)


def _maybe_delayed(ds: xr.Dataset, compute: bool) -> Any:
    return ds if compute else lazy_call(_identity, ds)


def _snr_hb(
    scene: xr.DataArray,
    extra: tuple,
    nodata: Any,
    p: SNROptions,
    ctx: dict,
    halo: int,
    compute: bool,
) -> list[dict] | Any:
    """The per-band result rows of ``hb`` (a delayed list for dask input and
    ``compute=False``): two passes, the median DN then the stds of the blocks whose
    rounded mean equals it."""
    if ctx["is_float"]:
        return [
            _nan_result(
                "hb matches rounded block means to the median DN exactly: it needs integer "
                "pixels (use method='blocks' for float data)"
            )
        ] * scene.sizes["band"]
    if not is_dask(scene):
        return _hb_numpy(scene, extra, nodata, p)
    chunk1 = functools.partial(_chunk, method="hb", params=p, nodata=nodata)
    medians = reduce_blocks_leading(
        chunk1,
        _combine,
        _hb_medians,
        scene,
        extra=extra,
        compute=False,
        rechunk=True,
        reuse_blocks=True,
    )
    # pass 2 needs the global median: the chunk function itself is a delayed value
    chunk2 = lazy_call(
        functools.partial, _chunk, method="hb", params=p, nodata=nodata, medians=medians
    )
    res = reduce_blocks_leading(
        chunk2,
        _combine,
        _identity,
        scene,
        halo=halo,
        extra=extra,
        compute=False,
        rechunk=True,
        reuse_blocks=True,
    )
    out = lazy_call(_hb_results, res, medians)
    return out.compute() if compute else out


def _hb_numpy(scene: xr.DataArray, extra: tuple, nodata: Any, p: SNROptions) -> list[dict]:
    """``hb`` of an in-memory scene: the two passes of :func:`_snr_hb` on the whole bands, as result rows.

    Integer bands of <= 16 bits are read once, for the value histogram and every block's
    exact sum together (:func:`iqx.kernels.hb_blocks.hb_histogram_sums`); the median then
    only selects among those sums, and the stds of the selected blocks are those of
    :func:`iqx.kernels.hb_blocks.hb_block_stds` (same operations, same order).
    """
    data = np.asarray(scene.data)
    valid_all = np.asarray(extra[0].data, dtype=bool) if extra else _valid_block(data, nodata)
    ny, nx = data.shape[1:]
    info = BlockInfo((0, 0), 0, 0, 0, 0, 0, 0, (ny, nx))
    size = p.block_size
    oys, oxs = _origins(info, (ny, nx), size, p.stride, size - 1)
    results = []
    for b in range(data.shape[0]):
        band = data[b]
        valid = valid_all[b] if valid_all is not None else None
        use_valid = valid is not None
        vmask = valid if use_valid else hk.NO_MASK
        fused = hb.hb_histogram_sums(band, vmask, use_valid, oys, oxs, size)
        hist = fused[:2] if fused else hk.core_value_histogram(band, valid, 0, ny, 0, nx)
        med = _median({"hist": hist}, False)
        if not np.isfinite(med):
            results.append(_nan_result("no valid pixels (all nodata or NaN)"))
            continue
        if fused:
            stds = hb.hb_select_stds(band, fused[2], oys, oxs, size, med)
        else:
            stds = hk.hb_block_stds(band, vmask, use_valid, oys, oxs, size, med)
        results.append(_finalize_hb(stds, med))
    return results


def _identity(parts: Any) -> Any:
    return parts


def _hb_results(parts: list[dict], medians: list[float]) -> list[dict]:
    """The ``hb`` rows from the pass-2 partials and the per-band medians."""
    results = []
    for part, med in zip(parts, medians, strict=True):
        if not np.isfinite(med):
            results.append(_nan_result("no valid pixels (all nodata or NaN)"))
        else:
            results.append(_finalize_hb(part["hb"], med))
    return results
