"""Every dataset-level path on a real ``dask.distributed`` cluster, given by address.

``iqx.modify``, ``measure_images``, ``compare_datasets`` and ``measure_cube`` (and the CLI's
``--scheduler``) run on a ``LocalCluster`` with two single-threaded *process* workers
(``tests/conftest.py``), reached by its ``tcp://`` address, by a client object or by the
cluster object, and give exactly the local results.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from iqx.cli.main import main
from iqx.datasets import measure_cube, open_cube, open_dataset
from iqx.datasets._scheduler import SchedulerError, use_scheduler
from iqx.datasets.compare import compare_datasets
from iqx.datasets.measure import measure_images
from iqx.datasets.modify import modify
from iqx.errors import InvalidParameterError
from iqx.io import read_image


def _write_tiles(root: Path, n: int = 4, side: int = 96) -> Path:
    import rasterio
    from affine import Affine

    images = root / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for k in range(n):
        y, x = np.mgrid[0:side, 0:side]
        base = 90 + 70 * (((x + 5 * k) // 12 + y // 20) % 2) + rng.normal(0, 5, (3, side, side))
        with rasterio.open(
            images / f"tile_{k}.tif", "w", driver="GTiff", width=side, height=side, count=3,
            dtype="uint8", crs="EPSG:32630", transform=Affine(0.5, 0, 100 * k, 0, -0.5, 0),
        ) as dst:  # fmt: skip
            dst.write(np.clip(base, 0, 255).astype(np.uint8))
    return root


@pytest.fixture
def tiles(tmp_path) -> Path:
    return _write_tiles(tmp_path / "work" / "tiles")


def test_modify_by_address_equals_local(tiles, local_cluster):
    remote = modify(tiles, "jpeg:quality=55", scheduler=local_cluster.scheduler_address)
    remote_pixels = {p.name: read_image(p) for p in remote.image_files}
    remote_files = remote.manifest["files"]
    shutil.rmtree(remote.data_path)
    local = modify(tiles, "jpeg:quality=55")
    assert local.manifest["files"] == remote_files
    for p in local.image_files:
        np.testing.assert_array_equal(read_image(p), remote_pixels[p.name])


def test_cluster_measure_progress_does_not_wait_for_callbacks(tiles, local_cluster, monkeypatch):
    """``distributed`` runs done-callbacks on its event loop, possibly after the result was
    read and the client closed: every image is still counted, once (here no callback runs)."""
    from iqx.datasets import measure as measure_module

    files = open_dataset(tiles).image_files
    monkeypatch.setattr(measure_module._Counter, "watch", lambda self, future, n=1: None)
    seen: list[int] = []
    address = local_cluster.scheduler_address
    list(measure_images(files, ["snr"], scheduler=address, progress=seen.append))
    assert sum(seen) == len(files)


def test_measure_and_compare_on_the_cluster_equal_local(tiles, local_cluster):
    files = open_dataset(tiles).image_files
    seen: list[int] = []
    remote = list(
        measure_images(
            files, ["snr"], scheduler=local_cluster.scheduler_address, progress=seen.append
        )
    )
    assert remote == list(measure_images(files, ["snr"], workers=1))
    assert sum(seen) == len(files)
    jpeg = modify(tiles, "jpeg:quality=40")
    import distributed

    with distributed.Client(local_cluster, set_as_default=False) as client:
        on_cluster = compare_datasets(tiles, jpeg, metrics=["psnr", "ssim"], scheduler=client)
        # the client is current only inside the call
        from iqx.io._sched import active_client

        assert active_client() is None
    here = compare_datasets(tiles, jpeg, metrics=["psnr", "ssim"])
    assert on_cluster.equals(here)


def test_measure_cube_on_the_cluster_object(tiles, local_cluster):
    cube = open_cube(tiles, images_per_chunk=2)
    remote = measure_cube(cube, ["snr"], scheduler=local_cluster)
    assert remote.equals(measure_cube(cube, ["snr"]))


def test_cli_scheduler_option_gives_the_local_output(tiles, local_cluster, capsys):
    argv = ["measure", str(tiles), "--metrics", "snr", "--format", "json"]
    assert main([*argv, "--workers", "1"]) == 0
    local = capsys.readouterr().out
    assert main([*argv, "--scheduler", local_cluster.scheduler_address]) == 0
    remote = capsys.readouterr().out
    assert remote == local and len(local.splitlines()) == 4
    assert json.loads(remote.splitlines()[0])["image"] == "tile_0.tif"


def test_unreachable_scheduler_is_one_line(tiles, capsys, monkeypatch):
    import iqx.datasets._scheduler as sched

    monkeypatch.setattr(sched, "CONNECT_TIMEOUT", 2)
    argv = ["measure", str(tiles), "--metrics", "snr", "--scheduler", "tcp://127.0.0.1:9"]
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iqx: error: tcp://127.0.0.1:9: no dask")
    with pytest.raises(SchedulerError), use_scheduler("tcp://127.0.0.1:9"):
        pass
    with pytest.raises(InvalidParameterError), use_scheduler(42):
        pass


def test_local_pool_largest_first_keeps_the_order(tmp_path):
    """Images of different sizes go to the 2 local processes largest first; the records
    still come back in file order and equal the one-process run."""
    root = tmp_path / "mixed"
    for k, side in enumerate((48, 160, 96)):
        _write_tiles(root / f"part{k}", n=1, side=side)
        (root / f"part{k}" / "images" / "tile_0.tif").rename(tmp_path / f"img_{k}_{side}.tif")
    files = sorted(tmp_path.glob("img_*.tif"))
    seen: list[int] = []
    two = list(measure_images(files, ["snr"], workers=2, progress=seen.append))
    assert two == list(measure_images(files, ["snr"], workers=1))
    assert seen == [1, 1, 1]
