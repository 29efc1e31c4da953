"""Metrics over many small images (the MNIST case): ``compare`` and ``measure`` per image.

Inputs (cached in ``cache_dir()``): the 10 000 grey 28×28 PNGs of
:mod:`benchmarks.bench_small_images` (200 under ``IQX_BENCH_SMALL=1``) and their JPEG
copy (q50, written once by ``iqx.modify``). Measured back to back in one run:

- ``compare_datasets(ds, ds#jpeg_q50)`` (PSNR + SSIM) in this machine's worker processes
  (the pool warm) vs a plain loop over 2 processes of a pool started beforehand: Pillow
  reads of both images, skimage's ``peak_signal_noise_ratio`` and ``structural_similarity``
  (Wang 2004 Gaussian window, iqx's default). IQUAFLOW has no full-reference metric.
- ``measure_images`` (SNR + sharpness, ``iqx measure``'s default) of the first
  ``N_MEASURE`` images in the worker processes vs IQUAFLOW 1.0.1's ``snr_function_from_array``
  (HB) and ``sharpness_function_from_array`` per image in its side venv, one process (as
  its ``SNRMetric`` runs; both find nothing measurable in a 28×28 digit, as iqx reports).

``python -m benchmarks.bench_small_metrics --repeat 3`` prints medians and per-image costs
(docs/performance.md).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.bench_small_images import N_IMAGES, mnist_dataset
from benchmarks.common import (
    SMALL,
    Samples,
    _DatasetBench,
    driver_parser,
    iquaflow_python,
    started_pool,
)

#: quality of the compared copy (not the q70 copy other benchmarks write and discard)
COPY_QUALITY = 50

#: images measured (blind metrics cost more per image than a comparison)
N_MEASURE = 200 if SMALL else 2_000

_IQUAFLOW_MEASURE = r"""
import glob, json, os, sys, time, warnings
warnings.simplefilter("ignore")
import numpy as np
from PIL import Image
from iquaflow.metrics.sharpness_metric import sharpness_function_from_array
from iquaflow.metrics.snr_metric import snr_function_from_array
files = sorted(glob.glob(os.path.join(sys.argv[1], "images", "*.png")))[: int(sys.argv[2])]
t0 = time.perf_counter()
for f in files:
    img = np.asarray(Image.open(f))[None].astype(np.float64)
    snr_function_from_array(img, method="HB")
    sharpness_function_from_array(img)
print(json.dumps({"measure_s": time.perf_counter() - t0}))
"""


def jpeg_copy() -> Path:
    """The JPEG q50 copy of the digits (``iqx.modify`` returns the existing one)."""
    import iqx

    return Path(iqx.modify(mnist_dataset(), f"jpeg:quality={COPY_QUALITY}").data_path)


def iqx_compare_seconds(ds: Path, test: Path, scheduler: str = "processes") -> float:
    """``compare_datasets(ds, test)`` (PSNR + SSIM) seconds in this process."""
    from iqx.datasets.compare import compare_datasets

    t0 = time.perf_counter()
    frame = compare_datasets(ds, test, metrics=["psnr", "ssim"], scheduler=scheduler)
    assert len(frame) == N_IMAGES
    return time.perf_counter() - t0


def _plain_pairs(pairs: list[tuple[str, str]]) -> float:
    from PIL import Image
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    total = 0.0
    for ref_path, test_path in pairs:
        r, t = np.asarray(Image.open(ref_path)), np.asarray(Image.open(test_path))
        total += peak_signal_noise_ratio(r, t, data_range=255)
        total += structural_similarity(
            r, t, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
        )
    return total


def _warm(_: int) -> int:
    import skimage.metrics  # noqa: F401
    from PIL import Image  # noqa: F401

    return 0


def plain_compare_seconds(ds: Path, test: Path, pool: ProcessPoolExecutor) -> float:
    """Pillow reads + skimage PSNR and SSIM of every pair, in batches of 256 on the pool."""
    names = sorted(p.name for p in (ds / "images").iterdir())
    pairs = [(str(ds / "images" / n), str(test / "images" / n)) for n in names]
    batches = [pairs[k : k + 256] for k in range(0, len(pairs), 256)]
    t0 = time.perf_counter()
    list(pool.map(_plain_pairs, batches))
    return time.perf_counter() - t0


def iqx_measure_seconds(ds: Path) -> float:
    """``measure_images`` (SNR + sharpness) of the first ``N_MEASURE`` images, seconds."""
    from iqx.datasets import open_dataset
    from iqx.datasets.measure import measure_images

    files = open_dataset(ds).image_files[:N_MEASURE]
    t0 = time.perf_counter()
    list(measure_images(files, ["snr", "sharpness"]))
    return time.perf_counter() - t0


def iquaflow_measure_seconds(ds: Path) -> float:
    """IQUAFLOW's HB SNR + sharpness of the same images in its side venv (NaN when absent)."""
    python = None if SMALL else iquaflow_python()
    if python is None:
        return math.nan
    proc = subprocess.run(
        [python, "-c", _IQUAFLOW_MEASURE, str(ds), str(N_MEASURE)],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["measure_s"])


