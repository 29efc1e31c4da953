"""IQUAFLOW 1.0.1 as a timed anchor, run in its own venv (``$IQX_IQUAFLOW_PYTHON`` or
``/work/iquaflow-venv/bin/python``) on the same real band iqx is timed on.

``python -m benchmarks.iquaflow_anchor`` prints iqx and IQUAFLOW side by side (medians of
several runs; the ratio is IQUAFLOW / iqx). asv ``track_`` benchmarks call
:func:`iquaflow_seconds`, which returns NaN when the side venv is absent.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np

INRIA = Path(
    os.environ.get(
        "IQX_INRIA_BAND",
        "/work/shared/data/iquaflow_fixtures/test_datasets/ds_inria_dataset/images/"
        "bellingham9+1024.tif",
    )
)
PYTHON = Path(os.environ.get("IQX_IQUAFLOW_PYTHON", "/work/iquaflow-venv/bin/python"))

_SCRIPT = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np, rasterio
from iquaflow.metrics.sharpness_metric import sharpness_function_from_array
from iquaflow.metrics.snr_metric import snr_function_from_array
what, path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
with rasterio.open(path) as f:
    band = f.read(1)
ts = []
for _ in range(reps):
    t = time.perf_counter()
    if what == "sharpness":
        sharpness_function_from_array(band[None])
    else:
        snr_function_from_array(band[None], method=what.upper())
    ts.append(time.perf_counter() - t)
print(json.dumps(ts))
"""


def read_band(path: Path = INRIA) -> np.ndarray | None:
    """First band of the real 1024² Inria tile, or None when the fixture is absent."""
    if not path.exists():
        return None
    import rasterio

    with rasterio.open(path) as f:
        return f.read(1)


def iquaflow_seconds(what: str, reps: int = 1) -> list[float]:
    """Wall times (s) of IQUAFLOW's ``sharpness``, ``hb`` or ``ha`` on the band; [NaN] if absent
    (and in the smoke run, ``IQX_BENCH_SMALL=1``)."""
    from benchmarks.common import SMALL

    if SMALL or not PYTHON.exists() or not INRIA.exists():
        return [math.nan]
    out = subprocess.run(
        [str(PYTHON), "-c", _SCRIPT, what, str(INRIA), str(reps)],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        return [math.nan]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _main() -> None:  # pragma: no cover - a measuring script
    import time
    import warnings

    warnings.simplefilter("ignore")
    import dask

    from iqx.metrics import sharpness
    from iqx.metrics.snr import snr

    band = read_band()
    sharpness(band)
    snr(band, "hb")

    def med(fn, n=9):
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        return float(np.median(ts)), min(ts)

    rows = {}
    rows["sharpness (threads)"] = med(lambda: sharpness(band))
    with dask.config.set(scheduler="synchronous"):
        rows["sharpness (1 thread)"] = med(lambda: sharpness(band))
    rows["snr hb"] = med(lambda: snr(band, "hb"))
    iq_s = iquaflow_seconds("sharpness", 3)
    iq_h = iquaflow_seconds("hb", 9)
    anchors = {"sharpness": float(np.median(iq_s)), "snr": float(np.median(iq_h))}
    for name, (m, best) in rows.items():
        a = anchors[name.split()[0]]
        print(
            f"{name:22s} iqx median {m * 1e3:8.1f} ms (best {best * 1e3:.1f})  "
            f"IQUAFLOW {a * 1e3:9.1f} ms  ratio {a / m:6.1f}x"
        )


if __name__ == "__main__":
    _main()
