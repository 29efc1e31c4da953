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


#: persistent measuring worker, run with ``python -c`` inside the tree under test (so the
#: same code times the current tree and a ``git worktree`` of an older commit); it reads
#: ``method reps`` lines and answers one JSON list of ``[wall, cpu]`` pairs per line
_WORKER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[1])
import numpy as np, dask, dask.array as da
from benchmarks.common import textured_uint16
from iqx.metrics.snr import snr
dask.config.set(scheduler="threads", num_workers=2)
img = textured_uint16(4096, 4096, seed=0)
lazy = da.from_array(img, chunks=int(sys.argv[2]))
band = None
if sys.argv[3]:
    import rasterio
    with rasterio.open(sys.argv[3]) as f:
        band = f.read(1)
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    method, reps = line.split()
    x = band if method == "hb_inria" else lazy
    m = "hb" if method == "hb_inria" else method
    snr(x[:1024, :1024] if method != "hb_inria" else x, m)  # compile / warm
    out = []
    for _ in range(int(reps)):
        c, t = time.process_time(), time.perf_counter()
        snr(x, m)
        out.append([time.perf_counter() - t, time.process_time() - c])
    print(json.dumps(out), flush=True)
"""

#: the same protocol in IQUAFLOW 1.0.1's venv (HB on the real band only)
_IQUAFLOW_WORKER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import rasterio
from iquaflow.metrics.snr_metric import snr_function_from_array
with rasterio.open(sys.argv[1]) as f:
    band = f.read(1)
print(json.dumps("ready"), flush=True)
for line in sys.stdin:
    method, reps = line.split()
    out = []
    for _ in range(int(reps)):
        c, t = time.process_time(), time.perf_counter()
        snr_function_from_array(band[None], method="HB")
        out.append([time.perf_counter() - t, time.process_time() - c])
    print(json.dumps(out), flush=True)
"""


class _Worker:
    """One measuring process (a tree of iqx, or IQUAFLOW's venv) driven over a pipe."""

    def __init__(self, argv: list[str]) -> None:
        import json
        import subprocess

        self._json = json
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        assert self.read() == "ready"

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"measuring worker {self.proc.args[:2]} died")
        return self._json.loads(line)

    def run(self, method: str, reps: int) -> list[list[float]]:
        self.proc.stdin.write(f"{method} {reps}\n")
        return self.read()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def _throughput(args) -> None:  # pragma: no cover - a measuring script
    """Side-by-side throughput of this tree, optional other trees, and IQUAFLOW's HB."""
    import os
    import sys
    from pathlib import Path

    from benchmarks.iquaflow_anchor import INRIA, PYTHON

    here = str(Path(__file__).resolve().parents[1])
    trees = {"this": here} | {Path(v).name: str(Path(v).resolve()) for v in args.vs}
    inria = str(INRIA) if INRIA.exists() else ""
    workers = {
        name: _Worker([sys.executable, "-c", _WORKER, root, str(args.chunk), inria])
        for name, root in trees.items()
    }
    iq = None
    if inria and PYTHON.exists() and "hb_inria" in args.methods:
        iq = _Worker([str(PYTHON), "-c", _IQUAFLOW_WORKER, inria])
    nbytes = 4096 * 4096 * 2
    load0 = os.getloadavg()[0]
    samples: dict[tuple[str, str], list[list[float]]] = {}
    methods = [m for m in args.methods.split(",") if m]
    for _ in range(args.rounds):  # alternate the trees round by round (load drifts)
        for method in methods:
            for name, w in workers.items():
                samples.setdefault((name, method), []).extend(w.run(method, args.reps))
            if method == "hb_inria" and iq is not None:
                samples.setdefault(("iquaflow", method), []).extend(iq.run("HB", 1))
    for w in [*workers.values(), iq]:
        if w is not None:
            w.close()
    print(
        f"load average {os.getloadavg()[0]:.1f} (at start {load0:.1f}); {args.rounds} rounds x {args.reps} runs; "
        f"4096x4096 uint16 ({nbytes / 1e6:.1f} MB), dask chunks {args.chunk}, threads x 2"
    )
    print(
        f"{'method':9s} {'tree':12s} {'wall best':>10s} {'wall med':>9s} {'cpu best':>9s} "
        f"{'cpu med':>8s} {'MB/s best wall':>14s} {'MB/s/core (cpu)':>15s} "
        f"{'2-core cpu bound':>16s}"
    )
    for method in methods:
        rows = {}
        cpu_best: dict[str, float] = {}
        for (name, m), v in samples.items():
            if m != method:
                continue
            a = np.asarray(v)
            rows[name] = (a[:, 0].min(), float(np.median(a[:, 0])), float(np.median(a[:, 1])))
            cpu_best[name] = float(a[:, 1].min())
        for name, (best, med, cpu) in rows.items():
            cb = cpu_best[name]
            if method == "hb_inria":
                print(
                    f"{method:9s} {name:12s} {best * 1e3:8.2f}ms {med * 1e3:7.2f}ms "
                    f"{cb * 1e3:7.2f}ms {cpu * 1e3:6.2f}ms"
                )
                continue
            print(
                f"{method:9s} {name:12s} {best * 1e3:8.1f}ms {med * 1e3:7.1f}ms {cb * 1e3:7.1f}ms "
                f"{cpu * 1e3:6.1f}ms {nbytes / best / 1e6:14.0f} {nbytes / cpu / 1e6:15.0f} "
                f"{2 * nbytes / cpu / 1e9:14.2f}GB/s"
            )
        if method == "blocks":
            best, _, cpu = rows["this"]
            print(
                f"  blocks target 1 GB/s: best wall gives {nbytes / best / 1e9:.2f}x of it; "
                f"CPU time bounds 2 idle cores at {2 * nbytes / cpu / 1e9:.2f} GB/s"
            )
        for name, (best, med, cpu) in rows.items():
            if name == "this":
                continue
            b0, m0, c0 = rows["this"]
            who = "IQUAFLOW/this" if name == "iquaflow" else f"{name}/this"
            print(
                f"  {method} ratio {who}: best wall {best / b0:.2f}x, median wall "
                f"{med / m0:.2f}x, best cpu {cpu_best[name] / cpu_best['this']:.2f}x, "
                f"median cpu {cpu / c0:.2f}x" + ("  (target >= 20x)" if name == "iquaflow" else "")
            )


