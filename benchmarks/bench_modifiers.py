"""Modifiers: JPEG zarr->zarr vs raw libjpeg-turbo, blur vs SciPy, peak memory per modifier.

Sizes shrink under ``IQX_BENCH_SMALL=1`` (see ``benchmarks/common.py``).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import xarray as xr

from benchmarks.common import cache_dir, chunk, size

JPEG_N = size(16384)
BLUR_N = size(8192)
BIG_N = size(20000)
MEM_N = size(12000)
CHUNK = chunk(1024)


def _tile(block_id: tuple[int, ...] | None = None, shape=(1, CHUNK, CHUNK)) -> np.ndarray:
    """A smooth field with edges and noise (deterministic per tile), uint8."""
    b, i, j = block_id or (0, 0, 0)
    rng = np.random.default_rng([b, i, j])
    ny, nx = shape[1], shape[2]
    yy = np.arange(ny, dtype=np.float32)[:, None] + i * ny
    xx = np.arange(nx, dtype=np.float32)[None, :] + j * nx
    base = 128 + 60 * np.sin(yy / 37.0) * np.cos(xx / 23.0) + 40 * ((xx // 97 + yy // 61) % 2)
    noise = rng.standard_normal((ny, nx), dtype=np.float32) * 6
    return np.clip(base + noise, 0, 255).astype(np.uint8)[None]


def lazy_scene(n: int, c: int = CHUNK) -> xr.DataArray:
    """A lazy (band=1, n, n) uint8 scene generated chunk by chunk."""
    arr = da.map_blocks(
        lambda block_info=None: _tile(
            tuple(block_info[None]["chunk-location"]), block_info[None]["chunk-shape"]
        ),
        dtype=np.uint8,
        chunks=((1,), *(((c,) * (n // c) + ((n % c,) if n % c else ()),) * 2)),
        meta=np.array((), np.uint8),
    )
    return xr.DataArray(arr, dims=("band", "y", "x"), attrs={"bit_depth": 8})


def _zarr_scene(n: int, codec: str | None = None) -> Path:
    """The scene written with ``to_zarr``'s default codec, or ``codec`` (named in the
    cache file)."""
    import iqx
    from iqx.io.zarr import DEFAULT_CODEC

    codec = codec or DEFAULT_CODEC
    path = cache_dir() / f"modifiers_jpeg_{n}_{codec}.zarr"
    if not path.exists():
        iqx.to_zarr(lazy_scene(n), path, codec=codec)
    return path


def _raw_tiles(scene_path: Path) -> list[np.ndarray]:
    """The scene's chunks as 2-D NumPy arrays in memory (the raw anchor's input)."""
    import iqx

    scene = iqx.open_scene(scene_path)
    tiles = [t for t in scene.data.to_delayed().ravel()]
    return [a[0] for a in dask.compute(*tiles, scheduler="threads")]


def _raw_jpeg_seconds(arrays: list[np.ndarray], quality: int = 70) -> float:
    """Encode+decode every chunk with imagecodecs directly on 2 threads (pixels in memory)."""
    import imagecodecs

    def rt(a: np.ndarray) -> int:
        return imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(a, level=quality)).size

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(rt, arrays))
    return time.perf_counter() - t0


def _iqx_jpeg_seconds(
    scene_path: Path, out: Path, quality: int = 70, codec: str | None = None
) -> float:
    """Open, JPEG round trip per chunk, write with ``to_zarr``'s default codec (or
    ``codec``), on 2 threads."""
    import iqx
    from iqx.io.zarr import DEFAULT_CODEC
    from iqx.modifiers import jpeg

    t0 = time.perf_counter()
    scene = iqx.open_scene(scene_path)
    with dask.config.set(scheduler="threads", num_workers=2):
        iqx.to_zarr(jpeg(scene, quality=quality), out, overwrite=True, codec=codec or DEFAULT_CODEC)
    return time.perf_counter() - t0


class JPEGZarr:
    """JPEG q70 over a zarr scene written back to zarr, and raw libjpeg-turbo on the same pixels."""

    timeout = 900

    def setup(self):
        self.src = _zarr_scene(JPEG_N)
        self.tmp = Path(tempfile.mkdtemp(prefix="iqx-bench-"))
        # warm up outside the timed region (imports of zarr and imagecodecs, codec set-up,
        # dask's thread pool) on a small scene of the same kind
        warm = _zarr_scene(2 * CHUNK)
        _iqx_jpeg_seconds(warm, self.tmp / "warm.zarr")
        _raw_jpeg_seconds(_raw_tiles(warm))
        # the raw anchor's pixels are in memory before it is timed
        self.tiles = _raw_tiles(self.src)

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_jpeg_zarr_to_zarr(self):
        _iqx_jpeg_seconds(self.src, self.tmp / "out.zarr")

    def time_raw_libjpeg_roundtrip(self):
        _raw_jpeg_seconds(self.tiles)

    def track_jpeg_fraction_of_raw_libjpeg(self):
        """Raw libjpeg-turbo time / iqx zarr -> jpeg -> zarr time on the same pixels, same
        run (both on 2 threads; raw: encode+decode of the chunks already in memory; iqx:
        open, read, decode the store, JPEG round trip, encode and write the new store)."""
        raw = _raw_jpeg_seconds(self.tiles)
        ours = _iqx_jpeg_seconds(self.src, self.tmp / "out.zarr")
        return raw / ours

    track_jpeg_fraction_of_raw_libjpeg.unit = "fraction"


class Blur:
    """gaussian_blur (numba, chunked, 2 threads) vs scipy.ndimage.gaussian_filter."""

    params = [1.0, 3.0]  # noqa: RUF012
    param_names = ["sigma"]  # noqa: RUF012
    timeout = 600

    def setup(self, sigma):
        rng = np.random.default_rng(0)
        self.img = rng.random((1, BLUR_N, BLUR_N), dtype=np.float32)
        self.lazy = xr.DataArray(
            da.from_array(self.img, chunks=(1, 2048 if BLUR_N > 2048 else CHUNK, -1)),
            dims=("band", "y", "x"),
        )
        # warm up (numba compilation for this dtype/layout, lazy imports) on the first two
        # row-chunks of the same lazy scene, outside the timed region
        from scipy.ndimage import gaussian_filter

        from iqx.modifiers import gaussian_blur

        rows = 2 * self.lazy.chunks[1][0]
        with dask.config.set(scheduler="threads", num_workers=2):
            gaussian_blur(self.lazy[:, :rows], sigma=sigma).data.compute()
        gaussian_filter(self.img[:, :64, :64], (0, sigma, sigma), mode="reflect", truncate=4.0)

    def time_blur_iqx(self, sigma):
        from iqx.modifiers import gaussian_blur

        with dask.config.set(scheduler="threads", num_workers=2):
            gaussian_blur(self.lazy, sigma=sigma).data.compute()

    def time_blur_scipy(self, sigma):
        from scipy.ndimage import gaussian_filter

        gaussian_filter(self.img, (0, sigma, sigma), mode="reflect", truncate=4.0)


def _float_scene(n: int) -> xr.DataArray:
    """The lazy scene of :func:`lazy_scene` as float32 (cast per chunk, fused with the
    generator: no extra chunk is held)."""
    return lazy_scene(n).astype(np.float32)


class BlurPeakMem:
    """Blur of a lazily generated 20000² float32 scene (1.6 GB), reduced to a sum or written
    to zarr, against the same scene with no operation (summed / written).

    Its own class: asv's peak memory is the process's, set-up included, and ``Blur.setup``
    holds an 8192² float32 image. The peak includes the interpreter, the imports and the
    loaded numba kernels (~280-300 MB here): every case, anchors included, loads them in
    ``setup``, so ``blur - anchor`` is the memory the blur adds.
    """

    params = [1.0, 3.0]  # noqa: RUF012
    param_names = ["sigma"]  # noqa: RUF012
    timeout = 900

    def setup(self, sigma):
        import iqx
        from iqx.modifiers import gaussian_blur

        self.tmp = Path(tempfile.mkdtemp(prefix="iqx-bench-"))
        warm = _float_scene(2 * CHUNK)
        with dask.config.set(scheduler="threads", num_workers=2):
            iqx.to_zarr(gaussian_blur(warm, sigma=sigma), self.tmp / "warm.zarr")

    def teardown(self, sigma):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def peakmem_blur_20000_scene(self, sigma):
        """Blurred and reduced: memory ~ a row of chunks."""
        from iqx.modifiers import gaussian_blur

        with dask.config.set(scheduler="threads", num_workers=2):
            gaussian_blur(_float_scene(BIG_N), sigma=sigma).sum().compute()

    def peakmem_scene_sum(self, sigma):
        """Anchor: the same generated scene summed without blur."""
        with dask.config.set(scheduler="threads", num_workers=2):
            _float_scene(BIG_N).sum().compute()

    def peakmem_blur_20000_to_zarr(self, sigma):
        """Blurred and written to a zarr store chunk by chunk."""
        import iqx
        from iqx.modifiers import gaussian_blur

        with dask.config.set(scheduler="threads", num_workers=2):
            iqx.to_zarr(gaussian_blur(_float_scene(BIG_N), sigma=sigma), self.tmp / "b.zarr")

    def peakmem_scene_to_zarr(self, sigma):
        """Anchor: the same generated scene written to zarr without blur."""
        import iqx

        with dask.config.set(scheduler="threads", num_workers=2):
            iqx.to_zarr(_float_scene(BIG_N), self.tmp / "s.zarr")


#: ``none`` is the anchor: the same lazy scene generated and summed with no modifier
MODIFIER_SPECS = [
    "none",
    "jpeg:quality=70",
    "jpeg2000:psnr=40",
    "quantize:bits=4",
    "gaussian_noise:sigma=5",
    "snr_noise:snr=20",
    "gaussian_blur:sigma=2",
    "rer_blur:rer=0.3",
    "resample:factor=0.5",
    "resample:factor=1.5,method=cubic",
]


class PeakMemModifiers:
    """Every modifier over a lazy 12000² scene reduced to a sum: bounded by a few chunks.

    ``modifier="none"`` is the anchor: the scene alone (generated per chunk and summed).
    """

    params = MODIFIER_SPECS
    param_names = ["modifier"]  # noqa: RUF012
    timeout = 900

    def peakmem_modifier(self, spec):
        from iqx.modifiers import parse_spec

        scene = lazy_scene(MEM_N)
        with dask.config.set(scheduler="threads", num_workers=2):
            (scene if spec == "none" else parse_spec(spec)(scene)).sum().compute()
