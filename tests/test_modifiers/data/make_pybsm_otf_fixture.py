"""Generate ``pybsm_otf.json``: pyBSM's OTFs on a small frequency grid (run in the side venv).

pyBSM pins a numba that conflicts with iqx's, so it lives in a separate venv::

    /work/pybsm-venv/bin/python tests/test_modifiers/data/make_pybsm_otf_fixture.py

The JSON holds the inputs (grid and parameters), the outputs and a provenance note; the test
``tests/test_modifiers/test_sensor_otf.py`` recomputes them with ``iqx.kernels.otf``.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import numpy as np
import pybsm
from pybsm.otf import functional as F

# angular frequencies (cycles / rad) around the cutoffs of a 0.5 m aperture at 0.6 um
g = np.linspace(-1.2e6, 1.2e6, 13)
u, v = np.meshgrid(g, 0.7 * g)
u = np.ascontiguousarray(u)
v = np.ascontiguousarray(v)
cases = []


def add(name: str, params: dict, out: np.ndarray) -> None:
    cases.append({"name": name, "params": params, "otf": np.asarray(out).tolist()})


for eta in (0.0, 0.3, 0.45):
    p = {"lambda0": 0.6e-6, "D": 0.5, "eta": eta}
    add("circular_aperture", p, F.circular_aperture_OTF(u=u, v=v, **p))
p = {"w_x": 8e-6, "w_y": 10e-6, "f": 4.0}
add("detector", p, F.detector_OTF(u=u, v=v, **p))
p = {"s_x": 0.4e-6, "s_y": 0.25e-6}
add("jitter", p, F.jitter_OTF(u=u, v=v, **p))
w = F.image_domain_defocus_radii(D=0.5, dz=20e-6, f=4.0)
p = {"w_x": w, "w_y": w}
add("defocus", p, F.defocus_OTF(u=u, v=v, **p))
for alpha in (0.0, 0.5):
    p = {"lambda0": 0.6e-6, "D": 0.5, "r0": 0.08, "alpha": alpha}
    add("turbulence", p, F.turbulence_OTF(u=u, v=v, **p))
lam = np.array([0.5e-6, 0.6e-6, 0.7e-6])
wts = np.array([1.0, 2.0, 1.0])
add(
    "polychromatic_aperture",
    {"wavelengths": lam.tolist(), "weights": wts.tolist(), "D": 0.5, "eta": 0.3},
    F.weighted_by_wavelength(
        wavelengths=lam,
        weights=wts,
        my_function=lambda lm: F.circular_aperture_OTF(u=u, v=v, lambda0=lm, D=0.5, eta=0.3),
    ),
)
z = np.linspace(0.0, 5000.0, 200001)
r0 = F.coherence_diameter(lambda0=0.6e-6, z_path=z, cn2=np.full_like(z, 1e-16))
scalars = {
    "defocus_radius": {"D": 0.5, "dz": 20e-6, "f": 4.0, "value": w},
    "coherence_diameter": {"lambda0": 0.6e-6, "cn2": 1e-16, "path_length": 5000.0, "value": r0},
}

doc = {
    "provenance": {
        "pybsm": getattr(pybsm, "__version__", "0.16.1"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "command": "/work/pybsm-venv/bin/python tests/test_modifiers/data/"
        "make_pybsm_otf_fixture.py",
        "date": datetime.date.today().isoformat(),
        "note": "pyBSM's numba kernels run with fastmath; coherence_diameter by trapezoid on "
        "200001 samples (constant cn2).",
    },
    "u": u.tolist(),
    "v": v.tolist(),
    "cases": cases,
    "scalars": scalars,
}
out = Path(__file__).with_name("pybsm_otf.json")
out.write_text(json.dumps(doc, indent=None) + "\n")
print(f"wrote {out} ({len(cases)} OTF cases)")
