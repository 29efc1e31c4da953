"""SSIM / PSNR on a 4096² float32 pair: iqx (chunked, numba) vs scikit-image, same window.

Run once by hand: ``python -m benchmarks.bench_reference`` prints, for each window, the best
of 3 iqx runs (lazy 1024² chunks, and NumPy input with iqx's default chunking) against one
skimage run in the same process, and the speed-up. The issue's target is >= 15x.
"""

from __future__ import annotations

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

    def time_iqx_psnr(self) -> None:
        from iqx.metrics import psnr

        psnr(self.lazy_ref, self.lazy_test, data_range=1.0).compute()

    def time_skimage_psnr(self) -> None:
        from skimage.metrics import peak_signal_noise_ratio

        peak_signal_noise_ratio(self.ref, self.test, data_range=1.0)


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
    main()
