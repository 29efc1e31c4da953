"""Regenerate ``giqe_pybsm.json``: pyBSM's GIQE 3/4/5 on a grid of inputs (run once, by hand).

pyBSM pins ``numba<0.63`` and iqx's environment has a newer numba, so pyBSM lives in a side
venv that is never committed::

    python3 -m venv /work/pybsm-venv && /work/pybsm-venv/bin/pip install pybsm
    /work/pybsm-venv/bin/python tests/test_metrics/data/make_giqe_pybsm.py

The grid is stored as axes; the values are flat in ``itertools.product`` order of the axes
listed under each version's ``axes``. GSD is given to pyBSM in metres (it converts to inches
with 0.0254), elevation in radians (from the degrees stored here).
"""

from __future__ import annotations

import datetime
import itertools
import json
import math
from importlib.metadata import version
from pathlib import Path

from pybsm.metrics.functional import giqe3, giqe4, giqe5

AXES = {
    "rer": [0.08, 0.2, 0.35, 0.55, 0.8, 0.8999, 0.9, 1.05],
    "rer_2": [0.15, 0.35, 0.6, 0.95],
    "gsd_m": [0.05, 0.3, 0.52832, 1.0, 4.0],
    "snr": [2.0, 10.0, 50.0, 300.0],
    "eho": [0.9, 1.0, 1.35],
    "ng": [1.0, 2.5],
    "elev_deg": [25.0, 60.0, 90.0],
}
SPEC = {
    3: ("rer", "gsd_m", "eho", "ng", "snr"),
    4: ("rer", "gsd_m", "eho", "ng", "snr", "elev_deg"),
    5: ("rer", "rer_2", "gsd_m", "snr", "elev_deg"),
}


def value(ver: int, p: dict[str, float]) -> float:
    if ver == 3:
        return float(giqe3(rer=p["rer"], gsd=p["gsd_m"], eho=p["eho"], ng=p["ng"], snr=p["snr"]))
    elev = math.radians(p["elev_deg"])
    if ver == 4:
        kw = {k: p[k] for k in ("rer", "eho", "ng", "snr")}
        return float(giqe4(gsd=p["gsd_m"], elev_angle=elev, **kw)[0])
    return float(
        giqe5(rer_1=p["rer"], rer_2=p["rer_2"], gsd=p["gsd_m"], snr=p["snr"], elev_angle=elev)[0]
    )


def main() -> None:
    out = {
        "provenance": {
            "generator": "tests/test_metrics/data/make_giqe_pybsm.py",
            "command": "/work/pybsm-venv/bin/python tests/test_metrics/data/make_giqe_pybsm.py",
            "pybsm": version("pybsm"),
            "numpy": version("numpy"),
            "date": datetime.date.today().isoformat(),
            "functions": "pybsm.metrics.functional.giqe3, giqe4 (niirs), giqe5 (niirs)",
            "note": "pyBSM's GIQE 4 noise coefficient is 0.334 (the paper: 0.344)",
        },
        "axes": AXES,
        "versions": {},
    }
    for ver, axes in SPEC.items():
        values = [
            value(ver, dict(zip(axes, combo, strict=True)))
            for combo in itertools.product(*(AXES[a] for a in axes))
        ]
        out["versions"][str(ver)] = {"axes": list(axes), "niirs": values}
    path = Path(__file__).with_name("giqe_pybsm.json")
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(path, {v: len(d["niirs"]) for v, d in out["versions"].items()})


if __name__ == "__main__":
    main()
