"""Edge-method sharpness of any scene: RER, FWHM, MTF at Nyquist / half Nyquist and MTF50.

Natural step edges are found block by block (a sparse reduction, see ``docs/sharpness.md``):

1. **Candidate search** (per block, numba, :mod:`iqx.kernels.edges`): Sobel gradient; one
   seed per cell of a scene-aligned grid (its strongest gradient); the edge is traced both
   ways from the seed and fitted with a line (length and straightness gates).
2. **Measurement** (per candidate, numba, :mod:`iqx.kernels.esf`): ISO 12233-style slanted
   edge along the edge normal: centroid + slope refinement, variable-oversampling ESF,
   contrast / SNR / homogeneity / flatness / outlier / isolation gates, RER, FWHM and MTF
   corrected for the bin and derivative filters. A cell's seeds are measured longest trace
   first; one whose traced line overlaps an accepted one of its cell is skipped (duplicate).
3. **Selection** (eager, on the small table): overlapping measurements of the same edge are
   reduced to one (non-maximum suppression, longest accepted first); values are split by
   direction (``x``: near-vertical edges whose profile runs along x, within +-15 degrees,
   ``y``: near-horizontal, ``other``) and summarised with median, mean, std, IQR, a seeded
   bootstrap CI of the median and the edge count, plus the count of rejected candidates
   per reason.

A candidate belongs to the block whose core holds its cell's origin, and every block is
extended by a halo that holds the whole edge patch, so the answer is the same for NumPy
input and for any chunking. ``method="logistic"`` replaces step 2's values by IQUAFLOW's
logistic-model fit (:mod:`iqx.metrics._sharpness_logistic`) for comparison.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.metrics._lazy_result import LazyResult
from iqx.metrics._numpy_strips import numpy_as_strips
from iqx.metrics._result import result_attrs
from iqx.metrics._sharpness_blocks import _chunk, _empty_part
from iqx.metrics._sharpness_map import _tile_values
from iqx.metrics._sharpness_nms import _combine
from iqx.metrics._sharpness_params import (
    DEFAULTS,  # noqa: F401  (re-exported)
    DIRECTIONS,  # noqa: F401  (re-exported)
    FREQS,  # noqa: F401  (re-exported)
    OUTPUTS,
    PARAMETERS,
    UNITS,
    SharpnessOptions,
    _check_dtype,
    _mask_scene,
    _nodata,
    _options,
    sharpness_halo,
)
from iqx.metrics._sharpness_result import (
    MIN_CONFIDENT_EDGES,
    SharpnessResult,
)
from iqx.metrics._sharpness_stats import _finalize
from iqx.parallel import BlockInfo, as_scene, lazy_call, map_tiles_xr, reduce_blocks
from iqx.registry import register_metric

__all__ = ["SharpnessResult", "flat_summary", "sharpness", "sharpness_halo", "sharpness_map"]


def _not_measurable(
    scene: xr.DataArray, p: SharpnessOptions, meta: dict, why: str
) -> SharpnessResult:
    return _finalize(_empty_part(p, meta["nbands"]), p, {**meta, "reason": why})


def _meta(scene: xr.DataArray) -> dict:
    tr = scene.attrs.get("transform")
    labels = (
        scene["band"].values if "band" in scene.coords else np.arange(1, scene.sizes["band"] + 1)
    )
    return {
        "nbands": scene.sizes["band"],
        "band_labels": np.asarray(labels),
        "crs": scene.attrs.get("crs"),
        "transform": tuple(float(v) for v in tr[:6]) if tr is not None else None,
    }


def _flat(result: SharpnessResult) -> dict[str, Any]:
    """The registered flat summary of a result (see :func:`flat_summary`)."""
    return result.flat_summary()


@register_metric(
    "sharpness",
    summary="Edge-method sharpness (RER, FWHM, MTF@Nyquist, MTF50) from natural edges.",
    outputs=("rer", "fwhm", "mtf_nyquist", "mtf_half_nyquist", "mtf50", "n_edges"),
    units=UNITS,
    chunk_invariant=True,
    halo=sharpness_halo,
    params=PARAMETERS,
    options=SharpnessOptions,
    flat_summary=_flat,
    references=(
        "ISO 12233:2023, Photography - Electronic still picture imaging - Resolution and SFR",
        "Burns, P. D., sfrmat5 (slanted-edge SFR reference code, fir2fix derivative correction)",
        "van den Bergh, F., MTF Mapper (mtf_mapper.tex, accuracy section)",
        "Masaoka, K., 'OMNI-sine' slanted-edge oversampling, EI 2022 IQSP-332",
        "Cenci, L. et al. 2021, Remote Sens. 13(8):1593 (SaSbEM; IQUAFLOW sharpness)",
    ),
)
def sharpness(
    image: Any,
    *,
    mask: Any = None,
    method: str = "iso",
    compute: bool = True,
    **kw: Any,
) -> SharpnessResult | Any:
    """Measure sharpness from the natural edges of a scene.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        ``(y, x)`` or ``(band, y, x)`` NumPy/dask array or DataArray (dask-backed scenes
        are processed block by block). ``attrs["nodata"]`` and NaN mark invalid pixels.
    mask : array-like, optional
        Boolean validity mask (True = valid), ``(y, x)`` or ``(band, y, x)``.
    method : {"iso", "logistic"}
        ``"iso"`` (default): non-parametric ISO 12233-style ESF/LSF/MTF. ``"logistic"``:
        IQUAFLOW's logistic-model values on the same edges (for comparison).
    compute : bool
        If False, return a :class:`~iqx.metrics._lazy_result.LazyResult` (a dask
        collection; building it computes nothing, ``.compute()`` gives the result and its
        repr computes and prints the values).
    **kw
        Tuning (defaults in ``DEFAULTS``): ``cell`` (seed grid, 16 px), ``seeds_per_cell``
        (3), ``seed_separation`` (4 px), ``coherence_radius`` (2 px, seed score window),
        ``min_length`` (8) and ``max_length`` (64 px) of an edge segment, ``halfwidth`` (5 px,
        ESF extent each side), ``plateau`` (2 px), ``taper`` (2 px), ``oversampling``
        ((8, 6, 5, 4, 3, 2)), ``min_snr`` (per-pixel edge SNR 6), ``max_straightness``
        (0.5 px), ``max_fit_rms`` (0.5 px), ``max_noise_ratio`` (3), ``max_plateau_slope``
        (0.06 of the contrast), ``outlier_k`` (5), ``max_outlier_frac`` (0.03), ``max_tail``
        (0.25), ``direction_tolerance`` (15 deg), ``n_boot`` (500), ``seed`` (0, bootstrap).

    Returns
    -------
    SharpnessResult
        ``.dataset`` (summary per band and direction), ``.edges`` (per-edge table),
        ``.rejected`` (counts per reason), ``.flat_summary()``, ``.to_geojson(path)``.
        ``.dataset`` also holds the pooled MTF@Nyquist per direction
        (``mtf_nyquist_pooled`` with a bootstrap CI over edges).
        When nothing is measurable the values are NaN with ``n_edges == 0`` and a
        ``reason``; :func:`flat_summary` turns them into ``None`` + ``<key>_reason``.

    Raises
    ------
    UnsupportedDtypeError
        For non-numeric images (bool, complex, strings ...).
    InvalidParameterError
        For bad parameters or a mask of the wrong shape.

    Notes
    -----
    Dask chunks thinner than :func:`sharpness_halo` (e.g. the last chunk of a 1040-px axis
    in 1024-px chunks) are merged into their neighbour (``reduce_blocks(rechunk=True)``).
    """
    p = _options(method, kw)
    scene = as_scene(image)
    _check_dtype(scene)
    meta = _meta(scene)
    scene = numpy_as_strips(scene, p.halo)  # every core; same answer
    m = _mask_scene(scene, mask)
    extra = [] if m is None else [m]
    need = p.patch_size
    if scene.sizes["y"] < need or scene.sizes["x"] < need:
        why = (
            f"image {scene.sizes['y']}x{scene.sizes['x']} is smaller than one edge patch "
            f"({need}x{need} px)"
        )
        res = _not_measurable(scene, p, meta, why)
        return res if compute else LazyResult(lazy_call(_identity, res), "sharpness")
    halo = p.halo
    nodata = _nodata(scene)

    def chunk(block: np.ndarray, info: BlockInfo, *ex: np.ndarray) -> dict:
        return _chunk(block, info, *ex, p=p, nodata=nodata)

    def combine(parts: list[dict]) -> dict:
        return _combine(parts, p)

    def finalize(part: dict) -> SharpnessResult:
        m2 = dict(meta)
        if part["n_measured"] == 0:
            m2["reason"] = "no edge candidates (constant, all-nodata or edgeless image)"
        return _finalize(part, p, m2)

    # rechunk=True: chunks thinner than the halo (e.g. the last of a 1040-px axis in
    # 1024-px chunks) are merged into their neighbour instead of raising
    out = reduce_blocks(
        chunk, combine, finalize, scene, halo=halo, extra=extra, compute=compute, rechunk=True
    )
    return out if compute else LazyResult(out, "sharpness")


def _identity(x: Any) -> Any:
    return x


#: Fewest edges of a direction for which ``flat_summary`` reports the pooled MTF@Nyquist
#: (and below which values are flagged low-confidence; :mod:`iqx.metrics._sharpness_result`).
MIN_POOLED_EDGES = MIN_CONFIDENT_EDGES


def flat_summary(image: Any, **kw: Any) -> dict[str, Any]:
    """Medians over edges as a flat JSON-able dict, every direction (for ``iqx measure``).

    Keys per direction ``d`` in ``x, y, other, all``: ``rer_d, fwhm_d, mtf_nyquist_d,
    mtf_nyquist_pooled_d, mtf_half_nyquist_d, mtf50_d, n_edges_d, low_confidence_d``.
    ``mtf_nyquist_d`` is the *pooled* estimate (``mtf_nyquist_pooled``, from the mean OTF
    of the edges) for a band with at least ``MIN_POOLED_EDGES`` (6) edges in that direction,
    the median of the per-edge values otherwise (single short natural edges are at the
    noise floor at Nyquist). ``low_confidence_d`` is True below 6 edges (the fewest for a
    distribution-free 95 % CI of the median; :mod:`iqx.metrics._sharpness_result`).
    Multi-band images: the mean over bands of the per-band values (bands without edges in
    that direction are skipped) and ``n_edges`` the total over bands. A value is ``None``
    with a ``<key>_reason`` string when no band had a measurable edge in that direction.

    Parameters
    ----------
    image : array-like or xarray.DataArray
        As for :func:`sharpness`.
    **kw
        Passed to :func:`sharpness`.
    """
    kw.pop("compute", None)
    return _flat(sharpness(image, **kw))


sharpness.flat_summary = flat_summary  # type: ignore[attr-defined]


def sharpness_map(
    image: Any,
    *,
    tile: int = 1024,
    mask: Any = None,
    method: str = "iso",
    compute: bool = True,
    **kw: Any,
) -> xr.Dataset:
    """Per-tile sharpness map on a coarse grid (:func:`iqx.parallel.map_tiles_xr`).

    Each ``tile x tile`` tile (grid anchored at the scene origin, independent of the
    chunking) measures the candidates of its own seed cells exactly as :func:`sharpness`
    does (halo :func:`sharpness_halo`) and de-duplicates them among themselves; an edge
    belongs to the tile that holds its seed cell. Overlapping measurements of one edge
    seeded on both sides of a tile border are both kept (one per tile), so ``n_edges``
    summed over the map can slightly exceed :func:`sharpness`'s edge count.

    Parameters
    ----------
    image, mask, method, **kw
        As for :func:`sharpness`.
    tile : int
        Tile size (pixels).
    compute : bool
        If False and the scene is dask-backed, return the lazy Dataset (nothing computed).

    Returns
    -------
    xarray.Dataset
        Variables ``rer``, ``fwhm``, ``mtf_nyquist``, ``mtf_half_nyquist``, ``mtf50``
        (medians over the tile's edges, all directions; NaN where ``n_edges == 0``),
        ``mtf_nyquist_pooled`` (pooled over the tile's edges) and ``n_edges``, dims
        ``(band, y, x)``; coordinates and ``attrs["transform"]`` of the coarse grid as
        :func:`iqx.parallel.map_tiles_xr` gives them (tile centres in the scene's CRS when
        it has a ``transform``), attrs ``tile``, ``metric``.
    """
    if isinstance(tile, bool) or not isinstance(tile, int | np.integer) or tile < 1:
        raise InvalidParameterError(f"tile must be a positive integer, got {tile!r}")
    p = _options(method, kw)
    scene = as_scene(image)
    _check_dtype(scene)
    m = _mask_scene(scene, mask)
    outputs = dict.fromkeys((*OUTPUTS, "mtf_nyquist_pooled"), np.float64)
    outputs["n_edges"] = np.int64
    ds = map_tiles_xr(
        _tile_values,
        scene,
        tile=int(tile),
        halo=p.halo + p.map_context,
        outputs=outputs,
        mask=m,
        kwargs={"p": p, "nodata": _nodata(scene), "nbands": scene.sizes["band"]},
        attrs=result_attrs("sharpness_map", p),
    )
    for o in OUTPUTS:
        ds[o].attrs["units"] = UNITS[o]
    ds["mtf_nyquist_pooled"].attrs["units"] = "1"
    ds["n_edges"].attrs["units"] = "count"
    return ds.compute() if compute else ds
