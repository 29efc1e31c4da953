"""``replace_data``: the cheap shallow copy behind every small scene (xarray's ``_replace``)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.errors import InvalidParameterError
from iqx.parallel.backend import replace_data, with_data


def _template():
    return xr.DataArray(
        np.zeros((2, 3, 4), np.uint8),
        dims=("band", "y", "x"),
        coords={"band": [1, 2], "y": [0.5, 1.5, 2.5], "x": np.arange(4) + 0.5},
        name="t",
        attrs={"a": 1},
    )


@pytest.mark.parametrize("lazy", [False, True])
def test_equals_the_public_shallow_copy(lazy):
    template = _template()
    template.encoding = {"dtype": "uint8"}
    data = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    if lazy:
        data = da.from_array(data, chunks=(1, 2, 2))
    out = replace_data(template, data, name="new", attrs={"b": 2})
    ref = template.copy(deep=False, data=data)
    ref.name, ref.attrs, ref.encoding = "new", {"b": 2}, {}
    xr.testing.assert_identical(out, ref)
    assert out.encoding == {} and out.data is data
    assert template.name == "t" and template.attrs == {"a": 1}  # the template is untouched
    assert list(out.indexes) == ["band", "y", "x"]
    assert out.indexes["x"] is template.indexes["x"]  # shared, not rebuilt


def test_with_data_keeps_name_and_copies_attrs():
    template = _template()
    out = with_data(template, np.ones((2, 3, 4), np.uint8))
    assert out.name == "t" and out.attrs == {"a": 1} and out.attrs is not template.attrs
    out.attrs["c"] = 3
    assert "c" not in template.attrs


def test_shape_mismatch_is_refused():
    with pytest.raises(InvalidParameterError, match=r"shape \(3, 4\)"):
        replace_data(_template(), np.zeros((3, 4)), name=None, attrs={})
