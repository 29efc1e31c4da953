"""The zarr chunk reader/writer that bypasses zarr's event loop agrees with zarr itself.

Ground truth is zarr-python: the chunk files iqx writes must be byte-identical to the ones
``zarr.Array.__setitem__`` writes for the same array metadata, and what iqx reads must equal
``zarr.open_array(...)[...]`` for stores zarr wrote, including ragged edge chunks, dask chunks
that straddle store chunks, absent chunks and codec chains the fast path does not handle.
"""

from __future__ import annotations

import os
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr
from zarr.codecs import GzipCodec

from iqx.io import open_scene, to_zarr
from iqx.io._zarr_chunks import ChunkWriter, dask_reader
from iqx.io.zarr import CODECS
from iqx.parallel import as_scene


def _chunk_files(base: Path) -> dict[str, bytes]:
    """The chunk files below ``base`` (an array's folder): relative path -> bytes."""
    return {
        os.path.relpath(os.path.join(d, f), base): Path(d, f).read_bytes()
        for d, _, files in os.walk(base)
        for f in files
        if f != "zarr.json"
    }


def _zarrs_own_chunk_files(ours, values: np.ndarray, where: Path) -> dict[str, bytes]:
    """The chunk files zarr's own writer makes at ``where`` for ``values``, given the array
    metadata of ``ours``'s ``data`` (shape, chunks, dtype, compressors, fill value)."""
    ref = zarr.open_array(ours, path="data", mode="r")
    theirs = zarr.create_array(
        where,
        shape=ref.shape,
        chunks=ref.chunks,
        dtype=ref.dtype,
        compressors=ref.compressors,
        fill_value=ref.fill_value,
        config={"write_empty_chunks": True},
    )
    theirs[...] = values
    return _chunk_files(where)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
def test_chunk_files_are_byte_identical_to_zarrs_own(tmp_path, codec, dtype):
    rng = np.random.default_rng(5)
    a = (rng.random((2, 100, 130)) * 200).astype(dtype)
    s = as_scene(da.from_array(a, chunks=(1, 64, 64)))  # ragged edge chunks on y and x
    ours = to_zarr(s, tmp_path / "ours.zarr", chunks=(1, 64, 64), codec=codec)
    # the same array metadata, filled by zarr's own writer
    files = _chunk_files(Path(ours) / "data")
    assert len(files) == 2 * 2 * 3
    assert files == _zarrs_own_chunk_files(ours, a, tmp_path / "theirs.zarr")
    np.testing.assert_array_equal(zarr.open_array(ours, path="data", mode="r")[...], a)


@pytest.mark.parametrize("chunks", [(2, 64, 64), (1, 40, 96), (2, 100, 130), (1, 33, 17)])
def test_reader_matches_zarr_for_any_dask_chunking(tmp_path, chunks):
    rng = np.random.default_rng(6)
    a = rng.standard_normal((2, 100, 130)).astype("float32")
    store = zarr.create_array(
        tmp_path / "z.zarr/data",
        shape=a.shape,
        chunks=(1, 32, 48),
        dtype="float32",
        fill_value=-7.5,
        config={"write_empty_chunks": False},
    )
    store[...] = a
    store[:, 32:64, 48:96] = -7.5  # an all-fill chunk zarr leaves out: reads as the fill
    assert not (tmp_path / "z.zarr/data/c/0/1/1").exists()
    norm = da.core.normalize_chunks(chunks, a.shape)
    lazy = dask_reader(str(tmp_path / "z.zarr"), "data", norm, "t")
    assert lazy is not None and lazy.chunks == norm
    got = lazy.compute(scheduler="threads")
    np.testing.assert_array_equal(got, store[...])
    assert got.flags.writeable and got.dtype == np.float32


def test_reader_and_writer_fall_back_to_zarr_for_other_codecs(tmp_path):
    a = np.arange(2 * 50 * 60, dtype="uint16").reshape(2, 50, 60)
    arr = zarr.create_array(
        tmp_path / "g.zarr/data",
        shape=a.shape,
        chunks=(1, 32, 32),
        dtype="uint16",
        compressors=GzipCodec(level=1),
    )
    assert dask_reader(str(tmp_path / "g.zarr"), "data", ((2,), (50,), (60,)), "t") is None
    writer = ChunkWriter(str(tmp_path / "g.zarr"), "data")
    writer[(slice(0, 2), slice(0, 50), slice(0, 60))] = a  # through zarr itself
    np.testing.assert_array_equal(arr[...], a)


