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
        # warm up outside the timed region with the timed path itself on 2x2 chunks of the
        # same array (same dtype, block layout, graph shape): numba compiles every
        # specialisation and dask/iqx finish their lazy imports, so that `asv run --quick`
        # (one sample, no warm-up) times the work, not the set-up
        c = chunk(1024)
        if method == "baseline_hb":
            iquaflow_style_hb(self.img[: 2 * c, : 2 * c])
        else:
            from iqx.metrics.snr import snr

            snr(self.lazy[: 2 * c, : 2 * c], method)

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
    The anchor ``peakmem_scene_sum`` generates and sums the same scene with plain dask.
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

    def peakmem_scene_sum(self, chunk_edge):
        """Anchor: the same generated scene reduced to a sum (what the chunks alone cost)."""
        import dask

        with dask.config.set(scheduler="threads", num_workers=2):
            self.scene.sum(dtype="uint64").compute()


def _main() -> None:  # pragma: no cover - a measuring script, not a test
    """``python -m benchmarks.bench_snr throughput|peakmem [--chunk N]`` (numbers in docs/snr.md).

    ``throughput``: best and median of 7 runs per method on the 4096² scene (1024² dask chunks,
    threaded scheduler, 2 workers). ``peakmem``: the default method on a 20000² uint16 scene
    generated per chunk; run it under ``/usr/bin/time -v`` and read "Maximum resident set
    size" (the script prints the RSS after imports and JIT for reference).
    """
    import argparse
    import resource
    import time

    import dask
    import dask.array as da

    from iqx.metrics.snr import snr

    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["throughput", "peakmem"])
    ap.add_argument("--chunk", type=int, default=2048)
    ap.add_argument("--methods", default="blocks,hb,immerkaer,pca")
    args = ap.parse_args()
    dask.config.set(scheduler="threads", num_workers=2)
    if args.what == "throughput":
        img = textured_uint16(4096, 4096, seed=0)
        lazy = da.from_array(img, chunks=1024)
        for method in args.methods.split(","):
            snr(da.from_array(img[:1024, :1024], chunks=512), method)  # jit
            times = []
            for _ in range(7):
                t0 = time.perf_counter()
                value = float(snr(lazy, method)["snr"][0])
                times.append(time.perf_counter() - t0)
            best, med = min(times), float(np.median(times))
            print(
                f"{method:10s} best {best:.3f} s ({img.nbytes / best / 1e6:.0f} MB/s)  "
                f"median {med:.3f} s ({img.nbytes / med / 1e6:.0f} MB/s)  snr {value:.4f}"
            )
        t0 = time.perf_counter()
        iquaflow_style_hb(img)
        print(f"baseline_hb {time.perf_counter() - t0:.3f} s")
        return
    snr(np.full((64, 64), 1000, np.uint16) + np.arange(64, dtype=np.uint16) % 7)  # jit
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rs = da.random.RandomState(0)
    scene = rs.normal(1000.0, 10.0, size=(20000, 20000), chunks=args.chunk).astype(np.uint16)
    t0 = time.perf_counter()
    value = float(snr(scene)["snr"][0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"20000² chunks {args.chunk}²: {time.perf_counter() - t0:.1f} s, snr {value:.3f} "
        f"(truth 99.96), RSS after imports+JIT {base:.0f} MB, peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    _main()


class HBRealBand:
    """IQUAFLOW-definition HB on the real 1024² Inria band, iqx vs IQUAFLOW 1.0.1 (side
    venv, ``benchmarks/iquaflow_anchor.py``; NaN when absent)."""

    def setup(self):
        from benchmarks.iquaflow_anchor import read_band
        from iqx.metrics.snr import snr

        self.band = read_band()
        if self.band is None:
            raise NotImplementedError("Inria fixture absent")
        snr(self.band, "hb")

    def time_hb_inria_band(self):
        from iqx.metrics.snr import snr

        snr(self.band, "hb")

    def track_iquaflow_hb_seconds(self):
        from benchmarks.iquaflow_anchor import iquaflow_seconds

        return float(np.median(iquaflow_seconds("hb", 5)))

    track_iquaflow_hb_seconds.unit = "seconds"