def _main() -> None:  # pragma: no cover - a measuring script, not a test
    """``python -m benchmarks.bench_snr throughput|peakmem`` (numbers in docs/snr.md).

    ``throughput [--vs TREE ...]``: each method timed in persistent worker processes, one per
    tree (this checkout and e.g. a ``git worktree`` of an older commit) plus IQUAFLOW 1.0.1's
    HB on the real Inria band in its side venv, alternating round by round; prints the best
    and median wall, the median CPU time (all threads), MB/s, and the ratios. ``peakmem``:
    the default method on a 20000² uint16 scene generated per chunk; run it under
    ``/usr/bin/time -v`` and read "Maximum resident set size" (the script prints the RSS
    after imports and JIT for reference).
    """
    import argparse
    import resource
    import time

    import dask
    import dask.array as da

    from iqx.metrics.snr import snr

    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["throughput", "peakmem"])
    ap.add_argument("--chunk", type=int, default=None, help="default 1024 (throughput), 2048")
    ap.add_argument("--methods", default="blocks,hb,immerkaer,hb_inria")
    ap.add_argument("--vs", action="append", default=[], help="another checkout to compare")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if args.what == "throughput":
        args.chunk = args.chunk or 1024
        _throughput(args)
        return
    dask.config.set(scheduler="threads", num_workers=2)
    chunk_edge = args.chunk or 2048
    snr(np.full((64, 64), 1000, np.uint16) + np.arange(64, dtype=np.uint16) % 7)  # jit
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rs = da.random.RandomState(0)
    scene = rs.normal(1000.0, 10.0, size=(20000, 20000), chunks=chunk_edge).astype(np.uint16)
    t0 = time.perf_counter()
    value = float(snr(scene)["snr"][0])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"20000² chunks {chunk_edge}²: {time.perf_counter() - t0:.1f} s, snr {value:.3f} "
        f"(truth 99.96), RSS after imports+JIT {base:.0f} MB, peak {peak:.0f} MB"
    )


if __name__ == "__main__":
    _main()


def _warm_real_band(method: str) -> np.ndarray:
    """The real Inria band, with ``snr(band, method)`` run once (compiled, imported); asv
    skips the class when the fixture is absent."""
    from benchmarks.iquaflow_anchor import read_band
    from iqx.metrics.snr import snr

    band = read_band()
    if band is None:
        raise NotImplementedError("Inria fixture absent")
    snr(band, method)
    return band


class HBRealBand:
    """IQUAFLOW-definition HB on the real 1024² Inria band, iqx vs IQUAFLOW 1.0.1 (side
    venv, ``benchmarks/iquaflow_anchor.py``; NaN when absent)."""

    def setup(self):
        self.band = _warm_real_band("hb")

    def time_hb_inria_band(self):
        from iqx.metrics.snr import snr

        snr(self.band, "hb")

    def track_iquaflow_hb_seconds(self):
        from benchmarks.iquaflow_anchor import iquaflow_seconds

        return float(np.median(iquaflow_seconds("hb", 5)))

    track_iquaflow_hb_seconds.unit = "seconds"


class HARealBand:
    """IQUAFLOW-definition HA on the real 1024² Inria band: iqx (flat mask by
    :func:`iqx.kernels.lbp.lbp_flat`) against the mask alone from scikit-image's
    ``local_binary_pattern`` (what iqx used before, and what IQUAFLOW calls) and against
    IQUAFLOW 1.0.1's whole HA (side venv; NaN when absent)."""

    def setup(self):
        self.band = _warm_real_band("ha")

    def time_ha_inria_band(self):
        from iqx.metrics.snr import snr

        snr(self.band, "ha")

    def time_skimage_lbp_flat_mask(self):
        from skimage.feature import local_binary_pattern

        lbp = local_binary_pattern(self.band, 8, 1, method="uniform")
        ((lbp >= 8) | (lbp <= 0)).astype(np.float64)

    def track_iquaflow_ha_seconds(self):
        from benchmarks.iquaflow_anchor import iquaflow_seconds

        return float(np.median(iquaflow_seconds("ha", 5)))

    track_iquaflow_ha_seconds.unit = "seconds"
