"""Lazy keyword values (``lazy_call`` results) reach kernels of the neighbourhood and the
grid-changing maps as concrete values, computed once, for NumPy and any chunking."""

from __future__ import annotations

import threading

import dask
import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.parallel import lazy_call, map_overlap_xr, map_regrid_xr
from iqx.testing.laziness import raise_if_dask_computes

CALLS: list[int] = []
_LOCK = threading.Lock()


def _offset(value: float) -> float:
    with _LOCK:
        CALLS.append(1)
    return value


def _box_plus(block: np.ndarray, *, offset: float) -> np.ndarray:
    assert isinstance(offset, float)  # concrete, not a dask object
    out = block.astype(np.float64)
    out[:, 1:-1, 1:-1] = (block[:, :-2, 1:-1] + block[:, 2:, 1:-1] + block[:, 1:-1, 1:-1]) / 3
    return out + offset


def _pick(window, iy, ix, *, offset):
    assert isinstance(offset, float)
    return window[:, iy[:, 0]][:, :, ix[:, 0]].astype(np.float64) + offset


def _scene(chunks: int | None) -> xr.DataArray:
    data = np.arange(3 * 40 * 36, dtype=np.float64).reshape(3, 40, 36) % 17
    if chunks is not None:
        data = da.from_array(data, chunks=(1, chunks, chunks))
    return xr.DataArray(data, dims=("band", "y", "x"))


@pytest.mark.parametrize("chunks", [None, 40, 13, 8])
def test_map_overlap_lazy_kwarg_equals_eager(chunks):
    eager = map_overlap_xr(_box_plus, _scene(None), halo=1, kwargs={"offset": 2.5}).values
    CALLS.clear()
    with raise_if_dask_computes(0 if chunks else 1):  # NumPy input: the value, at once
        out = map_overlap_xr(
            _box_plus, _scene(chunks), halo=1, kwargs={"offset": lazy_call(_offset, 2.5)}
        )
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(out.values, eager)
    assert len(CALLS) == 1  # computed once for all chunks


@pytest.mark.parametrize("chunks", [None, 40, 13])
def test_map_regrid_lazy_kwarg_equals_eager(chunks):
    iy = (np.arange(20) * 2)[:, None]
    ix = (np.arange(12) * 3)[:, None]
    eager = map_regrid_xr(_pick, _scene(None), y=[iy], x=[ix], kwargs={"offset": 1.0}).values
    CALLS.clear()
    with raise_if_dask_computes(0 if chunks else 1):  # NumPy input: the value, at once
        out = map_regrid_xr(
            _pick, _scene(chunks), y=[iy], x=[ix], kwargs={"offset": lazy_call(_offset, 1.0)}
        )
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(out.values, eager)
    assert len(CALLS) == 1


def test_map_overlap_refuses_a_multi_chunk_lazy_kwarg():
    with pytest.raises(InvalidParameterError, match="offset"):
        map_overlap_xr(_box_plus, _scene(13), halo=1, kwargs={"offset": da.ones(4, chunks=2)})
