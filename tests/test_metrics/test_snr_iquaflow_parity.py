"""IQUAFLOW 1.0.1 parity of ``snr(method="hb"|"ha", iquaflow_compat=True)``.

Provenance of the expected numbers: ``iquaflow_fixtures/iquaflow_1.0.1_golden.json`` was
produced by running the IQUAFLOW 1.0.1 wheel (numpy 1.23.5, scipy 1.11.4, skimage 0.21.0,
cv2 4.8.1) on its own test images through ``snr_function_from_fn``; the coco aggregates are
the exact constants of IQUAFLOW's ``tests/test_metrics.py::TestSNR``. JPEGs are decoded with
Pillow (libjpeg-turbo, same decoder as cv2) and reordered to BGR like ``cv2.imread``; TIFFs are
read with rasterio like IQUAFLOW's ``ext="tif"`` path.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from iqx.metrics.snr import combine_bands, snr

REL = 1e-6
UPSTREAM_HB = (35.55032353607093, 28.91166092794036, 21.353973062148)  # mean, median, std
UPSTREAM_HA = (32.24198884869302, 32.34672691093317, 16.574449958484983)


def _read(path):
    if path.suffix == ".jpg":
        from PIL import Image

        rgb = np.asarray(Image.open(path).convert("RGB"))
        return np.moveaxis(rgb[..., ::-1], -1, 0)  # cv2 order: BGR, then channels first
    import rasterio

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with rasterio.open(path) as src:
            return src.read()


@pytest.fixture(scope="module")
def golden(shared_data):
    root = shared_data / "iquaflow_fixtures"
    return root, json.loads((root / "iquaflow_1.0.1_golden.json").read_text())


def _value(image, method, **kw):
    ds = snr(image, method, iquaflow_compat=True, **kw)
    v, e, _reason = combine_bands(ds)
    return (math.nan, math.nan) if v is None else (v, e)


def _close(got, want):
    if want is None:
        return math.isnan(got)
    return math.isclose(got, want, rel_tol=REL, abs_tol=1e-12)


def test_jpeg_decode_is_libjpeg_turbo():
    """Pillow must decode with libjpeg-turbo, like cv2 (the parity assumption)."""
    from PIL import features

    assert features.check_feature("libjpeg_turbo")


def test_per_file_golden(golden):
    """Every fixture image: HB default and HA p4/lbp0.6 (value and error) match 1.0.1."""
    root, gold = golden
    for rel, want in gold["files"].items():
        img = _read(root / "test_datasets" / rel)
        hb = _value(img, "hb")
        ha = _value(img, "ha", block_size=4, lbp_threshold=0.6)
        for got, exp, name in (
            (hb, want["SNR_HB_default"], "HB"),
            (ha, want["SNR_HA_p4_lbp0.6"], "HA"),
        ):
            assert _close(got[0], exp[0]), (rel, name, got, exp)
            assert _close(got[1], exp[1]), (rel, name, got, exp)


def test_coco_upstream_aggregates(golden):
    """SNRMetric aggregates (nanmean, nanmedian, nanstd over files) = upstream constants."""
    root, _ = golden
    files = sorted((root / "test_datasets" / "ds_coco_dataset" / "images").glob("*.jpg"))
    assert len(files) == 10
    hb, ha = [], []
    for f in files:
        img = _read(f)
        hb.append(_value(img, "hb")[0])
        ha.append(_value(img, "ha", block_size=4, lbp_threshold=0.6)[0])
    for vals, want in ((hb, UPSTREAM_HB), (ha, UPSTREAM_HA)):
        got = (np.nanmean(vals), np.nanmedian(vals), np.nanstd(vals))
        np.testing.assert_allclose(got, want, rtol=REL)


def test_compat_flags_reason_for_unmeasurable(golden):
    """A 90x90 geo tile where HA is None in 1.0.1 gives NaN *with* a reason."""
    root, _ = golden
    tif = sorted((root / "test_datasets" / "ds_geo_dataset" / "images").glob("*.tif"))[0]
    ds = snr(_read(tif), "ha", iquaflow_compat=True, block_size=4)
    assert np.isnan(ds["snr"].values[0])
    assert ds["reason"].values[0]
    v, _e, reason = combine_bands(ds)
    assert v is None and reason
