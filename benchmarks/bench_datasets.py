"""Datasets of many images: modify vs IQUAFLOW and vs a plain loop, measure and workers scaling.

Inputs (cached in ``cache_dir()``): 48 RGB 1024² uint8 GeoTIFF tiles (textured, with noise,
georeferenced; 12 tiles of 128² under ``IQX_BENCH_SMALL=1``). Every ratio is measured in one
call, back to back (``track_*``):

- ``iqx.modify(ds, "jpeg:quality=70")`` (threads) vs IQUAFLOW 1.0.1's ``DSModifier_jpg``
  (in its side venv ``$IQX_IQUAFLOW_PYTHON``, default ``/work/iquaflow-venv``: the modify
  call alone, imports excluded; NaN with a message when the venv is absent);
- the same vs a plain loop (rasterio read + imagecodecs JPEG round trip + rasterio write)
  over 2 processes of a pool started beforehand (the I/O + codec limit);
- ``iqx measure`` over a dataset with 2 worker processes vs 1, and the bound 2 idle cores
  give from per-image CPU times (load-independent);
- ``modify`` and ``measure`` on a ``dask.distributed`` LocalCluster with 2 process workers
  vs 1 (reached by address, as ``--scheduler``).

``python -m benchmarks.bench_datasets --repeat 5`` prints the medians (docs/performance.md).
"""

from __future__ import annotations

import json
import os
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
    cached_folder,
    driver_parser,
    empty_trash,
    iquaflow_jpeg_seconds,
    iqx_jpeg_seconds,
    pool_loop_seconds,
    process_cluster,
    started_pool,
)

N_TILES = 12 if SMALL else 48
TILE = 128 if SMALL else 1024
N_MEASURE = 4 if SMALL else 8


