"""The sharpness result keeps NumPy arrays and builds its Dataset and DataFrame when read.

The flat summary ``iqx measure`` reads comes straight from the arrays
(:meth:`SharpnessSummary.flat_summary`); the independent path it is checked against is the
Dataset route every earlier version took (:func:`flat_summary_from_dataset` of
``result.dataset``), on scenes with many edges, none, several bands, string band labels,
nodata and the logistic method.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from iqx.metrics._sharpness_result import flat_summary_from_dataset
from iqx.metrics.sharpness import SharpnessResult, flat_summary, sharpness
from iqx.testing.edges import parcel_scene, slanted_edge


def _same(a: dict, b: dict) -> None:
    """Equal keys in the same order, floats equal bit for bit."""
    assert list(a) == list(b)
    for k in a:
        if isinstance(a[k], float):
            assert isinstance(b[k], float)
            assert np.float64(a[k]).tobytes() == np.float64(b[k]).tobytes(), k
        else:
            assert type(a[k]) is type(b[k]) and a[k] == b[k], k


def _scenes() -> dict[str, object]:
    rng = np.random.default_rng(5)
    parcels = parcel_scene(384, seed=3)
    three = np.stack([parcels, parcels[::-1], parcels[:, ::-1]])
    labelled = xr.DataArray(three, dims=("band", "y", "x"), coords={"band": ["r", "g", "b"]})
    holes = parcels.astype(np.float32)
    holes[rng.random(holes.shape) < 0.02] = np.nan
    return {
        "slanted": slanted_edge(200, angle=6, sigma=0.7, snr=100, seed=2),
        "parcels": parcels,
        "three_bands_labelled": labelled,
        "nan_holes": holes,
        "nodata": xr.DataArray(
            np.where(parcels > np.median(parcels), parcels, 0)[None],
            dims=("band", "y", "x"),
            attrs={"nodata": 0},
        ),
        "edgeless": np.full((96, 96), 7, np.uint8),
        "smaller_than_a_patch": parcels[:20, :20],
    }


@pytest.mark.parametrize("method", ["iso", "logistic"])
@pytest.mark.parametrize("name", list(_scenes()))
def test_flat_summary_from_arrays_equals_the_dataset_route(name, method):
    result = sharpness(_scenes()[name], method=method, n_boot=50)
    from_arrays = result.flat_summary()
    assert "dataset" not in vars(result)  # read from the arrays: nothing built
    _same(from_arrays, flat_summary_from_dataset(result.dataset))
    _same(flat_summary(_scenes()[name], method=method, n_boot=50), from_arrays)


def test_dataset_and_edges_are_built_once_when_read():
    result = sharpness(parcel_scene(256, seed=1))
    assert "dataset" not in vars(result) and "edges" not in vars(result)
    ds, edges = result.dataset, result.edges
    assert result.dataset is ds and result.edges is edges
    assert isinstance(ds, xr.Dataset) and isinstance(edges, pd.DataFrame)
    assert int(ds["n_edges"].sel(direction="all").sum()) == len(edges) > 0
    assert result.measurable


def test_edge_table_columns_and_map_position():
    """The table is the columns plus the map position of each centre (pixel-centre rule)."""
    scene = xr.DataArray(
        parcel_scene(256, seed=1)[None],
        dims=("band", "y", "x"),
        attrs={"transform": (2.0, 0.0, 500.0, 0.0, -2.0, 900.0)},
    )
    result = sharpness(scene)
    edges = result.edges
    assert list(edges.columns[:5]) == ["band", "y", "x", "map_x", "map_y"]
    assert list(edges.columns.drop(["map_x", "map_y"])) == list(result.edge_columns)
    np.testing.assert_array_equal(edges["map_x"], 2.0 * (edges["x"] + 0.5) + 500.0)
    np.testing.assert_array_equal(edges["map_y"], -2.0 * (edges["y"] + 0.5) + 900.0)
    for name, col in result.edge_columns.items():
        if name != "direction":
            np.testing.assert_array_equal(edges[name].to_numpy(), col)


def test_direction_column_has_one_dtype_with_or_without_edges():
    some = sharpness(parcel_scene(256, seed=1)).edges
    none = sharpness(np.zeros((96, 96), np.uint8)).edges
    assert len(some) > 0 and len(none) == 0
    assert some["direction"].dtype == none["direction"].dtype


def test_result_is_frozen_and_pickles():
    result = sharpness(parcel_scene(256, seed=1), n_boot=20)
    with pytest.raises(AttributeError):
        result.rejected = {}  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(result))
    assert isinstance(back, SharpnessResult)
    xr.testing.assert_identical(back.dataset, result.dataset)
    pd.testing.assert_frame_equal(back.edges, result.edges)
    assert repr(back) == repr(result)
    assert not math.isnan(back.flat_summary()["rer_all"])
