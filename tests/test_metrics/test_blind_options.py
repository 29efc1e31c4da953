"""Typed options of the blind metrics (sharpness, SNR): defaults, checks, registered halos."""

from __future__ import annotations

import dataclasses

import pytest

from iqx.errors import InvalidParameterError
from iqx.metrics._sharpness_params import DEFAULTS, SharpnessOptions, sharpness_halo
from iqx.metrics._snr_options import METHODS, OPTIONS
from iqx.registry import metrics

#: the SNR halos as the method definitions give them (block - 1; ha adds the LBP radius)
SNR_HALOS = {"blocks": 5, "pca": 6, "immerkaer": 1, "hb": 2, "ha": 5}


@pytest.mark.parametrize("method", ["iso", "logistic"])
def test_registered_sharpness_halo_accepts_every_method(method):
    """The registered halo takes ``method`` (it raised for "logistic" before)."""
    halo = metrics.get("sharpness").halo
    assert halo(method=method) == SharpnessOptions(method=method).halo == sharpness_halo() == 65
    # cell + candidate reach of a 128-px segment + 4
    assert halo(method=method, max_length=128) == 97
    assert halo(method=method, mask=None, compute=False) == 65


def test_registered_sharpness_halo_rejects_unknown_names():
    with pytest.raises(InvalidParameterError, match="unknown option"):
        metrics.get("sharpness").halo(max_lenght=128)
    with pytest.raises(InvalidParameterError):
        metrics.get("sharpness").halo(method="sfr")


@pytest.mark.parametrize("method", METHODS)
def test_registered_snr_halo_for_every_method(method):
    halo = metrics.get("snr").halo
    assert halo(method=method) == SNR_HALOS[method] == OPTIONS[method]().halo
    assert halo(method=method, mask=None, curve=False) == SNR_HALOS[method]
    if method != "immerkaer":
        assert halo(method=method, block_size=4) == SNR_HALOS[method] - OPTIONS[method]().size + 4


def test_snr_halo_rejects_other_methods_options():
    with pytest.raises(InvalidParameterError, match="unknown parameter"):
        metrics.get("snr").halo(method="immerkaer", block_size=4)
    with pytest.raises(InvalidParameterError):
        metrics.get("snr").halo(method="median")


def test_sharpness_options_are_frozen_checked_and_derive_their_defaults():
    opts = SharpnessOptions(oversampling=(2, 4, 4, 8))
    assert opts.oversampling == (8, 4, 2)  # de-duplicated, finest first
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.cell = 8  # type: ignore[misc]
    assert dict(DEFAULTS) == {
        k: v for k, v in SharpnessOptions().as_dict().items() if k != "method"
    }
    assert opts.patch_size == 2 * (opts.halfwidth + 3) + 1
    for bad in ({"halfwidth": 3}, {"plateau": 5.0}, {"min_length": 100}, {"cell": 0},
                {"oversampling": (9,)}, {"max_tail": 2.0}, {"direction_tolerance": 45.0}):  # fmt: skip
        with pytest.raises(InvalidParameterError):
            SharpnessOptions(**bad)
    assert SharpnessOptions().mlflow_params()["sharpness.cell"] == "16"


def test_snr_options_resolve_the_stride_and_check_block_size():
    assert OPTIONS["hb"]().stride == 3 and OPTIONS["ha"](block_size=7).stride == 7
    with pytest.raises(InvalidParameterError, match="block_size >= 3"):
        OPTIONS["blocks"](block_size=2)
    with pytest.raises(InvalidParameterError):
        OPTIONS["blocks"](quantile=1.0)
    described = OPTIONS["blocks"].describe()
    assert described["block_size"]["unit"] == "px" and described["quantile"]["range"]
