"""The shared result convention for the blind metrics: attrs, registered flat summaries."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from iqx._version import __version__
from iqx.metrics._result import summarize
from iqx.metrics.sharpness import flat_summary as sharpness_flat
from iqx.metrics.sharpness import sharpness
from iqx.metrics.snr import flat_summary as snr_flat
from iqx.metrics.snr import snr, snr_map


def _scene(labels=(1,)):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[:96, :96]
    img = 100.0 + 80.0 * (x > 0.3 * y + 30) + rng.normal(0, 2, (96, 96))
    data = np.stack([img] * len(labels)).astype(np.uint16)
    return xr.DataArray(data, dims=("band", "y", "x"), coords={"band": list(labels)})


def test_snr_attrs_and_registered_summary():
    scene = _scene()
    ds = snr(scene, "pca", block_size=5)
    assert ds.attrs["iqx_metric"] == "snr" and ds.attrs["iqx_version"] == __version__
    assert json.loads(ds.attrs["iqx_params"]) == {
        "method": "pca",
        "block_size": 5,
        "min_blocks": 100,
        "confidence": 0.99,
    }
    assert ds.attrs["method"] == "pca"  # the attrs written before stay
    assert set(summarize("snr", ds)) == {"snr_pca", "snr_pca_std", "snr_pca_reason"}
    flat = snr_flat(scene)
    assert flat == {
        **summarize("snr", snr(scene, "hb")),
        **summarize("snr", snr(scene, "ha")),
        **summarize("snr", snr(scene)),
    }
    assert snr_map(scene, tile=48).attrs["iqx_metric"] == "snr_map"


def test_sharpness_attrs_registered_summary_and_string_bands():
    scene = _scene(("red", "nir"))
    res = sharpness(scene, n_boot=20)
    attrs = res.dataset.attrs
    assert attrs["iqx_metric"] == "sharpness" and attrs["iqx_version"] == __version__
    assert json.loads(attrs["iqx_params"])["n_boot"] == 20
    assert json.loads(attrs["iqx_params"])["method"] == "iso"
    assert summarize("sharpness", res) == sharpness_flat(scene, n_boot=20)
    assert set(res.rejected) <= {"red", "nir"}  # string labels are kept, not int()-ed
