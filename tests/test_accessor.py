"""The .iqx accessor forwards to the public functions and keeps no state."""

from __future__ import annotations

import numpy as np
import xarray as xr

import iqx.parallel
from iqx import metrics, modifiers


def _scene():
    rng = np.random.default_rng(0)
    return iqx.parallel.as_scene((100 + rng.normal(0, 5, (64, 64))).astype(np.uint8))


def test_modify_equals_the_modifier():
    scene = _scene()
    via = scene.iqx.modify("quantize:bits=4")
    direct = modifiers.quantize(scene, bits=4)
    xr.testing.assert_identical(via, direct)


def test_metric_by_id_equals_the_function():
    scene = _scene()
    xr.testing.assert_identical(scene.iqx.metric("snr"), metrics.snr(scene))
    xr.testing.assert_identical(
        scene.iqx.snr(method="immerkaer"), metrics.snr(scene, method="immerkaer")
    )
