"""Sharpness on the real Inria band: two iqx trees and IQUAFLOW 1.0.1, alternating processes.

Each round starts one process per iqx tree (``PYTHONPATH=<tree>``), which compiles, then
times ``sharpness(band)`` ``--calls`` times (process CPU and wall; default threaded
scheduler, NumPy input), and one IQUAFLOW ``SharpnessMeasure`` run in its side venv
(``benchmarks.iquaflow_anchor``). Medians over rounds (of each process's median call).

Usage: ``python docs/scripts/sharpness_side_by_side.py BEFORE_TREE AFTER_TREE [--rounds 5]``
(for example a ``git worktree add /tmp/sharp_before <commit>`` and the working tree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from benchmarks.iquaflow_anchor import read_band
from iqx.metrics import sharpness
band = read_band()
res = sharpness(band)
cpu, wall = [], []
for _ in range(int(sys.argv[1])):
    p0, w0 = time.process_time(), time.perf_counter()
    sharpness(band)
    cpu.append(time.process_time() - p0)
    wall.append(time.perf_counter() - w0)
print(json.dumps([float(np.median(cpu)), float(np.median(wall)), len(res.edges)]))
"""


def _iqx(tree: str, calls: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(calls)],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=5)
    ap.add_argument("--no-iquaflow", action="store_true")
    a = ap.parse_args()
    # the repository root, so that ``benchmarks`` imports when run as a script from anywhere
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from benchmarks.iquaflow_anchor import iquaflow_seconds

    rows: dict[str, list] = {"before": [], "after": [], "iquaflow": []}
    for _ in range(a.rounds):
        rows["before"].append(_iqx(a.before, a.calls))
        rows["after"].append(_iqx(a.after, a.calls))
        if not a.no_iquaflow:
            rows["iquaflow"].extend(iquaflow_seconds("sharpness", 1))
    iq = float(np.median(rows["iquaflow"])) if rows["iquaflow"] else float("nan")
    for name in ("before", "after"):
        r = np.array(rows[name])
        cpu, wall = np.median(r[:, 0]), np.median(r[:, 1])
        print(
            f"{name:7s} CPU {cpu * 1e3:6.1f} ms  wall {wall * 1e3:6.1f} ms "
            f"(wall range {r[:, 1].min() * 1e3:.0f}-{r[:, 1].max() * 1e3:.0f})  "
            f"edges {int(r[0, 2])}  IQUAFLOW/iqx wall {iq / wall:6.1f}x"
        )
    print(f"IQUAFLOW 1.0.1 SharpnessMeasure wall {iq:.2f} s (median of {len(rows['iquaflow'])})")


if __name__ == "__main__":
    main()
