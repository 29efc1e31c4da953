"""Sharpness validity masks follow the shared rule of iqx.metrics._validity, and its result
is immutable.

The rule (also used by the full-reference metrics): a boolean mask, ``(y, x)`` or
``(band, y, x)`` with 1 band or as many as the image, broadcast to every band; anything
else is refused with the shared errors.
"""

from __future__ import annotations

import dataclasses

import dask.array as da
import numpy as np
import pytest

from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.metrics import sharpness
from iqx.metrics._validity import MaskShapeError, check_mask
from iqx.testing.edges import parcel_scene


@pytest.fixture(scope="module")
def scene() -> np.ndarray:
    return parcel_scene(320, sigma=0.8, snr=80, seed=5)


@pytest.mark.parametrize(
    "mask",
    [np.ones((320, 320), np.uint8), np.ones((320, 320)), np.ones((1, 320, 320), np.int64)],
)
def test_non_boolean_mask_refused_like_the_shared_rule(scene, mask):
    with pytest.raises(InvalidParameterError) as shared:
        check_mask(mask, (2, 320, 320))
    with pytest.raises(InvalidParameterError) as ours:
        sharpness(np.stack([scene, scene]), mask=mask)
    assert str(ours.value) == str(shared.value)


@pytest.mark.parametrize("shape", [(10, 10), (3, 320, 320), (320, 321)])
def test_wrong_mask_shape_is_both_error_kinds(scene, shape):
    with pytest.raises(MaskShapeError) as err:
        sharpness(np.stack([scene, scene]), mask=np.ones(shape, bool))
    assert isinstance(err.value, InvalidParameterError)
    assert isinstance(err.value, ShapeMismatchError)
    assert "(1 or 2, 320, 320)" in str(err.value)


def test_one_band_mask_applies_to_every_band(scene):
    two = np.stack([scene, scene[::-1]])
    m = np.ones(scene.shape, bool)
    m[:, :160] = False
    one = sharpness(two, mask=m)
    full = sharpness(two, mask=np.stack([m, m]))
    lazy = sharpness(da.from_array(two, chunks=(1, 160, 160)), mask=da.from_array(m[None]))
    assert len(one.edges) > 0
    assert one.edges.equals(full.edges)
    assert one.edges.reset_index(drop=True).equals(lazy.edges.reset_index(drop=True))
    assert (one.edges.x - one.edges.half_length > 160 - 12).all()


def test_result_is_immutable(scene):
    res = sharpness(scene)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.edges = res.edges.iloc[:0]
