"""Pair handling shared by the full-reference metrics: inputs, validity, dask, tiles.

* :func:`_pair` normalises a ``(reference, test)`` pair to ``(band, y, x)`` scenes and
  checks shape, CRS and dtype (:class:`~iqx.errors.ShapeMismatchError`,
  :class:`~iqx.errors.UnsupportedDtypeError`).
* :func:`_validity` gathers what makes a pixel invalid (the contract of
  :mod:`iqx.metrics._validity`) for the kernels.
* :func:`_dask_pair` gives both scenes as dask arrays chunked alike; NumPy input is wrapped
  without a copy in :data:`DEFAULT_CHUNK` blocks so it runs on every core.
* :func:`_block_pair` gives NumPy input of one such block as it is: a single block has no
  parallelism to win, and its dask graph would cost more than the kernels (a 28×28 pair:
  ~10 ms of graph per metric against ~0.1 ms of kernel).
* :func:`_call_options` builds a metric's typed options from its call's arguments.
* :class:`MetricParts` holds a metric's outputs before they become an
  :class:`xarray.Dataset`: the Dataset for the public function, the flat scalars for
  dataset comparison (one Dataset per metric per pair cost ~0.3 ms of a 28×28 pair's
  ~1.8 ms; a function metric offers them as its ``parts`` attribute).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import xarray as xr

from iqx.errors import ShapeMismatchError, UnsupportedDtypeError
from iqx.metrics._validity import check_mask, scene_nodata
from iqx.parallel import as_scene, is_dask, to_dask_blocks

#: chunk edge used when NumPy input is split to run on every core
DEFAULT_CHUNK = 1024

T = TypeVar("T")


def _call_options(cls: type[T], call: Mapping[str, Any]) -> T:
    """``cls`` (an :class:`~iqx.metrics._options.Options`) from a metric call's arguments.

    The public functions keep skimage's explicit keyword arguments; each passes
    ``locals()`` from its first line, and every option named by ``cls`` is read from it
    (a missing one is a programming error: ``KeyError``), so the options are spelled once.
    """
    return cls(**{name: call[name] for name in cls.names()})


def _label(scene: xr.DataArray, default: str) -> str:
    for key in ("path", "source", "filename"):
        value = scene.attrs.get(key) or scene.encoding.get(key)
        if value:
            return str(value)
    return str(scene.name) if scene.name is not None else default


def _pair(reference: Any, test: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """Normalise and validate a (reference, test) pair; both dask-backed if either is."""
    ref = as_scene(reference)
    tst = as_scene(test)
    if ref.shape != tst.shape:
        raise ShapeMismatchError(
            f"reference {_label(ref, 'image')} has shape {ref.shape} (band, y, x) but test "
            f"{_label(tst, 'image')} has shape {tst.shape}"
        )
    crs_r, crs_t = ref.attrs.get("crs"), tst.attrs.get("crs")
    if crs_r is not None and crs_t is not None and str(crs_r) != str(crs_t):
        raise ShapeMismatchError(
            f"reference {_label(ref, 'image')} has CRS {crs_r} but test "
            f"{_label(tst, 'image')} has CRS {crs_t}"
        )
    for scene, role in ((ref, "reference"), (tst, "test")):
        if not (
            np.issubdtype(scene.dtype, np.number)
            and not np.issubdtype(scene.dtype, np.complexfloating)
        ):
            raise UnsupportedDtypeError(
                f"{role} {_label(scene, 'image')} has dtype {scene.dtype}; expected real numbers"
            )
    return ref, tst


def _as_dask(scene: xr.DataArray, like: Any = None) -> Any:
    """The scene's data as a dask array (NumPy wrapped without a copy), one band chunk."""
    data = scene.data
    if not is_dask(data):
        chunks = like.chunks if like is not None else (-1, DEFAULT_CHUNK, DEFAULT_CHUNK)
        data = to_dask_blocks(np.asarray(data), chunks)
    data = data.rechunk({0: -1})
    if like is not None:
        data = data.rechunk(like.chunks)
    return data


def _dask_pair(ref: xr.DataArray, tst: xr.DataArray) -> tuple[Any, Any]:
    """Both scenes as dask arrays chunked alike (NumPy input wrapped without a copy)."""
    a = _as_dask(ref)
    return a, _as_dask(tst, like=a)


