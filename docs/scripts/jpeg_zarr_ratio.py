"""JPEG q70 zarr -> zarr against raw libjpeg-turbo on the same pixels (issue 10, item 5).

The ratio is (raw libjpeg-turbo encode + decode of the 16384² scene's chunks already in
memory, 2 threads) / (``iqx.to_zarr(jpeg(iqx.open_scene(src), quality=70), out)`` wall time,
2 dask threads). Each measurement runs in its own fresh process (imports, zarr and
imagecodecs warmed up on a small scene first, as asv's ``setup`` does), raw and iqx
alternating, so load changes on a shared machine hit both; the ratio printed is the median
raw time over the median iqx time, with wall and CPU time (process, all threads) of each.

Usage::

    .venv/bin/python docs/scripts/jpeg_zarr_ratio.py [--runs 5] [--tree A --tree B] [--codec C]

``--tree`` runs the iqx side (and the scene reader) from another checkout (``PYTHONPATH``
of the child processes); repeated, the checkouts alternate with raw in the same run, for a
before / after comparison under the same load. Without it: this checkout. ``--codec``
stores the source scene and the output with another ``to_zarr`` codec (e.g. ``none``: the
part of the gap the zarr codec makes). The raw side's CPU time covers only its timed round
trips (its pixels are loaded before the clock starts); the iqx side's covers everything.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, shutil, sys, tempfile, time
from pathlib import Path
import iqx  # first: from --tree when given (PYTHONPATH), before the benchmarks' root
sys.path.insert(0, {bench_root!r})
from benchmarks.bench_modifiers import (
    JPEG_N, CHUNK, _iqx_jpeg_seconds, _raw_jpeg_seconds, _raw_tiles, _zarr_scene
)
what, codec = {what!r}, {codec!r}
src = _zarr_scene(JPEG_N, codec)
warm = _zarr_scene(2 * CHUNK, codec)
tmp = Path(tempfile.mkdtemp(prefix="iqx-ratio-"))
try:
    if what == "raw":
        _raw_jpeg_seconds(_raw_tiles(warm))
        tiles = _raw_tiles(src)  # in memory before the clock starts
        c0 = time.process_time()
        wall = _raw_jpeg_seconds(tiles)
    else:
        _iqx_jpeg_seconds(warm, tmp / "warm.zarr", codec=codec)
        c0 = time.process_time()
        wall = _iqx_jpeg_seconds(src, tmp / "out.zarr", codec=codec)
    cpu = time.process_time() - c0
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps({{"wall": wall, "cpu": cpu, "iqx": iqx.__file__}}))
"""


def _run(what: str, tree: str | None, codec: str | None) -> dict:
    env = dict(os.environ)
    if tree:  # "" or None: this checkout
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    code = CHILD.format(bench_root=str(ROOT), what=what, codec=codec)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=os.path.abspath(os.sep),  # not the checkout: "" on sys.path would shadow --tree
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Alternate raw and iqx runs in fresh processes; print medians and the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs of each side (>= 5)")
    ap.add_argument(
        "--tree",
        action="append",
        default=None,
        help="iqx checkout for the iqx side (repeat to compare checkouts in the same run)",
    )
    ap.add_argument(
        "--codec",
        default=None,
        help="zarr codec of the source and the output (default: to_zarr's default)",
    )
    args = ap.parse_args()
    sides = ["raw", *(args.tree or [""])]
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    for k in range(args.runs):
        shift = k % len(sides)
        for side in sides[shift:] + sides[:shift]:  # rotate the order from run to run
            what = "raw" if side == "raw" else "iqx"
            r = _run(what, side if side != "raw" else None, args.codec)
            runs[side].append(r)
            print(
                f"run {k} {side or 'iqx'}: wall {r['wall']:.3f} s  cpu {r['cpu']:.3f} s  "
                f"load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
    med = {
        s: {key: statistics.median(r[key] for r in rs) for key in ("wall", "cpu")}
        for s, rs in runs.items()
    }
    raw = med["raw"]
    print(f"median raw: wall {raw['wall']:.3f} s  cpu {raw['cpu']:.3f} s")
    for side in sides[1:]:
        m = med[side]
        print(
            f"median iqx ({runs[side][0]['iqx']}): wall {m['wall']:.3f} s  cpu {m['cpu']:.3f} s"
            f"  ratio wall {raw['wall'] / m['wall']:.3f}  ratio cpu {raw['cpu'] / m['cpu']:.3f}"
        )
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average at end: {load}  ({time.strftime('%H:%M:%S', time.gmtime())} UTC)")


if __name__ == "__main__":
    main()
