"""The sensor OTFs of ``iqx.kernels.otf`` equal pyBSM 0.16.1's on a frequency grid.

The expected values come from ``data/pybsm_otf.json``, generated once in the pyBSM side venv
by ``data/make_pybsm_otf_fixture.py`` (pyBSM's numba pin conflicts with iqx's; provenance in
the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from iqx.kernels import otf as K

DATA = json.loads((Path(__file__).parent / "data" / "pybsm_otf.json").read_text())
U = np.asarray(DATA["u"])
V = np.asarray(DATA["v"])


def _ours(name: str, p: dict) -> np.ndarray:
    if name == "circular_aperture":
        return K.circular_aperture_otf(U, V, p["lambda0"], p["D"], p["eta"])
    if name == "detector":
        return K.detector_otf(U, V, p["w_x"], p["w_y"], p["f"])
    if name == "jitter":
        return K.jitter_otf(U, V, p["s_x"], p["s_y"])
    if name == "defocus":
        return K.defocus_otf(U, V, p["w_x"], p["w_y"])
    if name == "turbulence":
        return K.turbulence_otf(U, V, p["lambda0"], p["D"], p["r0"], p["alpha"])
    if name == "polychromatic_aperture":
        return K.weighted_by_wavelength(
            p["wavelengths"],
            p["weights"],
            lambda lm: K.circular_aperture_otf(U, V, lm, p["D"], p["eta"]),
        )
    raise AssertionError(name)


@pytest.mark.parametrize("case", DATA["cases"], ids=lambda c: c["name"])
def test_otf_equals_pybsm(case):
    expected = np.asarray(case["otf"])
    got = _ours(case["name"], case["params"])
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) < 1e-6


def test_scalars_equal_pybsm():
    d = DATA["scalars"]["defocus_radius"]
    assert K.defocus_radius(d["D"], d["dz"], d["f"]) == pytest.approx(d["value"], rel=1e-12)
    c = DATA["scalars"]["coherence_diameter"]
    r0 = K.coherence_diameter_constant_cn2(c["lambda0"], c["cn2"], c["path_length"])
    assert r0 == pytest.approx(c["value"], rel=1e-6)


def test_psf_kernel_reproduces_otf():
    # a Gaussian OTF: its kernel is (almost) the sampled Gaussian, unit sum, symmetric
    s = 1.5
    kernel, radius = K.psf_kernel(
        lambda fy, fx: np.exp(-2 * np.pi**2 * s**2 * (fy**2 + fx**2)), tol=1e-4
    )
    assert kernel.shape == (2 * radius + 1,) * 2
    assert kernel.sum() == pytest.approx(1.0)
    assert 6 <= radius <= 12
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-15)
    x = np.arange(-radius, radius + 1)
    g = np.exp(-(x**2) / (2 * s**2))
    g /= g.sum()
    np.testing.assert_allclose(kernel, np.outer(g, g), atol=2e-5)
