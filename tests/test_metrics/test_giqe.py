"""The GIQE equations against an independent implementation (pyBSM) and the NIIRS 5 case."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from iqx.errors import InvalidParameterError
from iqx.metrics.giqe import (
    INCH,
    giqe,
    giqe3,
    giqe4,
    giqe5,
    giqe5_rer,
    metres_to_inches,
    projected_gsd,
)

FIXTURE = json.loads((Path(__file__).parent / "data" / "giqe_pybsm.json").read_text())


def _grid(version: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    spec = FIXTURE["versions"][version]
    axes = spec["axes"]
    combos = np.array(list(itertools.product(*(FIXTURE["axes"][a] for a in axes))))
    return {a: combos[:, i] for i, a in enumerate(axes)}, np.array(spec["niirs"])


def test_fixture_provenance():
    prov = FIXTURE["provenance"]
    assert prov["pybsm"] and prov["date"] and "make_giqe_pybsm.py" in prov["command"]


def test_giqe3_matches_pybsm():
    p, expected = _grid("3")
    got = giqe3(p["rer"], metres_to_inches(p["gsd_m"]), p["eho"], p["ng"], p["snr"])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)


def test_giqe4_matches_pybsm_with_its_noise_coefficient():
    p, expected = _grid("4")
    args = (p["rer"], metres_to_inches(p["gsd_m"]), p["eho"], p["ng"], p["snr"], p["elev_deg"])
    got = giqe4(*args, noise_coefficient=0.334)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # the published 0.344 differs from pyBSM by exactly 0.01 G/SNR
    published = giqe4(*args)
    np.testing.assert_allclose(expected - published, 0.01 * p["ng"] / p["snr"], atol=1e-9)


def test_giqe5_matches_pybsm():
    p, expected = _grid("5")
    got = giqe5(p["rer"], p["rer_2"], metres_to_inches(p["gsd_m"]), p["snr"], p["elev_deg"])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # symmetric in the two directions
    swapped = giqe5(p["rer_2"], p["rer"], metres_to_inches(p["gsd_m"]), p["snr"], p["elev_deg"])
    np.testing.assert_allclose(swapped, got, rtol=0, atol=1e-12)


def test_niirs5_case_of_the_giqe5_document():
    """NGA GIQE 5 (2015), Fig. 1: RER 0.35 both ways, GSD 20.8 in, SNR 50, nadir -> NIIRS 5."""
    value = giqe5(0.35, 0.35, 20.8, 50.0, 90.0)
    assert value == pytest.approx(5.0, abs=0.02)
    assert value == pytest.approx(5.015165370148328, abs=1e-12)  # pyBSM 0.16.1
    # the same through the dispatcher, the metre GSD and 0.52832 m
    assert giqe(5, rer_x=0.35, rer_y=0.35, gsd_in=0.52832 / INCH, snr=50.0) == pytest.approx(
        value, abs=1e-12
    )


def test_giqe4_branches_on_rer():
    lo = giqe4(0.8999, 10.0, 1.0, 1.0, 100.0)
    hi = giqe4(0.9, 10.0, 1.0, 1.0, 100.0)
    assert lo == pytest.approx(
        10.251 - 3.16 * 1 + 2.817 * np.log10(0.8999) - 0.656 - 0.00344, abs=1e-12
    )
    assert hi == pytest.approx(10.251 - 3.32 + 1.559 * np.log10(0.9) - 0.656 - 0.00344, abs=1e-12)


def test_helpers():
    assert giqe5_rer(0.4, 0.3) == pytest.approx((0.4 * 0.09) ** (1 / 3))
    assert projected_gsd(10.0, 90.0) == pytest.approx(10.0)
    assert projected_gsd(10.0, 30.0, 0.5) == pytest.approx(10.0 / np.sqrt(0.5))
    assert metres_to_inches(0.0254) == pytest.approx(1.0)
    assert isinstance(giqe3(0.5, 10.0), float)
    assert np.isinf(giqe5(0.5, 0.5, 10.0, np.inf)) is np.False_
    # SNR -> inf: the noise terms vanish
    assert giqe5(0.5, 0.5, 10.0) == pytest.approx(9.57 - 3.32 - 2 * np.log10(0.5) ** 4)


def test_unknown_version():
    with pytest.raises(InvalidParameterError, match="GIQE version"):
        giqe(6, rer_x=0.5, rer_y=0.5, gsd_in=10.0, snr=50.0)
