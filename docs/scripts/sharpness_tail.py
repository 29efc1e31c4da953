"""MTF50 tail on independent slanted edges with the default parameters (docs/sharpness.md).

Run: ``.venv/bin/python docs/scripts/sharpness_tail.py [seeds] [size] [median|edges]``.
sigma 0.6-1.6 px, angles 4-12 deg, point and area sampling, SNR 100, one ``size``-px image
per case (default 128, ``max_length = size - 16``, default ``halfwidth`` 5); ``median``: the
median over the segments of each image, ``edges``: every accepted segment (default
``max_length``). Errors against ``iqx.testing.edges.edge_truth``.
"""

from __future__ import annotations

import sys

import numpy as np

from iqx.metrics.sharpness import sharpness
from iqx.testing.edges import edge_truth, slanted_edge

SIGMAS = [0.6, 0.8, 1.0, 1.2, 1.4, 1.6]
ANGLES = [4.0, 6.0, 8.0, 10.0, 12.0]


def main() -> None:
    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    mode = sys.argv[3] if len(sys.argv) > 3 else "median"
    kw = {"max_length": n - 16} if mode == "median" else {}
    rows = []
    for sampling in ("point", "area"):
        for s in SIGMAS:
            for a in ANGLES:
                t = edge_truth(s, sampling=sampling, angle=a)
                for seed in range(seeds):
                    img = slanted_edge(
                        n, angle=a, sigma=s, snr=100, sampling=sampling, seed=1000 + seed
                    )
                    e = sharpness(img, **kw).edges
                    vals = [e.mtf50.median()] if mode == "median" else list(e.mtf50)
                    rows += [(sampling, s, a, seed, v / t.mtf50 - 1) for v in vals]
    r = np.array([x[4] for x in rows])
    print(
        f"{mode}, {n} px: {len(r)} values, MTF50 relative error mean {100 * np.mean(r):+.2f} % "
        f"sd {100 * np.std(r):.2f} % max |{100 * np.max(np.abs(r)):.2f}| %"
    )
    for s in SIGMAS:
        rr = np.array([x[4] for x in rows if x[1] == s])
        print(f"  sigma {s}: mean {100 * rr.mean():+.2f} % max |{100 * np.abs(rr).max():.2f}| %")


if __name__ == "__main__":
    main()
