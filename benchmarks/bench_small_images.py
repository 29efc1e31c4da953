"""Many small images (the papers' MNIST case): per-image overhead, folder and cube.

Inputs (cached in ``cache_dir()``): 10 000 grey 28×28 uint8 PNGs (200 under
``IQX_BENCH_SMALL=1``), textured digits-like noise, in IQUAFLOW's layout. Measured back to
back in one run, JPEG q70 on every image:

- ``iqx.modify`` on the folder (threads) vs IQUAFLOW 1.0.1's ``DSModifier_jpg`` (its side
  venv, the modify call alone, imports excluded) and vs a plain loop (Pillow read +
  libjpeg-turbo round trip + Pillow write) over 2 processes of a pool started beforehand;
- the same ``iqx.modify`` in this machine's worker processes (``scheduler="processes"``,
  the pool started and warmed beforehand, like the plain loop's);
- ``iqx modify`` on the command line, the whole process (imports, pool start-up, a fork:
  what a user's first run costs) vs IQUAFLOW's whole side process (imports included);
- the same ``iqx.modify`` on a ``distributed`` LocalCluster of 2 single-threaded process
  workers (started and warmed beforehand, like the pool);
- the same images as one ``(image, band, y, x)`` cube in a zarr store: ``open_dataset`` →
  ``modify_cube`` → ``to_zarr`` vs the raw codec round trip over the same pixels in memory.

``python -m benchmarks.bench_small_images --repeat 3`` prints medians and per-image costs
(docs/performance.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.common import (
    JPEG_QUALITY,
    SMALL,
    Samples,
    _DatasetBench,
    _JpegFolderBench,
    cache_dir,
    cached_folder,
    discard,
    driver_parser,
    empty_trash,
    iquaflow_jpeg_seconds,
    iqx_jpeg_seconds,
    pool_loop_seconds,
    process_cluster,
    started_pool,
)

N_IMAGES = 200 if SMALL else 10_000
SIDE = 28


def _digit(k: int) -> np.ndarray:
    """A 28×28 grey image with MNIST-like structure: dark ground, a bright stroke, noise."""
    rng = np.random.default_rng(k)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    cy, cx, r = 14 + rng.normal(0, 2), 14 + rng.normal(0, 2), 6 + rng.random() * 4
    ring = np.exp(-(((np.hypot(yy - cy, xx - cx) - r) / 1.6) ** 2))
    img = 255 * ring + rng.normal(0, 8, (SIDE, SIDE))
    return np.clip(img, 0, 255).astype(np.uint8)


def mnist_dataset(n: int = N_IMAGES) -> Path:
    """``<cache>/mnist_<n>/images/<k>.png`` (generated once)."""
    from PIL import Image

    def write(images: Path) -> None:
        for k in range(n):
            Image.fromarray(_digit(k)).save(images / f"{k:05d}.png")

    return cached_folder(f"mnist_{n}", write)


def mnist_store(n: int = N_IMAGES) -> Path:
    """The same images as one cube in a zarr store (written once with ``iqx.to_zarr``)."""
    import iqx
    from iqx.datasets import open_cube

    store = cache_dir() / f"mnist_{n}.zarr"
    if not store.exists():
        iqx.to_zarr(open_cube(mnist_dataset(n)), store)
    return store


def _plain_one(pair: tuple[str, str]) -> int:
    import imagecodecs
    from PIL import Image

    arr = np.asarray(Image.open(pair[0]))
    dec = imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(arr, level=JPEG_QUALITY))
    Image.fromarray(dec).save(pair[1])
    return dec.size


def _warm(_: int) -> int:
    import imagecodecs  # noqa: F401
    from PIL import Image  # noqa: F401

    return 0


def plain_loop_seconds(ds: Path, pool: ProcessPoolExecutor) -> float:
    """Pillow read + libjpeg-turbo round trip + Pillow write of every image on the pool."""
    return pool_loop_seconds(ds, pool, _plain_one, prefix="iqx-plain-small-", chunksize=256)


def _process_cluster():
    """A LocalCluster of 2 single-threaded process workers and its client.

    Per-file work on a 28×28 image is mostly Python holding the GIL, so two threads of one
    process share one core; two single-threaded process workers use both.
    """
    import distributed

    cluster = process_cluster(2)
    return cluster, distributed.Client(cluster, set_as_default=False)


def iquaflow_seconds(ds: Path) -> float:
    """``DSModifier_jpg(quality).modify`` seconds in the side venv (NaN when absent)."""
    return iquaflow_jpeg_seconds(ds)["modify_s"]


def iquaflow_process_seconds(ds: Path) -> float:
    """IQUAFLOW's whole side process: its imports and the modify call (NaN when absent)."""
    return iquaflow_jpeg_seconds(ds)["process_s"]


