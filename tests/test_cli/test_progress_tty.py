"""Progress bars of the dataset commands, seen through a real pseudo-terminal.

Each command runs in a child process whose stderr is the slave side of ``os.openpty()``
(a terminal to the child: ``isatty()`` is true) and whose stdout is a pipe, so the test
sees exactly what a user's terminal would show on stderr and the results separately. The
bar must appear there (counts, percent, ETA or total time), must not appear with
``--quiet``, and must not appear when stderr is a pipe; stdout carries the same results
in every case.
"""

from __future__ import annotations

import errno
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")

N_IMAGES = 6


def _run(argv: list[str], *, tty: bool, cwd: Path, timeout: float = 300) -> tuple[int, str, str]:
    """``iqx argv`` in a child: (exit status, stdout, stderr); stderr on a pty if ``tty``."""
    env = {**os.environ, "IQX_PROGRESS_DELAY": "0", "COLUMNS": "120"}
    env.pop("IQX_QUIET", None)
    cmd = [sys.executable, "-m", "iqx.cli.main", *argv]
    if not tty:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
        )
        return proc.returncode, proc.stdout, proc.stderr
    master, slave = os.openpty()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, cwd=cwd, env=env
    )
    os.close(slave)
    err, out = bytearray(), bytearray()
    deadline = time.monotonic() + timeout
    streams = [master, proc.stdout.fileno()]
    while streams and time.monotonic() < deadline:
        ready, _, _ = select.select(streams, [], [], 1.0)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError as exc:  # EIO: the child closed the terminal
                if exc.errno != errno.EIO:
                    raise
                chunk = b""
            if not chunk:
                streams.remove(fd)
            else:
                (err if fd == master else out).extend(chunk)
    os.close(master)
    code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    proc.stdout.close()
    return code, out.decode(), err.decode(errors="replace")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A dataset of six 96x96 RGB GeoTIFF tiles and its JPEG copy, in a fresh folder."""
    import rasterio
    from affine import Affine

    root = tmp_path_factory.mktemp("tty")
    images = root / "tiles" / "images"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for k in range(N_IMAGES):
        x = np.mgrid[0:96, 0:96][1]
        base = 100 + 80 * ((x + 3 * k) // 16 % 2) + rng.normal(0, 4, (3, 96, 96))
        with rasterio.open(
            images / f"t{k}.tif", "w", driver="GTiff", width=96, height=96, count=3,
            dtype="uint8", crs="EPSG:32630", transform=Affine(0.5, 0, 0, 0, -0.5, 0),
        ) as dst:  # fmt: skip
            dst.write(np.clip(base, 0, 255).astype(np.uint8))
    return root


def _bar_lines(err: str) -> list[str]:
    """The states the bar drew (each redraw starts with a carriage return)."""
    return [s.replace("\x1b[K", "").strip() for s in err.split("\r") if "[" in s and "%" in s]


def test_modify_draws_a_bar_on_a_terminal_only(work):
    argv = ["modify", "tiles", "-m", "jpeg:quality=60", "--overwrite"]
    code, out, err = _run(argv, tty=True, cwd=work)
    assert code == 0, err
    states = _bar_lines(err)
    assert states, f"no bar on the terminal: {err!r}"
    assert states[-1].startswith(f"modify  {N_IMAGES}/{N_IMAGES} images 100%"), states[-1]
    assert "/s" in states[-1] and "in 0:" in states[-1]
    assert out.strip().endswith("tiles#jpeg_q60") or "tiles#jpeg_q60" in out
    # --quiet: same results, nothing on the terminal
    code, out_q, err_q = _run([*argv, "--quiet"], tty=True, cwd=work)
    assert code == 0 and err_q == "" and out_q == out
    # stderr not a terminal: nothing either
    code, out_p, err_p = _run(argv, tty=False, cwd=work)
    assert code == 0 and err_p == "" and out_p == out


def test_measure_dataset_bar_counts_images_and_results_stay_on_stdout(work):
    argv = ["measure", "tiles", "--metrics", "snr", "--workers", "2", "--format", "json"]
    code, out, err = _run(argv, tty=True, cwd=work)
    assert code == 0, err
    states = _bar_lines(err)
    assert states and states[-1].startswith(f"measure  {N_IMAGES}/{N_IMAGES} images 100%")
    assert any("ETA" in s for s in states) or len(states) == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["image"] for r in rows] == [f"t{k}.tif" for k in range(N_IMAGES)]


def test_compare_datasets_and_single_scenes(work):
    _run(["modify", "tiles", "-m", "jpeg:quality=60", "--quiet"], tty=False, cwd=work)
    argv = ["compare", "tiles", "tiles#jpeg_q60", "--format", "json"]
    code, out, err = _run(argv, tty=True, cwd=work)
    assert code == 0, err
    states = _bar_lines(err)
    assert states and states[-1].startswith(f"compare  {N_IMAGES}/{N_IMAGES} images 100%")
    assert len(out.splitlines()) == N_IMAGES
    # one pair of files: the bar counts dask tasks
    pair = ["compare", "tiles/images/t0.tif", "tiles#jpeg_q60/images/t0.tif"]
    code, out1, err1 = _run(pair, tty=True, cwd=work)
    assert code == 0, err1
    assert any(" tasks " in s and s.startswith("compare  ") for s in _bar_lines(err1)), err1
    code, out1_q, err1_q = _run([*pair, "-q"], tty=True, cwd=work)
    assert code == 0 and err1_q == "" and out1_q == out1


def test_stats_reads_headers_under_a_bar(work, tmp_path):
    argv = ["stats", "tiles", "-o", str(tmp_path / "stats"), "--no-plots"]
    code, out, err = _run(argv, tty=True, cwd=work)
    assert code == 0, err
    states = _bar_lines(err)
    assert states and states[-1].startswith(f"stats  {N_IMAGES}/{N_IMAGES} images 100%")
    assert f"{N_IMAGES} images" in out
