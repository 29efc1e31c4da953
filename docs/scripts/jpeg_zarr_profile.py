"""Where the time of JPEG q70 zarr -> zarr goes, per chunk and per stage (issue 10, item 5).

Runs ``iqx.to_zarr(jpeg(iqx.open_scene(src), quality=70), out)`` on the 16384² benchmark
scene (2 dask threads) with timers wrapped around each stage of a chunk: reading the chunk
file, decompressing it, JPEG encode, JPEG decode, compressing the result, writing the file.
Each stage's wall and thread CPU time is summed over the chunks; the rest of a worker's
busy time is task overhead and Python glue; the run's wall time is split into its serial
phases (open, graph, store metadata, chunk work, rename). Numbers are per MB of pixels.

Usage::

    .venv/bin/python docs/scripts/jpeg_zarr_profile.py [--tree CHECKOUT] [--codec C] [--floor]

``--floor`` instead times, alone in one thread, the stages no zarr -> zarr pipeline can
skip (JPEG round trip, decompress, compress, write and read the chunk file) and prints the
ratio they cap.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

_LOG: list[tuple[int, str, float, float, float]] = []


def _timed(name: str, func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        c0, t0 = time.thread_time(), time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            _LOG.append(
                (threading.get_ident(), name, t0, time.perf_counter(), time.thread_time() - c0)
            )

    return wrapper


def _patch() -> None:
    """Wrap every stage of a chunk (module attributes looked up at call time)."""
    import dask.local

    from iqx.io import _zarr_chunks as zc
    from iqx.modifiers import jpeg_codec as jc

    jc.jpeg_encode_block = _timed("jpeg encode", jc.jpeg_encode_block)
    jc.jpeg_decode_block = _timed("jpeg decode", jc.jpeg_decode_block)
    for mod, names in ((zc, ("_direct_decoder",)),):
        for n in names:
            orig = getattr(mod, n)

            def make(*a, _orig=orig):
                dec = _orig(*a)
                return None if dec is None else _timed("decompress", dec)

            setattr(mod, n, make)
    if hasattr(zc, "_encode_chunk"):  # the fused writer of this change
        zc._encode_chunk = _timed("compress", zc._encode_chunk)
    if hasattr(zc, "_write_file"):
        zc._write_file = _timed("write file", zc._write_file)
    if hasattr(zc, "_read_file"):
        zc._read_file = _timed("read file", zc._read_file)
    zc._ChunkReader.__call__ = _timed("read chunk (total)", zc._ChunkReader.__call__)
    if hasattr(zc.ChunkWriter, "_write"):
        zc.ChunkWriter._write = _timed("write chunk (total)", zc.ChunkWriter._write)
    dask.local.execute_task = _timed("task (total)", dask.local.execute_task)


def _floor(codec: str | None, tiles: int = 16) -> None:
    """Per-MB CPU of the stages no zarr -> zarr pipeline can skip, each alone in one worker
    thread on the benchmark's tiles (best of 5), and the ratio they cap: raw / (raw +
    decompress + compress + write + read)."""
    import numcodecs

    from benchmarks.bench_modifiers import _tile
    from iqx.io.zarr import DEFAULT_CODEC, _compressors

    comp = _compressors(codec or DEFAULT_CODEC)
    if comp:
        c = comp[0]
        shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[c.shuffle.value]
        blosc = numcodecs.Blosc(cname=c.cname.value, clevel=c.clevel, shuffle=shuffle)
    else:
        blosc = None
    import imagecodecs

    planes = [_tile((0, i, 3))[0] for i in range(tiles)]
    mb = sum(p.nbytes for p in planes) / 2**20
    decoded = [imagecodecs.jpeg8_decode(imagecodecs.jpeg8_encode(p, level=70)) for p in planes]
    packed = [blosc.encode(p) if blosc else p.tobytes() for p in planes]
    out = np.empty_like(planes[0])
    folder = Path(tempfile.mkdtemp(prefix="iqx-floor-"))
    count = iter(range(10**9))

    def write(k: int) -> None:
        with open(folder / f"{next(count)}", "wb") as f:
            f.write(packed[k])

    def read(k: int) -> None:
        with open(folder / "0", "rb") as f:
            f.read()

    stages = {
        "jpeg encode+decode (raw)": lambda k: imagecodecs.jpeg8_decode(
            imagecodecs.jpeg8_encode(planes[k], level=70)
        ),
        "decompress": (lambda k: blosc.decode(packed[k], out)) if blosc else None,
        "compress": (lambda k: blosc.encode(decoded[k])) if blosc else None,
        "write file": write,
        "read file": read,
    }
    cost = {}

    def run() -> None:
        for name, fn in stages.items():
            best = 1e9
            for _ in range(5):
                c0 = time.thread_time()
                for k in range(tiles):
                    if fn is not None:
                        fn(k)
                best = min(best, time.thread_time() - c0)
            cost[name] = best / mb * 1e3

    th = threading.Thread(target=run)  # blosc uses its own threads in the main thread
    th.start()
    th.join()
    shutil.rmtree(folder, ignore_errors=True)
    print(f"floor ({codec or DEFAULT_CODEC}), CPU ms/MB, one worker thread, best of 5:")
    for name, v in cost.items():
        print(f"  {name:26s} {v:7.3f}")
    raw = cost["jpeg encode+decode (raw)"]
    print(f"  cap on the ratio (no iqx overhead at all): {raw / sum(cost.values()):.3f}")


def main() -> None:
    """Run once (after a warm-up) and print the split."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default=None, help="iqx checkout to profile")
    ap.add_argument("--codec", default=None, help="zarr codec of the source and the output")
    ap.add_argument("--floor", action="store_true", help="only the per-stage floor and cap")
    args = ap.parse_args()
    if args.tree:
        sys.path.insert(0, args.tree)
    import dask

    import iqx

    sys.path.insert(0, str(ROOT))  # the benchmarks of this checkout (iqx is imported)
    from benchmarks.bench_modifiers import CHUNK, JPEG_N, _iqx_jpeg_seconds, _zarr_scene
    from iqx.modifiers import jpeg

    if args.floor:
        _floor(args.codec)
        return
    src, warm = _zarr_scene(JPEG_N, args.codec), _zarr_scene(2 * CHUNK, args.codec)
    tmp = Path(tempfile.mkdtemp(prefix="iqx-prof-"))
    _patch()
    try:
        _iqx_jpeg_seconds(warm, tmp / "warm.zarr", codec=args.codec)
        _LOG.clear()
        phases = {}
        c0, t0 = time.process_time(), time.perf_counter()
        scene = iqx.open_scene(src)
        phases["open_scene"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        lazy = jpeg(scene, quality=70)
        codec = {"codec": args.codec} if args.codec else {}
        phases["jpeg graph"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        with dask.config.set(scheduler="threads", num_workers=2):
            iqx.to_zarr(lazy, tmp / "out.zarr", overwrite=True, **codec)
        phases["to_zarr"] = time.perf_counter() - t1
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    mb = JPEG_N * JPEG_N / 2**20
    tasks = [r for r in _LOG if r[1] == "task (total)"]
    first, last = min(r[2] for r in tasks), max(r[3] for r in tasks)
    print(f"iqx from {iqx.__file__}; {mb:.0f} MB of pixels; load {os.getloadavg()}")
    print(f"total wall {wall:.3f} s, process CPU {cpu:.3f} s")
    for name, sec in phases.items():
        print(f"  {name:12s} {sec * 1e3:8.1f} ms")
    print(
        f"  chunk work (first task start -> last task end) {(last - first) * 1e3:.1f} ms; "
        f"before it {(first - t0) * 1e3:.1f} ms, after it {(t0 + wall - last) * 1e3:.1f} ms"
    )
    agg: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
    for _, name, a, b, c in _LOG:
        agg[name][0] += b - a
        agg[name][1] += c
        agg[name][2] += 1
    print(f"{'stage':22s} {'calls':>6s} {'wall ms/MB':>11s} {'cpu ms/MB':>10s}")
    for name, (w, c, n) in sorted(agg.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:22s} {n:6d} {w / mb * 1e3:11.3f} {c / mb * 1e3:10.3f}")
    busy = collections.defaultdict(float)
    for tid, _name, a, b, _ in tasks:
        busy[tid] += b - a
    span = last - first
    print(
        "worker busy fraction of the chunk-work span:", [f"{v / span:.2f}" for v in busy.values()]
    )


if __name__ == "__main__":
    main()
