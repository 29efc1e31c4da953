"""Typed options and the result convention of the full-reference metrics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import xarray as xr

import iqx
from iqx.errors import InvalidParameterError
from iqx.metrics import ergas, ms_ssim, psnr, sam, ssim
from iqx.metrics._reference_options import (
    WANG2003_WEIGHTS,
    ErgasOptions,
    MSSSIMOptions,
    PSNRMapOptions,
    SAMOptions,
    SSIMMapOptions,
    SSIMOptions,
)
from iqx.metrics._result import flat_summary, headline, summarize
from iqx.registry import metrics


def _pair(bands=("red", "green", "nir")):
    rng = np.random.default_rng(3)
    ref = (rng.random((len(bands), 48, 48)) * 200).astype(np.uint8)
    test = np.clip(ref + rng.normal(0, 4, ref.shape), 0, 255).astype(np.uint8)
    coords = {"band": list(bands)}
    return (
        xr.DataArray(ref, dims=("band", "y", "x"), coords=coords),
        xr.DataArray(test, dims=("band", "y", "x"), coords=coords),
    )


def test_ssim_options_derive_the_window():
    opts = SSIMOptions()
    assert (opts.side, opts.halo, opts.covariance) == (11, 5, "population")
    assert opts.description == "gaussian(sigma=1.5, truncate=3.5)"
    box = SSIMOptions(window="uniform")
    assert (box.side, box.halo, box.covariance, box.cov_norm) == (7, 3, "sample", 49 / 48)
    assert MSSSIMOptions().min_side == 176 and MSSSIMOptions().weights == WANG2003_WEIGHTS


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (SSIMOptions, {"window": "box"}, "window"),
        (SSIMOptions, {"sigma": 0}, "sigma must be > 0"),
        (SSIMOptions, {"truncate": float("inf")}, "truncate must be finite"),
        (SSIMOptions, {"window": "uniform", "win_size": 6}, "win_size"),
        (SSIMOptions, {"k1": -0.1}, "k1 must be >= 0"),
        (SSIMOptions, {"data_range": -1.0}, "data_range must be > 0"),
        (MSSSIMOptions, {"weights": [0.5, -1]}, "weights"),
        (MSSSIMOptions, {"weights": []}, "weights"),
        (ErgasOptions, {"ratio": 0}, "ratio"),
        (ErgasOptions, {"ratio": "4"}, "ratio"),
        (SAMOptions, {"unit": "grad"}, "unit"),
        (PSNRMapOptions, {"tile": 0}, "tile"),
    ],
)
def test_options_are_validated_once_on_construction(cls, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        cls(**kwargs)


def test_options_are_frozen_values():
    opts = SSIMOptions(sigma=2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.sigma = 1.0  # type: ignore[misc]
    assert opts == SSIMOptions(sigma=2.0) and hash(opts) == hash(SSIMOptions(sigma=2.0))
    assert MSSSIMOptions(weights=np.array([1.0, 2.0])).weights == (1.0, 2.0)
    assert PSNRMapOptions(tile=8).tile == (8, 8)


def test_registered_halo_reads_the_options():
    assert metrics.get("ssim").halo(sigma=1.0, truncate=4.0) == SSIMOptions(sigma=1.0).halo
    assert metrics.get("ms_ssim").halo(weights=(1.0,), window="uniform", win_size=9) == 4
    assert metrics.get("ssim").halo(mask=None) == 5
    with pytest.raises(InvalidParameterError, match="unknown option"):
        metrics.get("ssim").halo(sigmaa=2.0)


@pytest.mark.parametrize("op, cls", [("ssim", SSIMOptions), ("ms_ssim", MSSSIMOptions)])
def test_signature_defaults_equal_the_option_defaults(op, cls):
    """``iqx list``, the signature and the options cannot drift apart."""
    import inspect

    sig = inspect.signature(metrics.get(op).target).parameters
    params = {p["name"]: p for p in metrics.get(op).parameters()}
    for name, meta in cls.describe().items():
        default = sig[name].default
        assert (list(default) if isinstance(default, tuple) else default) == meta["default"]
        assert params[name]["range"] == meta["range"] and params[name]["unit"] == meta["unit"]


def test_mlflow_params_are_flat_strings():
    assert SSIMOptions(sigma=2.0).mlflow_params()["ssim.sigma"] == "2.0"
    assert ErgasOptions(ratio=0.25).mlflow_params(prefix="img_ergas") == {"img_ergas.ratio": "0.25"}


def test_result_attrs_convention():
    ref, test = _pair()
    for ds, name in (
        (ssim(ref, test), "ssim"),
        (ms_ssim(ref[:1], test[:1], weights=(1.0,)), "ms_ssim"),
        (psnr(ref, test), "psnr"),
        (ergas(ref, test, ratio=0.25), "ergas"),
        (sam(ref, test), "sam"),
    ):
        assert ds.attrs["iqx_metric"] == ds.attrs["metric"] == name
        assert ds.attrs["iqx_version"] == iqx.__version__
        params = json.loads(ds.attrs["iqx_params"])
        assert isinstance(params, dict)
    # the data range actually used is recorded, not the "auto" request
    assert json.loads(ssim(ref, test).attrs["iqx_params"])["data_range"] == 255.0


def test_flat_summary_and_headline_accept_string_band_labels():
    ref, test = _pair()
    ds = ssim(ref, test)
    flat = summarize("ssim", ds)
    assert set(flat) == {"ssim", "ssim_band_red", "ssim_band_green", "ssim_band_nir"}
    assert flat["ssim"] == pytest.approx(float(ds["ssim"]))
    assert headline(ds, ("ssim", "ssim_band")).startswith("ssim 0.")
    assert "red" in headline(ds, ("ssim", "ssim_band"))
    # identical images: PSNR inf is kept, a NaN becomes None
    same = flat_summary(psnr(ref, ref), ("psnr",))
    assert same == {"psnr": float("inf")}
    lazy = summarize("ssim", ssim(ref.chunk({"y": 24}), test))  # computed on the way
    assert lazy == pytest.approx(flat, rel=1e-12)


@pytest.mark.parametrize(
    "func, cls",
    [(ssim, SSIMOptions), (ms_ssim, MSSSIMOptions), (iqx.metrics.ssim_map, SSIMMapOptions)],
)
def test_signature_keywords_are_the_options(func, cls):
    """The options are built from the call's arguments (``_call_options``): every option
    is a keyword of the public signature with the option's default, and vice versa."""
    import inspect

    params = inspect.signature(func).parameters
    keywords = {n for n, p in params.items() if p.kind is p.KEYWORD_ONLY} - {"mask"}
    assert keywords == set(cls.names())
    defaults = cls()
    for name in cls.names():
        if params[name].default is not None:
            assert params[name].default == getattr(defaults, name), name
