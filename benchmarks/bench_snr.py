"""asv: blind SNR throughput (iqx vs an eager IQUAFLOW-style NumPy baseline) and peak memory.

The baseline does what IQUAFLOW 1.0.1's HB does, vectorised: a float copy with NaN
nodata, ``view_as_windows`` block means/stds, exact-median selection, sigma-clip, median.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import sigmaclip
from skimage.util import view_as_windows

from benchmarks.common import cache_dir, chunk, size, textured_uint16


def iquaflow_style_hb(img: np.ndarray, p: int = 3) -> float:
    """Eager NumPy HB (IQUAFLOW definition) on one band."""
    med = np.median(img[img > 0])
    f = img.astype(float)
    f[img == 0] = np.nan
    w = view_as_windows(f, (p, p), step=p)
    m = np.rint(w.mean(axis=(2, 3)))
    s = w.std(axis=(2, 3), ddof=1)
    sel = s[m == med]
    sel = sel[np.isfinite(sel)]
    if sel.size == 0:
        return float("nan")
    return float(med / np.median(sigmaclip(sel, 4, 2).clipped))


class SNRThroughput:
    """SNR of a 4096² uint16 scene (smaller under IQX_BENCH_SMALL=1)."""

    params = (["blocks", "hb", "immerkaer", "baseline_hb"],)
    param_names = ("method",)

    def setup(self, method):
        n = size(4096)
        path = cache_dir() / f"snr_textured_{n}.npy"
        if not path.exists():
            np.save(path, textured_uint16(n, n, seed=0))
        self.img = np.load(path)
        import dask.array as da

        self.lazy = da.from_array(self.img, chunks=chunk(1024))
        from iqx.metrics.snr import snr

        snr(self.img[:256, :256], "blocks" if method == "baseline_hb" else method)  # jit

    def time_snr(self, method):
        if method == "baseline_hb":
            iquaflow_style_hb(self.img)
        else:
            from iqx.metrics.snr import snr

            snr(self.lazy, method)


class SNRPeakMemory:
    """Default SNR on a lazily generated 20000² uint16 scene: memory bounded by chunks.

    ``reduce_blocks`` walks the chunks row by row (about two rows of source chunks alive),
    so the peak depends on the chunk size and the scene width, not on the scene height.
    """

    params = ([2048, 1024],)
    param_names = ("chunk",)

    def setup(self, chunk_edge):
        import dask.array as da

        n = size(20000)
        rs = da.random.RandomState(0)
        scene = rs.normal(1000.0, 10.0, size=(n, n), chunks=chunk(chunk_edge))
        self.scene = scene.astype(np.uint16)

    def peakmem_snr_blocks(self, chunk_edge):
        import dask

        from iqx.metrics.snr import snr

        with dask.config.set(scheduler="threads", num_workers=2):
            snr(self.scene)
