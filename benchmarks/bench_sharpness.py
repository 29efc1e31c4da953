"""Edge-method sharpness: throughput on a parcel scene and peak memory on a lazy huge scene.

``Sharpness.time_sharpness_4096``: a 4096x4096 uint16 scene of Gaussian-blurred rotated
rectangles (``iqx.testing.edges.parcel_scene``, sigma 0.8 px, SNR 60), as a dask array in
1024-px chunks. The pair ``time_iqx_sharpness_crop`` / ``time_iquaflow_style_per_edge`` runs
iqx and the eager IQUAFLOW-style baseline (scikit-image Canny + probabilistic Hough +
per-edge scipy fits) on the *same* 512x512 crop of that scene. ``PeakMem.peakmem_sharpness_20000``
runs on a 20000x20000 scene generated lazily per chunk (memory bounded by the chunks), with
``peakmem_scene_sum`` (the same scene generated and summed) as its anchor.
"""

from __future__ import annotations

import warnings

import dask
import numpy as np

from benchmarks.common import chunk, size

# scipy warnings raised from this module create the registry lazily; create it up front so
# the module namespace does not change while the smoke test iterates over it
__warningregistry__: dict = {}


class Sharpness:
    """Throughput of :func:`iqx.metrics.sharpness`."""

    timeout = 600

    def setup(self):
        from iqx.metrics import sharpness
        from iqx.testing.edges import parcel_scene

        n = size(4096)
        c = chunk(1024)
        self.lazy = parcel_scene(n, sigma=0.8, snr=60, chunks=c, seed=1)
        # one crop for both sides of the comparison, cut from the timed scene
        m = size(512)
        self.crop = np.ascontiguousarray(np.asarray(self.lazy[..., :m, :m]))
        # warm up (numba compilation, lazy imports) outside the timed region, on the same
        # kinds of input as the timed calls: the crop, and 2x2 chunks of the lazy scene
        sharpness(self.crop)
        with dask.config.set(scheduler="threads"):
            sharpness(self.lazy[..., : 2 * c, : 2 * c])
        _iquaflow_style(self.crop[:128, :128])

    def time_sharpness_4096(self):
        from iqx.metrics import sharpness

        with dask.config.set(scheduler="threads"):
            sharpness(self.lazy)

    def time_iqx_sharpness_crop(self):
        """iqx on the crop the baseline uses (NumPy input, as the baseline's)."""
        from iqx.metrics import sharpness

        sharpness(self.crop)

    def time_iquaflow_style_per_edge(self):
        """The IQUAFLOW-style baseline on the same crop as ``time_iqx_sharpness_crop``."""
        _iquaflow_style(self.crop)


def _iquaflow_style(img: np.ndarray) -> int:
    """Reduced IQUAFLOW-style baseline: Canny + Hough + per-edge Python/scipy fitting."""
    from scipy import optimize
    from skimage.feature import canny
    from skimage.transform import probabilistic_hough_line

    f = img.astype(np.float64)
    q = np.nanquantile(f, 0.99)
    edges = canny(f, sigma=1, low_threshold=0.1 * q, high_threshold=0.25 * q)
    lines = probabilistic_hough_line(
        edges, threshold=15, line_length=5, line_gap=0, rng=42,
        theta=np.linspace(-np.pi / 2, np.pi / 2, 360, endpoint=False),
    )  # fmt: skip

    def logistic(x, a, b, c, d):
        with np.errstate(over="ignore"):
            return a / (1 + np.exp((x - b) / c)) + d

    n = 0
    p = 6
    for (x0, y0), (x1, y1) in lines:
        r, c = (y0 + y1) // 2, (x0 + x1) // 2
        if r < 2 * p or c < 2 * p or r > f.shape[0] - 2 * p or c > f.shape[1] - 2 * p:
            continue
        patch = f[r - 3 : r + 3, c - p : c + p + 1]
        esf = patch.mean(axis=0)
        x = np.arange(esf.size) - p
        try:
            with warnings.catch_warnings():  # keep the module dict unchanged (warning registry)
                warnings.simplefilter("ignore")
                optimize.curve_fit(
                    logistic, x, esf, p0=[np.median(esf), 0.5, -0.5, esf.min()], maxfev=2000
                )
        except (RuntimeError, ValueError):
            pass
        n += 1
    return n


class PeakMem:
    """Peak memory on a scene far larger than memory (generated lazily per chunk)."""

    timeout = 3600

    def setup(self):
        from iqx.testing.edges import parcel_scene

        self.lazy = parcel_scene(size(20000), sigma=0.8, snr=60, chunks=chunk(2048), seed=2)

    def peakmem_sharpness_20000(self):
        from iqx.metrics import sharpness

        with dask.config.set(scheduler="threads"):
            sharpness(self.lazy)

    def peakmem_scene_sum(self):
        """Anchor: the same lazily generated scene reduced to a sum (the chunks' own cost)."""
        with dask.config.set(scheduler="threads"):
            self.lazy.sum().compute()


class RealBand:
    """Sharpness on the real 1024² Inria band (bellingham9, band 1), iqx vs IQUAFLOW 1.0.1.

    ``track_iquaflow_seconds`` runs IQUAFLOW's ``SharpnessMeasure`` on the same band in its
    side venv (``benchmarks/iquaflow_anchor.py``; NaN when the venv is absent).
    """

    timeout = 1200
    params = (["threads", "synchronous"],)
    param_names = ("scheduler",)

    def setup(self, scheduler):
        from benchmarks.iquaflow_anchor import read_band
        from iqx.metrics import sharpness

        self.band = read_band()
        if self.band is None:
            raise NotImplementedError("Inria fixture absent")
        with dask.config.set(scheduler=scheduler):
            sharpness(self.band)  # JIT and imports outside the timing

    def time_sharpness_inria_band(self, scheduler):
        from iqx.metrics import sharpness

        with dask.config.set(scheduler=scheduler):
            sharpness(self.band)

    def track_iquaflow_seconds(self, scheduler):
        from benchmarks.iquaflow_anchor import iquaflow_seconds

        return float(np.median(iquaflow_seconds("sharpness", 1)))

    track_iquaflow_seconds.unit = "seconds"
