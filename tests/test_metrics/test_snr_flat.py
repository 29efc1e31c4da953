"""``iqx.metrics.snr.flat_summary`` (no Datasets) equals the summary of the Datasets.

The independent path is the registered summary of each :func:`snr` result,
``_result_summary(snr(image, method, ...))`` for ``hb``, ``ha`` and the default method:
:func:`flat_summary` combines the same per-band rows without building those Datasets, so
the two must agree exactly (same keys in the same order, same float bits, same reasons)
for NumPy and dask input, any chunking, nodata/NaN/mask, IQUAFLOW parity mode, several
bands and unmeasurable images. The band rule itself is checked on hand-made values.
"""

from __future__ import annotations

import importlib
import math
import struct
import warnings

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from iqx.metrics.snr import DEFAULT_METHOD, combine_bands, flat_summary, snr
from iqx.testing.noise_fields import flat_field, textured_scene

snr_mod = importlib.import_module("iqx.metrics.snr")  # the module (iqx.metrics.snr is the function)
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

CHUNKINGS = ((1, 40, 40), (1, 50, 27), (1, 17, 96))


def _from_datasets(image, *, iquaflow_compat=False, mask=None) -> dict:
    """The union of the registered summaries of the three :func:`snr` Datasets."""
    out = {}
    for method in ("hb", "ha", DEFAULT_METHOD):
        compat = iquaflow_compat and method in ("hb", "ha")
        ds = snr(image, method, mask=mask, iquaflow_compat=compat)
        assert isinstance(ds, xr.Dataset)
        out.update(snr_mod._result_summary(ds))
    return out


def _assert_same(got: dict, want: dict) -> None:
    """Same keys in the same order, same types, floats bit for bit."""
    assert list(got) == list(want)
    for key, w in want.items():
        g = got[key]
        assert type(g) is type(w), (key, g, w)
        if isinstance(w, float):
            assert struct.pack("<d", g) == struct.pack("<d", w), (key, g, w)
            assert math.copysign(1.0, g) == math.copysign(1.0, w), key
        else:
            assert g == w, (key, g, w)


def _assert_close(got: dict, want: dict) -> None:
    """NumPy against dask input: ``ha`` sums chunk by chunk, so its floats may differ in
    the last bits (as :func:`snr`'s do); keys, reasons and ``None`` are exact."""
    assert list(got) == list(want)
    for key, w in want.items():
        if isinstance(w, float):
            assert got[key] == pytest.approx(w, rel=1e-12, abs=0), key
        else:
            assert got[key] == w, key


def _check(image, **kw) -> dict:
    got = flat_summary(image, **kw)
    _assert_same(got, _from_datasets(image, **kw))
    return got


def _noisy(shape, level, sigma, dtype, seed):
    return flat_field(shape, level, sigma, dtype, seed=seed)[0]


def _three_bands() -> xr.DataArray:
    """uint16 bands of different SNR, one constant (unmeasurable), a nodata border."""
    rng = np.random.default_rng(11)
    img = np.stack(
        [
            rng.normal(500, 10, (96, 96)),
            np.full((96, 96), 300.0),
            rng.normal(900, 30, (96, 96)),
        ]
    ).astype(np.uint16)
    img[:, :12, :] = 0
    return xr.DataArray(
        img, dims=("band", "y", "x"), coords={"band": ["b", "flat", "r"]}, attrs={"nodata": 0}
    )


@pytest.mark.parametrize(
    ("dtype", "level", "sigma"),
    [("uint8", 100, 2), ("uint16", 1000, 10), ("float32", 0.5, 0.01)],
)
@pytest.mark.parametrize("compat", [False, True])
def test_numpy_dtypes(dtype, level, sigma, compat):
    img = _noisy((96, 96), level, sigma, dtype, seed=5)
    got = _check(img, iquaflow_compat=compat)
    assert got["snr"] is not None  # measured: the comparison is not only of Nones


def test_textured_and_masked():
    img = textured_scene((128, 128), sigma=2.0, dtype="uint16", seed=2)[0]
    mask = np.ones(img.shape, dtype=bool)
    mask[:, :30] = False
    mask[70:90, :] = False
    plain = _check(img)
    masked = _check(img, mask=mask)
    assert masked != plain  # the mask reaches every method