class SmallImagesCompare(_DatasetBench):
    """PSNR + SSIM of 10 000 28×28 pairs: iqx in worker processes vs a plain skimage loop."""

    repeat = 3
    dataset = staticmethod(mnist_dataset)

    def setup(self):
        super().setup()
        self.test = jpeg_copy()
        self.pool = started_pool(_warm)
        iqx_compare_seconds(self.ds, self.test)  # the pool starts, kernels load

    def teardown(self):
        self.pool.shutdown()

    def time_iqx_compare_processes(self):
        iqx_compare_seconds(self.ds, self.test)

    def time_plain_skimage_loop_2_processes(self):
        plain_compare_seconds(self.ds, self.test, self.pool)

    def track_plain_over_iqx(self):
        """Plain skimage loop seconds / iqx seconds (same run; > 1: iqx is faster)."""
        plain = plain_compare_seconds(self.ds, self.test, self.pool)
        return plain / iqx_compare_seconds(self.ds, self.test)

    track_plain_over_iqx.unit = "ratio"


class SmallImagesMeasure(_DatasetBench):
    """SNR + sharpness of 2 000 28×28 images: iqx (worker processes) vs IQUAFLOW."""

    repeat = 3
    dataset = staticmethod(mnist_dataset)

    def setup(self):
        super().setup()
        iqx_measure_seconds(self.ds)  # the pool starts, kernels load

    def time_iqx_measure(self):
        iqx_measure_seconds(self.ds)

    def track_speedup_vs_iquaflow(self):
        """IQUAFLOW seconds / iqx seconds, same images, same run (NaN without its venv)."""
        return iquaflow_measure_seconds(self.ds) / iqx_measure_seconds(self.ds)

    track_speedup_vs_iquaflow.unit = "ratio"


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual measurement
    """Interleaved repeats; medians, per-image microseconds and ratios as JSON."""
    args = driver_parser(__doc__, repeat=3).parse_args(argv)
    ds, test = mnist_dataset(), jpeg_copy()
    s = Samples()
    with started_pool(_warm) as pool:
        iqx_compare_seconds(ds, test)
        iqx_measure_seconds(ds)
        for _ in range(args.repeat):
            s.add("iqx_compare_processes_s", iqx_compare_seconds(ds, test))
            s.add("iqx_compare_threads_s", iqx_compare_seconds(ds, test, "threads"))
            s.add("plain_compare_2proc_s", plain_compare_seconds(ds, test, pool))
            s.ratio("plain_over_iqx_compare", "plain_compare_2proc_s", "iqx_compare_processes_s")
            s.add("iqx_measure_s", iqx_measure_seconds(ds))
            s.add("iquaflow_measure_s", iquaflow_measure_seconds(ds))
            s.ratio("measure_speedup_vs_iquaflow", "iquaflow_measure_s", "iqx_measure_s")
    medians = s.medians()
    per_image_us = {
        k.removesuffix("_s") + "_us_per_image": 1e6
        * v
        / (N_MEASURE if "measure" in k else N_IMAGES)
        for k, v in medians.items()
        if k.endswith("_s")
    }
    print(
        json.dumps(
            {"n_compare": N_IMAGES, "n_measure": N_MEASURE, "medians": medians,
             "per_image": per_image_us, "samples": s.values, "load": os.getloadavg()}
        )
    )  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