def _one_block(ref: xr.DataArray, tst: xr.DataArray, mask: Any = None) -> bool:
    """True when the pair (and ``mask``) are NumPy and fit one :data:`DEFAULT_CHUNK` block.

    :func:`_dask_pair` would wrap such a pair as a single chunk: the block reduction then
    runs the same kernel call on the same arrays, so computing it in place gives the same
    bits without a graph.
    """
    return (
        not is_dask(ref.data)
        and not is_dask(tst.data)
        and (mask is None or not is_dask(mask))
        and ref.shape[1] <= DEFAULT_CHUNK
        and ref.shape[2] <= DEFAULT_CHUNK
    )


def _block_pair(ref: xr.DataArray, tst: xr.DataArray, mask: Any = None) -> tuple[Any, Any]:
    """The pair as NumPy when it is :func:`_one_block`, else :func:`_dask_pair`."""
    if _one_block(ref, tst, mask):
        return np.asarray(ref.data), np.asarray(tst.data)
    return _dask_pair(ref, tst)


@dataclass(frozen=True)
class _Validity:
    """What makes a pixel invalid: NaN/inf, either image's ``nodata``, an explicit mask."""

    nodata_ref: float | None
    nodata_test: float | None
    mask: Any  # (band, y, x) bool NumPy or dask array, broadcast to every band; or None
    floating: bool

    @property
    def active(self) -> bool:
        """Whether any pixel can be invalid (else the kernels skip the validity scan)."""
        return (
            self.floating
            or self.nodata_ref is not None
            or self.nodata_test is not None
            or self.mask is not None
        )


def _validity(ref: xr.DataArray, tst: xr.DataArray, mask: Any) -> _Validity:
    """Validity rules of a (reference, test) pair and an optional user mask."""
    m = None if mask is None else check_mask(mask, ref.shape)
    floating = any(np.issubdtype(s.dtype, np.floating) for s in (ref, tst))
    return _Validity(scene_nodata(ref), scene_nodata(tst), m, floating)


def _finish(ds: Any, lazy: bool) -> Any:
    """The result as built (lazy input) or computed (NumPy input; a no-op when every
    variable is NumPy already)."""
    if lazy or ds.__dask_graph__() is None:
        return ds
    return ds.compute()


def _band_coords(ref: xr.DataArray) -> dict[str, Any]:
    return {"band": ref.coords["band"].values} if "band" in ref.coords else {}


def _sum_parts(parts: list[np.ndarray]) -> np.ndarray:
    return np.sum(np.stack(parts), axis=0)


def _identity(x: np.ndarray) -> np.ndarray:
    return x


@dataclass(frozen=True)
class MetricParts:
    """A full-reference metric's outputs, computed, before they are packed as a Dataset.

    Attributes
    ----------
    variables : dict
        ``name -> (dims, data)``: 0-d values, ``("band",)`` per-band arrays (NumPy, or dask
        for lazy input), as the Dataset's data variables.
    band : xarray.DataArray
        The reference scene (its ``band`` coordinate labels the per-band values).
    attrs : dict
        The Dataset's attrs.
    lazy : bool
        An input was dask-backed: the Dataset stays lazy.
    """

    variables: dict[str, tuple[tuple[str, ...], Any]]
    band: xr.DataArray
    attrs: dict[str, Any] = field(default_factory=dict)
    lazy: bool = False

    def dataset(self) -> xr.Dataset:
        """The metric's result: computed for NumPy input, lazy for dask input."""
        ds = xr.Dataset(self.variables, coords=_band_coords(self.band), attrs=self.attrs)
        return _finish(ds, self.lazy)

    def scalars(self, per_band: bool = False) -> dict[str, Any]:
        """The 0-d outputs (``count`` excluded) and, with ``per_band``, ``<name>_<band>``
        entries of every ``<name>_band`` output: what
        :func:`iqx.datasets.compare.compare_images` reports of the Dataset."""
        out: dict[str, Any] = {}
        labels = None
        for name, (dims, data) in self.variables.items():
            if dims == () and name != "count":
                out[name] = data
            elif per_band and dims == ("band",) and name.endswith("_band"):
                if labels is None:
                    labels = _band_labels(self.band)
                for b, value in zip(labels, data, strict=True):
                    out[f"{name}_{b}"] = value
        return out


def _band_labels(ref: xr.DataArray) -> Any:
    return ref.coords["band"].values if "band" in ref.coords else np.arange(ref.shape[0])