#: ``iqx modify`` as the console script runs it (a fresh interpreter, nothing imported)
CLI = "import sys; from iqx.cli.main import main; sys.exit(main())"


def cli_seconds(ds: Path) -> float:
    """``iqx modify <ds> -m jpeg:quality=70 --quiet``: the whole process, imports included."""
    out = ds.with_name(f"{ds.name}#jpeg_q{JPEG_QUALITY}")
    discard(out)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", CLI, "modify", str(ds), "-m", f"jpeg:quality={JPEG_QUALITY}",
         "--quiet"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    discard(out)
    return seconds


def cube_seconds(store: Path) -> float:
    """zarr cube → ``modify_cube`` (JPEG q70) → a new zarr store, in this process."""
    import iqx
    from iqx.datasets import modify_cube

    out = Path(tempfile.mkdtemp(prefix="iqx-cube-small-", dir=store.parent)) / "out.zarr"
    try:
        t0 = time.perf_counter()
        cube = iqx.open_dataset(store)
        iqx.to_zarr(modify_cube(cube, f"jpeg:quality={JPEG_QUALITY}"), out)
        return time.perf_counter() - t0
    finally:
        discard(out.parent)


def raw_codec_seconds(store: Path) -> float:
    """libjpeg-turbo encode + decode of every image, pixels already in memory (1 thread)."""
    import imagecodecs

    import iqx

    pixels = iqx.open_dataset(store).values
    t0 = time.perf_counter()
    for img in pixels:
        imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(img[0], level=JPEG_QUALITY))
    return time.perf_counter() - t0


class SmallImagesFolder(_JpegFolderBench):
    """JPEG q70 over 10 000 28×28 PNGs: iqx, IQUAFLOW's DSModifier_jpg, the plain loop."""

    dataset = staticmethod(mnist_dataset)
    warm = staticmethod(_warm)
    plain_loop = staticmethod(plain_loop_seconds)


class SmallImagesCluster(_DatasetBench):
    """The same folder on a LocalCluster of 2 process workers vs IQUAFLOW (one process)."""

    repeat = 3
    dataset = staticmethod(mnist_dataset)

    def setup(self):
        super().setup()
        self.cluster, self.client = _process_cluster()
        iqx_jpeg_seconds(self.ds, self.client)  # workers import and compile

    def teardown(self):
        self.client.close()
        self.cluster.close()

    def time_iqx_modify_2_process_workers(self):
        iqx_jpeg_seconds(self.ds, self.client)

    def track_speedup_vs_iquaflow(self):
        """IQUAFLOW DSModifier_jpg seconds / iqx.modify on 2 process workers (same run)."""
        return iquaflow_seconds(self.ds) / iqx_jpeg_seconds(self.ds, self.client)

    track_speedup_vs_iquaflow.unit = "ratio"