def test_nodata_attr_and_nan():
    rng = np.random.default_rng(3)
    img = rng.normal(200.0, 2.0, (90, 90)).astype(np.float32)
    img[5:25, :] = np.nan
    img[:, 60:70] = -1.0
    _check(xr.DataArray(img, dims=("y", "x"), attrs={"nodata": -1.0}))
    _check(np.full((40, 40), np.nan, dtype=np.float32))  # nothing valid: reasons only


def test_multiband_labels_unmeasurable_band():
    scene = _three_bands()
    got = _check(scene)
    assert got["snr"] is not None  # two measurable bands combined
    _check(scene, iquaflow_compat=True)
    _check(scene, mask=np.asarray(scene.data) > 450)  # (band, y, x) mask


def test_no_band_measurable_names_each_band():
    scene = xr.DataArray(
        np.zeros((2, 64, 64), np.uint8), dims=("band", "y", "x"), coords={"band": ["p", "q"]}
    )
    got = _check(scene)
    assert got["snr"] is None
    assert got["snr_reason"].startswith("band p: ") and "; band q: " in got["snr_reason"]
    _check(scene, iquaflow_compat=True)


@pytest.mark.parametrize("shape", [(28, 28), (8, 8), (4, 4), (2, 2)])
@pytest.mark.parametrize("compat", [False, True])
def test_tiny_images(shape, compat):
    img = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    got = _check(img, iquaflow_compat=compat)
    if shape != (28, 28):
        assert got["snr"] is None and got["snr_reason"]


@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_dask_any_chunking(chunks):
    scene = _three_bands()
    lazy = scene.chunk(dict(zip(scene.dims, chunks, strict=True)))
    got = _check(lazy)
    _assert_close(got, flat_summary(scene))  # and equal to the NumPy input
    img = _noisy((96, 96), 100, 2, "uint8", seed=9)
    _assert_close(_check(da.from_array(img, chunks=chunks[1:])), flat_summary(img))


def test_real_band(pan):
    """The WV-2 pan chip (uint16 DN), NumPy and chunked, plain and IQUAFLOW mode."""
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(pan) as f:
        band = f.read(1)
    got = _check(band)
    assert got["snr"] is not None and got["snr_hb"] is not None
    _assert_close(_check(da.from_array(band, chunks=(256, 200))), got)
    _check(band, iquaflow_compat=True)


def test_no_dataset_is_built(monkeypatch):
    """flat_summary combines the rows: the Dataset builders are never called."""

    def _fail(*args, **kwargs):
        raise AssertionError("flat_summary built a Dataset")

    img = _noisy((64, 64), 100, 2, "uint8", seed=4)
    want = _from_datasets(img)
    want_compat = _from_datasets(img, iquaflow_compat=True)
    monkeypatch.setattr(snr_mod, "_build", _fail)
    monkeypatch.setattr(snr_mod, "_iquaflow_dataset", _fail)
    _assert_same(flat_summary(img), want)
    _assert_same(flat_summary(img, iquaflow_compat=True), want_compat)
    with pytest.raises(AssertionError, match="built a Dataset"):
        snr(img)


def test_band_rule_on_known_values():
    """combine_bands: mean of the measurable bands, max(quadrature / n, spread)."""
    ds = xr.Dataset(
        {"snr": ("band", [10.0, 20.0, np.nan]), "snr_std": ("band", [1.0, 2.0, np.nan])},
        attrs={"reason": "band 3: x"},
    )
    v, e, reason = combine_bands(ds)
    assert (v, e, reason) == (15.0, 5.0, "")  # spread 5 > sqrt(1 + 4) / 2
    ds["snr"] = ("band", [10.0, 10.5, np.nan])
    v, e, _ = combine_bands(ds)
    assert v == 10.25 and e == pytest.approx(math.sqrt(5.0) / 2)
    ds["snr"] = ("band", [np.nan, np.nan, np.nan])
    assert combine_bands(ds) == (None, None, "band 3: x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.attrs["reason"] = ""
        assert combine_bands(ds) == (None, None, "no band measurable")
