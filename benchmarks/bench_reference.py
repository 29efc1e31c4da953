"""SSIM / PSNR on a 4096² float32 pair: iqx (chunked, numba) vs scikit-image, same window.

Run once by hand: ``python -m benchmarks.bench_reference`` prints, for each window, the best
of 3 iqx runs (lazy 1024² chunks, and NumPy input with iqx's default chunking) against one
skimage run in the same process, and the speed-up. The issue's target is >= 15x.

``python -m benchmarks.bench_reference errors`` prints best-of-5 times of the single-pass
error metrics: PSNR on the 4096² pair against skimage's (target: not slower), and MSE,
ERGAS and SAM on a 4-band 2048² float32 pair (dask 1024² chunks and NumPy input).
"""

from __future__ import annotations

import sys
import time

import dask.array as da
import numpy as np

from benchmarks.common import chunk, size

GAUSS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


def _pair(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    ref = rng.random((n, n), dtype=np.float32)
    test = ref + 0.1 * rng.standard_normal((n, n), dtype=np.float32)
    return ref, test


class SSIM:
    """iqx.metrics.ssim vs skimage.metrics.structural_similarity (same window)."""

    params = ("gaussian", "uniform")
    param_names = ("window",)
    timeout = 300

    def setup(self, window: str) -> None:
        from iqx.metrics import ssim

        n = size(4096)
        self.ref, self.test = _pair(n)
        c = chunk(1024)
        self.lazy_ref = da.from_array(self.ref, chunks=c)
        self.lazy_test = da.from_array(self.test, chunks=c)
        holes = self.test.copy()
        holes[::97, ::89] = np.nan
        self.lazy_holes = da.from_array(holes, chunks=c)
        ssim(self.ref[:64, :64], self.test[:64, :64], data_range=1.0, window=window)  # JIT
        ssim(self.ref[:64, :64], holes[:64, :64], data_range=1.0, window=window)
        # the lazy path too, on 2x2 chunks of the same arrays (not timed)
        w = slice(0, 2 * c)
        ssim(self.lazy_ref[w, w], self.lazy_test[w, w], data_range=1.0, window=window).compute()
        ssim(self.lazy_ref[w, w], self.lazy_holes[w, w], data_range=1.0, window=window).compute()

    def time_iqx_ssim(self, window: str) -> None:
        from iqx.metrics import ssim

        ssim(self.lazy_ref, self.lazy_test, data_range=1.0, window=window).compute()

    def time_skimage_ssim(self, window: str) -> None:
        from skimage.metrics import structural_similarity

        kw = GAUSS if window == "gaussian" else {}
        structural_similarity(self.ref, self.test, data_range=1.0, **kw)

    def time_iqx_ssim_numpy(self, window: str) -> None:
        from iqx.metrics import ssim

        ssim(self.ref, self.test, data_range=1.0, window=window)

    def time_iqx_ssim_nodata(self, window: str) -> None:
        """Masked SSIM: NaN holes in the test image (every chunk has some)."""
        from iqx.metrics import ssim

        ssim(self.lazy_ref, self.lazy_holes, data_range=1.0, window=window).compute()

    def peakmem_iqx_ssim(self, window: str) -> None:
        self.time_iqx_ssim(window)


class PSNR:
    """iqx.metrics.psnr (lazy, chunked) vs skimage.metrics.peak_signal_noise_ratio."""

    def setup(self) -> None:
        n = size(4096)
        self.ref, self.test = _pair(n)
        c = chunk(1024)
        self.lazy_ref = da.from_array(self.ref, chunks=c)
        self.lazy_test = da.from_array(self.test, chunks=c)
        # warm up both iqx paths and skimage's imports on 2x2 chunks (not timed)
        from skimage.metrics import peak_signal_noise_ratio

        from iqx.metrics import psnr

        w = slice(0, 2 * c)
        psnr(self.lazy_ref[w, w], self.lazy_test[w, w], data_range=1.0).compute()
        psnr(self.ref[w, w], self.test[w, w], data_range=1.0)
        peak_signal_noise_ratio(self.ref[w, w], self.test[w, w], data_range=1.0)

    def time_iqx_psnr(self) -> None:
        from iqx.metrics import psnr

        psnr(self.lazy_ref, self.lazy_test, data_range=1.0).compute()

    def time_skimage_psnr(self) -> None:
        from skimage.metrics import peak_signal_noise_ratio

        peak_signal_noise_ratio(self.ref, self.test, data_range=1.0)

    def time_iqx_psnr_numpy(self) -> None:
        from iqx.metrics import psnr

        psnr(self.ref, self.test, data_range=1.0)


def _bands_pair(n: int, nbands: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    ref = rng.uniform(10, 20, (nbands, n, n)).astype(np.float32)
    test = (ref * (1 + 0.05 * rng.standard_normal(ref.shape))).astype(np.float32)
    return ref, test


#: keyword arguments of the error metrics timed on the 4-band pair
ERROR_METRICS = {"mse": {}, "ergas": {"ratio": 0.25}, "sam": {}}


class ErrorMetrics:
    """iqx mse / ergas / sam on a 4-band 2048² float32 pair (single-pass block sums).

    ``time_numpy_formula`` is the anchor: the same metric as a plain NumPy expression.
    """

    params = tuple(ERROR_METRICS)
    param_names = ("metric",)

    def setup(self, metric: str) -> None:
        import iqx.metrics

        self.ref, self.test = _bands_pair(size(2048))
        c = chunk(1024)
        self.lazy_ref = da.from_array(self.ref, chunks=(-1, c, c))
        self.lazy_test = da.from_array(self.test, chunks=(-1, c, c))
        self.func = getattr(iqx.metrics, metric)
        self.kw = ERROR_METRICS[metric]
        self.func(self.ref[:, :64, :64], self.test[:, :64, :64], **self.kw)  # JIT
        w = slice(0, 2 * c)
        self.func(self.lazy_ref[:, w, w], self.lazy_test[:, w, w], **self.kw).compute()
        _numpy_error(metric, self.ref[:, :64, :64], self.test[:, :64, :64])

    def time_iqx(self, metric: str) -> None:
        self.func(self.lazy_ref, self.lazy_test, **self.kw).compute()

    def time_iqx_numpy(self, metric: str) -> None:
        self.func(self.ref, self.test, **self.kw)

    def time_numpy_formula(self, metric: str) -> None:
        """Anchor: the textbook NumPy expression on the same arrays (float64, no nodata)."""
        _numpy_error(metric, self.ref, self.test)


def _numpy_error(metric: str, ref: np.ndarray, test: np.ndarray) -> float:
    """MSE, ERGAS (ratio 0.25) or SAM (mean angle, radians) written plainly in NumPy."""
    r, t = ref.astype(np.float64), test.astype(np.float64)
    if metric == "mse":
        return float(np.mean((r - t) ** 2))
    if metric == "ergas":
        rmse = np.sqrt(np.mean((r - t) ** 2, axis=(1, 2)))
        return float(100 * 0.25 * np.sqrt(np.mean((rmse / r.mean(axis=(1, 2))) ** 2)))
    dot = np.sum(r * t, axis=0)
    norm = np.sqrt(np.sum(r * r, axis=0) * np.sum(t * t, axis=0))
    return float(np.mean(np.arccos(np.clip(dot / norm, -1, 1))))


def main_errors(repeat: int = 5) -> None:  # pragma: no cover - manual measurement
    """Best of ``repeat`` runs: PSNR vs skimage (4096²), then mse/ergas/sam (4 x 2048²)."""
    from skimage.metrics import peak_signal_noise_ratio

    import iqx.metrics
    from iqx.metrics import psnr

    n = size(4096)
    ref, test = _pair(n)
    lr, lt = da.from_array(ref, chunks=chunk(1024)), da.from_array(test, chunks=chunk(1024))
    psnr(lr, lt, data_range=1.0).compute()  # JIT, imports
    psnr(ref, test, data_range=1.0)
    sk = min(_timed(lambda: peak_signal_noise_ratio(ref, test, data_range=1.0)) for _ in range(5))
    lazy = min(_timed(lambda: psnr(lr, lt, data_range=1.0).compute()) for _ in range(repeat))
    eager = min(_timed(lambda: psnr(ref, test, data_range=1.0)) for _ in range(repeat))
    print(
        f"psnr {n}² float32: skimage {1e3 * sk:.1f} ms; iqx dask 1024² chunks "
        f"{1e3 * lazy:.1f} ms (x{sk / lazy:.2f}), NumPy input {1e3 * eager:.1f} ms "
        f"(x{sk / eager:.2f})"
    )
    m = size(2048)
    r4, t4 = _bands_pair(m)
    c = chunk(1024)
    l4r, l4t = da.from_array(r4, chunks=(-1, c, c)), da.from_array(t4, chunks=(-1, c, c))
    for name, kw in ERROR_METRICS.items():
        func = getattr(iqx.metrics, name)
        func(l4r, l4t, **kw).compute()
        lazy = min(_timed(lambda f=func, kw=kw: f(l4r, l4t, **kw).compute()) for _ in range(repeat))
        eager = min(_timed(lambda f=func, kw=kw: f(r4, t4, **kw)) for _ in range(repeat))
        print(
            f"{name} 4 x {m}² float32: iqx dask 1024² chunks {1e3 * lazy:.1f} ms, "
            f"NumPy input {1e3 * eager:.1f} ms"
        )


def main() -> None:  # pragma: no cover - manual measurement
    from skimage.metrics import structural_similarity

    from iqx.metrics import ssim

    n = size(4096)
    ref, test = _pair(n)
    lr, lt = da.from_array(ref, chunks=chunk(1024)), da.from_array(test, chunks=chunk(1024))
    for window in ("gaussian", "uniform"):
        ssim(ref[:64, :64], test[:64, :64], data_range=1.0, window=window)  # JIT
        lazy = min(
            _timed(lambda w=window: ssim(lr, lt, data_range=1.0, window=w).compute())
            for _ in range(3)
        )
        eager = min(
            _timed(lambda w=window: ssim(ref, test, data_range=1.0, window=w)) for _ in range(3)
        )
        kw = GAUSS if window == "gaussian" else {}
        sk = _timed(lambda kw=kw: structural_similarity(ref, test, data_range=1.0, **kw))
        v = float(ssim(lr, lt, data_range=1.0, window=window)["ssim"])
        s = structural_similarity(
            ref.astype(np.float64), test.astype(np.float64), data_range=1.0, **kw
        )
        print(
            f"{window}: skimage {sk:.3f} s; iqx dask 1024² chunks {lazy:.3f} s (x{sk / lazy:.1f}), "
            f"NumPy input {eager:.3f} s (x{sk / eager:.1f}); ssim {v:.8f} vs {s:.8f}"
        )


def _timed(func) -> float:  # pragma: no cover
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


if __name__ == "__main__":  # pragma: no cover
    main_errors() if sys.argv[1:] == ["errors"] else main()