class SmallImagesProcesses(_DatasetBench):
    """The same folder in this machine's worker processes (pool warm) and from the CLI."""

    repeat = 3
    dataset = staticmethod(mnist_dataset)

    def setup(self):
        super().setup()
        iqx_jpeg_seconds(self.ds, "processes")  # the pool starts and its workers import

    def time_iqx_modify_processes(self):
        iqx_jpeg_seconds(self.ds, "processes")

    def track_speedup_vs_iquaflow(self):
        """IQUAFLOW DSModifier_jpg seconds / iqx.modify in 2 worker processes (same run)."""
        return iquaflow_seconds(self.ds) / iqx_jpeg_seconds(self.ds, "processes")

    track_speedup_vs_iquaflow.unit = "ratio"

    def track_cli_speedup_vs_iquaflow_process(self):
        """Whole processes, imports included: IQUAFLOW's side process / ``iqx modify``."""
        return iquaflow_process_seconds(self.ds) / cli_seconds(self.ds)

    track_cli_speedup_vs_iquaflow_process.unit = "ratio"


class SmallImagesCube(_DatasetBench):
    """The same images as one zarr cube: modify_cube → to_zarr vs the raw codec."""

    repeat = 3

    def setup(self):
        self.store = mnist_store()
        cube_seconds(self.store)  # imports and numba code loaded

    def time_iqx_cube_zarr_to_zarr(self):
        cube_seconds(self.store)

    def time_raw_codec_in_memory(self):
        raw_codec_seconds(self.store)

    def track_raw_codec_over_iqx(self):
        """Raw codec seconds / iqx zarr → zarr seconds (1 = iqx costs only the codec)."""
        return raw_codec_seconds(self.store) / cube_seconds(self.store)

    track_raw_codec_over_iqx.unit = "ratio"


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual measurement
    """Interleaved repeats; medians, per-image microseconds and ratios as JSON."""
    args = driver_parser(__doc__, repeat=3).parse_args(argv)
    ds, store = mnist_dataset(), mnist_store()
    s = Samples()
    cluster, client = _process_cluster()
    with started_pool(_warm) as pool, cluster, client:
        iqx_jpeg_seconds(ds)
        iqx_jpeg_seconds(ds, "processes")
        iqx_jpeg_seconds(ds, client)
        cube_seconds(store)
        for _ in range(args.repeat):
            iquaflow = iquaflow_jpeg_seconds(ds)
            s.add("iquaflow_modify_s", iquaflow["modify_s"])
            s.add("iquaflow_process_s", iquaflow["process_s"])
            s.add("iqx_cli_process_s", cli_seconds(ds))
            c0 = time.process_time()
            s.add("iqx_modify_threads_s", iqx_jpeg_seconds(ds, "threads"))
            s.add("iqx_modify_threads_cpu_s", time.process_time() - c0)
            s.add("iqx_modify_processes_s", iqx_jpeg_seconds(ds, "processes"))
            s.add("iqx_modify_cluster_2proc_s", iqx_jpeg_seconds(ds, client))
            s.add("plain_loop_2proc_s", plain_loop_seconds(ds, pool))
            s.add("iqx_cube_s", cube_seconds(store))
            s.add("raw_codec_s", raw_codec_seconds(store))
            s.ratio("threads_speedup_vs_iquaflow", "iquaflow_modify_s", "iqx_modify_threads_s")
            s.ratio("processes_speedup_vs_iquaflow", "iquaflow_modify_s", "iqx_modify_processes_s")
            s.ratio("cli_speedup_vs_iquaflow_process", "iquaflow_process_s", "iqx_cli_process_s")
            s.ratio(
                "cluster_speedup_vs_iquaflow", "iquaflow_modify_s", "iqx_modify_cluster_2proc_s"
            )
            s.ratio("iqx_processes_over_plain", "iqx_modify_processes_s", "plain_loop_2proc_s")
            s.ratio("cube_speedup_vs_iquaflow", "iquaflow_modify_s", "iqx_cube_s")
    empty_trash()
    medians = s.medians()
    per_image_us = {
        k.removesuffix("_s") + "_us_per_image": 1e6 * v / N_IMAGES
        for k, v in medians.items()
        if k.endswith("_s")
    }
    print(
        json.dumps(
            {"n_images": N_IMAGES, "medians": medians, "per_image": per_image_us,
             "samples": s.values, "load": os.getloadavg()}
        )
    )  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
