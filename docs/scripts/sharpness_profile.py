"""Per-stage CPU profile of :func:`iqx.metrics.sharpness` on one band (issue 10, item 4).

Runs the stages of one block exactly as ``iqx.metrics._sharpness_blocks._chunk`` does (one
block = the whole band, no halo) and prints the thread CPU time of each (min over
``--repeat`` runs), the candidate counts and the final status of the measured candidates,
then the whole call (``sharpness(band)``, CPU of the process, both cores).

Usage: ``python docs/scripts/sharpness_profile.py [PATH | --synthetic N] [--repeat 5]``
(default: band 1 of the Inria tile bellingham9+1024.tif).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

INRIA = (
    "/work/shared/data/iquaflow_fixtures/test_datasets/ds_inria_dataset/images/bellingham9+1024.tif"
)


def _stages(band: np.ndarray) -> tuple[dict, dict]:
    from iqx.kernels.edges import cell_seeds, seed_score, sobel, trace_candidates
    from iqx.kernels.esf import STATUS, dft_tables, measure_candidates
    from iqx.metrics._sharpness_blocks import _COS_NMS, _pixels
    from iqx.metrics._sharpness_params import FREQS, SharpnessOptions

    p = SharpnessOptions()
    t = {}
    c0 = time.thread_time()
    img, valid = _pixels(band, None)
    gy, gx = sobel(img, valid)
    c1 = time.thread_time()
    score = seed_score(gy, gx, p.coherence_radius)
    c2 = time.thread_time()
    ny, nx = img.shape
    seeds = cell_seeds(
        score, 0, 0, 0, ny, 0, nx, ny, nx, p.cell, p.seeds_per_cell, p.seed_separation
    )
    c3 = time.thread_time()
    cand = trace_candidates(
        gy, gx, seeds, p.max_length // 2, float(p.min_length),
        float(p.max_straightness), p.stop_ratio, p.max_turn, p.trim,
    )  # fmt: skip
    c4 = time.thread_time()
    straight = cand[cand[:, 9] == 0]
    ci = straight[:, 0].astype(np.int64) // p.cell
    cj = straight[:, 1].astype(np.int64) // p.cell
    group = ci * (nx // p.cell + 1) + cj
    order = np.lexsort((np.arange(len(straight)), -straight[:, 6], group))
    straight, group = straight[order], group[order]
    osr = np.asarray(p.oversampling, dtype=np.int64)
    tables = dft_tables(osr, p.halfwidth, FREQS)
    c5 = time.thread_time()
    res, _, _ = measure_candidates(
        img, valid, gy, gx, straight, p.halfwidth, p.plateau, p.taper, osr, FREQS,
        p.min_snr, p.max_noise_ratio, p.max_plateau_slope, p.outlier_k,
        p.max_outlier_frac, p.max_tail, p.max_fit_rms, tables,
        group, _COS_NMS, float(p.halfwidth),
    )  # fmt: skip
    c6 = time.thread_time()
    t["copy+validity+sobel"] = c1 - c0
    t["seed score"] = c2 - c1
    t["cell seeds"] = c3 - c2
    t["tracing"] = c4 - c3
    t["measure (ESF/LSF/MTF)"] = c6 - c5
    st = res[:, 0].astype(int)
    counts = {
        "seeds": len(seeds),
        "straight": len(straight),
        "measured": int((st >= 0).sum()),
        "accepted": int((st == 0).sum()),
        "status": {STATUS.get(k, str(k)): v for k, v in sorted(Counter(st[st >= 0]).items())},
    }
    return t, counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path", nargs="?", default=INRIA)
    ap.add_argument("--synthetic", type=int, default=0, help="parcel scene of N x N px")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    if a.synthetic:
        from iqx.testing.edges import parcel_scene

        band = np.asarray(parcel_scene(a.synthetic, sigma=0.8, snr=60, seed=1))
        name = f"parcel_scene({a.synthetic}, sigma=0.8, snr=60, seed=1)"
    else:
        import rasterio

        with rasterio.open(a.path) as f:
            band = f.read(1)
        name = f"{a.path} band 1"
    from iqx.metrics import sharpness

    _stages(band[:256, :256])  # compile
    sharpness(band[:256, :256])
    best: dict = {}
    for _ in range(a.repeat):
        t, counts = _stages(band)
        for k, v in t.items():
            best[k] = min(best.get(k, np.inf), v)
    mpx = band.size / 1e6
    print(f"{name}: {band.shape}, {mpx:.2f} Mpx; thread CPU per stage (min of {a.repeat})")
    for k, v in best.items():
        print(f"  {k:24s} {v * 1e3:9.1f} ms")
    print(f"  {'sum of stages':24s} {sum(best.values()) * 1e3:9.1f} ms")
    print(f"  counts: {counts}")
    cpu, wall = [], []
    for _ in range(a.repeat):
        p0, w0 = time.process_time(), time.perf_counter()
        res = sharpness(band)
        cpu.append(time.process_time() - p0)
        wall.append(time.perf_counter() - w0)
    print(
        f"  sharpness(band): CPU {np.median(cpu):.3f} s ({np.median(cpu) / mpx:.3f} s/Mpx), "
        f"wall {np.median(wall):.3f} s (medians of {a.repeat}); {len(res.edges)} edges"
    )


if __name__ == "__main__":
    main()