def _tile(k: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(k)
    yy = np.arange(n, dtype=np.float32)[:, None]
    xx = np.arange(n, dtype=np.float32)[None, :]
    out = np.empty((3, n, n), np.uint8)
    for b in range(3):
        wave = np.sin((yy + 7 * k) / (31.0 + b)) * np.cos((xx + 3 * k) / (23.0 + 2 * b))
        base = 128 + 60 * wave + 40 * ((xx // (97 + k) + yy // 61) % 2)
        noise = rng.standard_normal((n, n), dtype=np.float32) * 6
        out[b] = np.clip(base + noise, 0, 255)
    return out


def tiles_dataset(n_tiles: int = N_TILES, side: int = TILE) -> Path:
    """``<cache>/tiles_<n>_<side>/images/tile_*.tif`` (generated once)."""
    import rasterio
    from affine import Affine

    def write(images: Path) -> None:
        for k in range(n_tiles):
            with rasterio.open(
                images / f"tile_{k:05d}.tif", "w", driver="GTiff", width=side,
                height=side, count=3, dtype="uint8", crs="EPSG:32630",
                transform=Affine(0.3, 0, 400000 + k * side * 0.3, 0, -0.3, 4500000),
            ) as dst:  # fmt: skip
                dst.write(_tile(k, side))

    return cached_folder(f"tiles_{n_tiles}_{side}", write)


def _plain_one(pair: tuple[str, str]) -> int:
    import imagecodecs
    import rasterio

    with rasterio.open(pair[0]) as src:
        profile = src.profile
        arr = src.read()
    rgb = np.ascontiguousarray(np.moveaxis(arr, 0, -1))
    dec = imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(rgb, level=JPEG_QUALITY))
    with rasterio.open(pair[1], "w", **profile) as dst:
        dst.write(np.moveaxis(dec, -1, 0))
    return dec.size


def _warm(_: int) -> int:
    import imagecodecs  # noqa: F401
    import rasterio  # noqa: F401

    return 0


def plain_loop_seconds(ds: Path, pool: ProcessPoolExecutor) -> float:
    """rasterio read + libjpeg-turbo round trip + rasterio write of every tile on the pool."""
    return pool_loop_seconds(ds, pool, _plain_one, prefix="iqx-plain-")


def measure_seconds(ds: Path, workers: int) -> float:
    """Blind metrics of the first ``N_MEASURE`` images with ``workers`` processes."""
    from iqx.datasets import open_dataset
    from iqx.datasets.measure import measure_images

    files = open_dataset(ds).image_files[:N_MEASURE]
    t0 = time.perf_counter()
    list(measure_images(files, ["snr", "sharpness"], workers=workers))
    return time.perf_counter() - t0


def measure_cpu_bound(ds: Path) -> dict[str, float]:
    """What 2 idle cores can give ``iqx measure``, from CPU times (load-independent).

    Each image's CPU time ``c_i`` is measured in this process (``thread_time``: the work
    is single-threaded); the local pool hands images out in order to whichever worker is
    free, so with 2 workers the makespan is that of the greedy in-order schedule. Returns
    the sum, the 2-worker makespan and their ratio (the speedup bound on 2 idle cores).
    """
    from iqx.datasets import open_dataset
    from iqx.datasets.measure import measure_image

    costs = []
    for f in open_dataset(ds).image_files[:N_MEASURE]:
        t0 = time.thread_time()
        measure_image(f, ["snr", "sharpness"])
        costs.append(time.thread_time() - t0)
    free = [0.0, 0.0]
    for c in costs:
        k = free.index(min(free))
        free[k] += c
    return {"cpu_total_s": sum(costs), "makespan_2_s": max(free), "bound": sum(costs) / max(free)}


def cluster_measure_seconds(ds: Path, n_workers: int) -> float:
    """``measure_images`` of the first ``N_MEASURE`` images on a LocalCluster of
    ``n_workers`` single-threaded process workers (given by address, as ``--scheduler``)."""
    from iqx.datasets import open_dataset
    from iqx.datasets.measure import measure_images

    files = open_dataset(ds).image_files[:N_MEASURE]
    with process_cluster(n_workers) as cluster:
        address = cluster.scheduler_address
        list(measure_images(files[:n_workers], ["snr", "sharpness"], scheduler=address))
        t0 = time.perf_counter()
        list(measure_images(files, ["snr", "sharpness"], scheduler=address))
        return time.perf_counter() - t0


def cluster_modify_seconds(ds: Path, n_workers: int) -> float:
    """``iqx.modify`` on a LocalCluster of ``n_workers`` single-threaded process workers."""
    import distributed

    with process_cluster(n_workers) as cluster, distributed.Client(cluster):
        iqx_jpeg_seconds(ds)  # warm the workers (imports)
        return iqx_jpeg_seconds(ds)


class ModifyTiles(_JpegFolderBench):
    """JPEG q70 over the tiles: iqx, IQUAFLOW's DSModifier_jpg, the plain 2-process loop."""

    dataset = staticmethod(tiles_dataset)
    warm = staticmethod(_warm)
    plain_loop = staticmethod(plain_loop_seconds)


class MeasureWorkers(_DatasetBench):
    """``iqx measure`` over a dataset: 1 worker process / 2 worker processes."""

    dataset = staticmethod(tiles_dataset)

    def setup(self):
        super().setup()
        measure_seconds(self.ds, 1)  # numba compiled/cached before timing

    def track_measure_speedup_2_workers(self):
        return measure_seconds(self.ds, 1) / measure_seconds(self.ds, 2)

    track_measure_speedup_2_workers.unit = "ratio"

    def track_measure_speedup_bound_2_cores(self):
        """Sum of per-image CPU times / greedy 2-worker makespan (what 2 idle cores give)."""
        return measure_cpu_bound(self.ds)["bound"]

    track_measure_speedup_bound_2_cores.unit = "ratio"


class ClusterScaling(_DatasetBench):
    """``iqx.modify`` on a distributed LocalCluster: 1 process worker / 2 process workers."""

    dataset = staticmethod(tiles_dataset)

    def track_modify_speedup_1_to_2_workers(self):
        return cluster_modify_seconds(self.ds, 1) / cluster_modify_seconds(self.ds, 2)

    track_modify_speedup_1_to_2_workers.unit = "ratio"

    def track_measure_speedup_1_to_2_workers(self):
        """``measure_images(scheduler=<address>)``: 1 process worker / 2 process workers."""
        return cluster_measure_seconds(self.ds, 1) / cluster_measure_seconds(self.ds, 2)

    track_measure_speedup_1_to_2_workers.unit = "ratio"


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - manual measurement
    """Interleaved repeats of every measurement; medians and per-repeat ratios as JSON."""
    parser = driver_parser(__doc__, repeat=5)
    parser.add_argument("--what", default="modify,measure,cluster")
    args = parser.parse_args(argv)
    what = set(args.what.split(","))
    ds = tiles_dataset()
    s = Samples()
    with started_pool(_warm) as pool:
        iqx_jpeg_seconds(ds)
        if "measure" in what:
            measure_seconds(ds, 1)  # numba compiled/loaded before the first sample
        for _ in range(args.repeat):
            if "modify" in what:
                iqf = iquaflow_jpeg_seconds(ds)
                s.add("iquaflow_modify_s", iqf["modify_s"])
                s.add("iquaflow_process_s", iqf["process_s"])
                s.add("iqx_modify_s", iqx_jpeg_seconds(ds))
                s.add("plain_loop_2proc_s", plain_loop_seconds(ds, pool))
                s.ratio("speedup_vs_iquaflow", "iquaflow_modify_s", "iqx_modify_s")
                s.ratio("iqx_over_plain", "iqx_modify_s", "plain_loop_2proc_s")
            if "measure" in what:
                s.add("measure_1_s", measure_seconds(ds, 1))
                s.add("measure_2_s", measure_seconds(ds, 2))
                s.ratio("measure_speedup", "measure_1_s", "measure_2_s")
                bound = measure_cpu_bound(ds)
                s.add("measure_cpu_total_s", bound["cpu_total_s"])
                s.add("measure_speedup_bound_2_cores", bound["bound"])
            if "cluster" in what:
                s.add("cluster_1_s", cluster_modify_seconds(ds, 1))
                s.add("cluster_2_s", cluster_modify_seconds(ds, 2))
                s.ratio("cluster_speedup", "cluster_1_s", "cluster_2_s")
                s.add("cluster_measure_1_s", cluster_measure_seconds(ds, 1))
                s.add("cluster_measure_2_s", cluster_measure_seconds(ds, 2))
                s.ratio("cluster_measure_speedup", "cluster_measure_1_s", "cluster_measure_2_s")
    empty_trash()
    summary = {"medians": s.medians(), "samples": s.values, "load": os.getloadavg()}
    print(json.dumps({**summary, **_sched()}))


def _sched() -> dict[str, str]:
    """Whether Linux autogroup is on: then every process of one session (this benchmark and
    its workers) shares one CPU share, so 1 -> 2 workers cannot scale while other sessions
    keep the cores busy (the ratios need an idle machine; ``*_bound_*`` does not)."""
    try:
        return {"autogroup": Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip()}
    except OSError:
        return {}


if __name__ == "__main__":  # pragma: no cover
    main()