def test_unaligned_region_is_written_through_zarr(tmp_path):
    s = as_scene(np.zeros((1, 40, 40), dtype="uint8"))
    out = to_zarr(s, tmp_path / "u.zarr", chunks=16)
    writer = ChunkWriter(str(out), "data")
    block = np.full((1, 10, 7), 9, dtype="uint8")
    writer[(slice(0, 1), slice(5, 15), slice(3, 10))] = block  # inside one chunk, not whole
    back = open_scene(out).values
    assert (back[:, 5:15, 3:10] == 9).all() and back.sum() == 9 * 70


def test_blurred_scene_is_written_whole_and_in_row_order(tmp_path):
    # a neighbourhood graph written to zarr: every chunk equals the NumPy blur, and the
    # writes walk the rows in order, so at most about two rows of input chunks are alive
    # at once (dask alone starts in the middle and keeps ~3 rows of a 20 x 20 grid)
    from dask.callbacks import Callback

    from iqx.modifiers import gaussian_blur

    n, c = 12, 16
    rng = np.random.default_rng(7)
    a = rng.random((1, n * c, n * c)).astype("float32")
    expected = gaussian_blur(as_scene(a), sigma=1.5).values
    source = da.from_array(a, chunks=(1, c, c), name="src-blocks")
    seq = []

    class Log(Callback):
        def _pretask(self, key, dsk, state):
            name = key[0] if isinstance(key, tuple) else key
            if name == "src-blocks":
                seq.append(("in", key[2:]))
            elif str(name).startswith("iqx-store-rows") and not str(name).endswith(("row", "all")):
                seq.append(("out", key[3:]))

    with Log(), dask_config_sync():
        out = to_zarr(gaussian_blur(as_scene(source), sigma=1.5), tmp_path / "b.zarr")
    np.testing.assert_array_equal(open_scene(out).values, expected)
    rows_written = [k[0] for kind, k in seq if kind == "out"]
    assert rows_written == sorted(rows_written) and len(rows_written) == n * n
    live, most = set(), 0
    for kind, key in seq:  # an input chunk is last needed when its own output is written
        (live.add if kind == "in" else live.discard)(key)
        most = max(most, len(live))
    assert most <= 2 * n + 2, most


def test_write_and_read_on_process_workers(tmp_path, dask_client):
    # the writer and the reader are pickled to other processes and reopen the array there
    from iqx.modifiers import gaussian_blur

    a = np.random.default_rng(8).random((1, 200, 260)).astype("float32")
    lazy = as_scene(da.from_array(a, chunks=(1, 64, 64)))
    out = to_zarr(gaussian_blur(lazy, sigma=1.0), tmp_path / "d.zarr")
    back = open_scene(out, chunks=64).data.compute()
    np.testing.assert_array_equal(back, gaussian_blur(as_scene(a), sigma=1.0).values)
    # a Blockwise-only chain (read, scale, write fused per block) on process workers
    scene = open_scene(out, chunks=64)
    twice = scene * np.float32(2)
    twice.attrs = scene.attrs
    again = to_zarr(twice, tmp_path / "e.zarr")
    np.testing.assert_array_equal(zarr.open_array(again, path="data")[...], back * 2)


def dask_config_sync():
    import dask

    return dask.config.set(scheduler="synchronous")


@pytest.mark.parametrize("codec", CODECS)
def test_blockwise_chain_is_read_modified_and_written_in_one_task_per_block(tmp_path, codec):
    # zarr -> elementwise step -> zarr: the write is fused into each block's task, and the
    # chunk files equal those zarr-python writes for the same array (ragged edge chunks)
    from dask.callbacks import Callback

    rng = np.random.default_rng(9)
    a = rng.integers(0, 2000, (2, 100, 130)).astype("uint16")
    src = to_zarr(as_scene(a), tmp_path / "src.zarr", chunks=(1, 64, 64), codec=codec)
    scene = open_scene(src, chunks=(1, 64, 64))
    lazy = (scene // 3).astype("uint16")
    lazy.attrs = scene.attrs
    tasks = []

    class Log(Callback):
        def _pretask(self, key, dsk, state):
            tasks.append(key)

    with Log():
        ours = to_zarr(lazy, tmp_path / "ours.zarr", codec=codec)
    blocks = [k for k in tasks if "finalize" not in str(k)]
    assert len(blocks) == 2 * 2 * 3, tasks  # one task per block: read, divide, write
    theirs = _zarrs_own_chunk_files(ours, a // 3, tmp_path / "theirs.zarr")
    assert _chunk_files(Path(ours) / "data") == theirs
    np.testing.assert_array_equal(zarr.open_array(ours, path="data", mode="r")[...], a // 3)
