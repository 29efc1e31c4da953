"""Accuracy sweep of iqx.metrics.sharpness on synthetic slanted edges (docs/sharpness.md).

Run: ``.venv/bin/python docs/scripts/sharpness_sweep.py`` (about 2 minutes on 2 cores).
For each (sampling, sigma, SNR) and angles 2-40 degrees, 4 seeds per case, one 256-px
image with one edge (length ~234 px); errors against ``iqx.testing.edges.edge_truth``.
"""

from __future__ import annotations

import numpy as np

from iqx.metrics.sharpness import sharpness
from iqx.testing.edges import edge_truth, slanted_edge

ANGLES = [2.0, 5.0, 9.0, 14.0, 19.0, 26.57, 33.0, 40.0]
SIGMAS = [0.4, 0.7, 1.0, 1.5, 2.0]
SNRS = [None, 200, 50, 30]
SEEDS = 4


def main() -> None:
    print(
        "| sampling | SNR | sigma | RER err mean±sd (max) | FWHM rel err mean±sd (max) "
        "| MTF@Nyq err mean±sd (max) | MTF50 rel err mean±sd (max) | n |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for sampling in ("point", "area"):
        for snr in SNRS:
            for sigma in SIGMAS:
                errs = []
                for angle in ANGLES:
                    t = edge_truth(sigma, sampling=sampling, angle=angle)
                    for seed in range(SEEDS if snr else 1):
                        img = slanted_edge(
                            256, angle=angle, sigma=sigma, snr=snr, sampling=sampling, seed=seed
                        )
                        e = sharpness(img, max_length=240, halfwidth=10).edges
                        if not len(e):
                            continue
                        m = e[["rer", "fwhm", "mtf_nyquist", "mtf50"]].median()
                        errs.append(
                            [
                                m.rer - t.rer,
                                m.fwhm / t.fwhm - 1,
                                m.mtf_nyquist - t.mtf_nyquist,
                                m.mtf50 / t.mtf50 - 1,
                            ]
                        )
                a = np.array(errs)
                cells = []
                for i, pct in enumerate([False, True, False, True]):
                    k = 100.0 if pct else 1.0
                    cells.append(
                        f"{k * a[:, i].mean():+.{2 if pct else 4}f}±{k * a[:, i].std():.{2 if pct else 4}f} "
                        f"({k * np.abs(a[:, i]).max():.{2 if pct else 4}f})"
                    )
                print(
                    f"| {sampling} | {snr or 'inf'} | {sigma} | "
                    + " | ".join(cells)
                    + f" | {len(a)} |"
                )


if __name__ == "__main__":
    main()
