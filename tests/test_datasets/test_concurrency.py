"""Issue 9, item 7: concurrent identical runs, stale leftovers, hung external programs.

Before: of three identical ``iqx modify`` started at once, 2 exited with status 2 although
the result was complete; ``*.iqx-tmp-*`` folders of killed runs stayed forever; a hung
external program hung iqx (no default timeout) and survived it.
After: all three succeed with the same complete copy; stale leftovers (dead owner pid on
this host) are removed by the next run, live ones kept; the program runs in its own process
group with a timeout, and dies with iqx (``PR_SET_PDEATHSIG``) or on a timeout.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from iqx.datasets import copy_dataset, open_dataset
from iqx.io import _atomic
from iqx.modifiers.external import ExternalCommandError, run_command


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def _wait_dead(pid: int, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_three_identical_modify_at_once(copy_ds, iqf_datasets):
    ds = copy_ds(iqf_datasets / "ds_coco_dataset")
    cmd = [sys.executable, "-m", "iqx.cli.main", "modify", str(ds), "-m", "jpeg:quality=40"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs += [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    out = ds.parent / "ds_coco_dataset#jpeg_q40"
    assert {r[1].splitlines()[0] for r in results} == {str(out)}
    done = open_dataset(out)
    assert len(done.image_files) == 10 and done.manifest["totals"]["n_files"] == 10
    assert [p.name for p in ds.parent.iterdir() if _atomic.is_temporary(p)] == []


def test_stale_leftovers_are_cleaned_live_ones_kept(copy_ds, iqf_datasets, monkeypatch):
    ds = open_dataset(copy_ds(iqf_datasets / "ds_coco_dataset"))
    out = ds.parent_folder / "ds_coco_dataset#base_modifier"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = _atomic._owner()[:6]
    stale = out.with_name(f"{out.name}{_atomic.TMP_MARKER}{host}p{dead.pid}-0123456789ab")
    stale_old = out.with_name(f"{out.name}{_atomic.OLD_MARKER}{host}p{dead.pid}-0123456789ab")
    live = out.with_name(f"{out.name}{_atomic.TMP_MARKER}{host}p{os.getppid()}-0123456789ab")
    other = out.with_name(f"{out.name}{_atomic.TMP_MARKER}ffffffp{dead.pid}-0123456789ab")
    for p in (stale, stale_old, live, other):
        (p / "images").mkdir(parents=True)
        os.utime(p, (time.time() - 60, time.time() - 60))
    copy_dataset(ds)
    left = sorted(p.name for p in ds.parent_folder.iterdir() if _atomic.is_temporary(p))
    assert left == sorted([live.name, other.name])  # live owner / other host: kept


def test_hung_external_program_times_out_with_its_children(tmp_path):
    pids = tmp_path / "pids"
    script = tmp_path / "hang.sh"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pids}\necho $$ >> {pids}\nwait\n")
    script.chmod(0o755)
    t0 = time.monotonic()
    with pytest.raises(ExternalCommandError, match="timed out"):
        run_command(
            [str(script), "{input}", "{output}"],
            tmp_path / "in",
            tmp_path / "out",
            timeout=1.0,
            env=None,
        )
    assert time.monotonic() - t0 < 10
    for pid in map(int, pids.read_text().split()):
        assert _wait_dead(pid), f"process {pid} survived the timeout"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_external_program_dies_with_iqx(tmp_path):
    pidfile = tmp_path / "pid"
    parent = textwrap.dedent(
        f"""
        from pathlib import Path
        from iqx.modifiers.external import run_command
        run_command(["sh", "-c", "echo $$ > {pidfile}; exec sleep 300", "{{input}}",
                     "{{output}}"], Path("in"), Path("out"), timeout=None, env=None)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", parent])
    end = time.monotonic() + 30
    while not (pidfile.is_file() and pidfile.read_text().strip()):
        assert time.monotonic() < end and proc.poll() is None
        time.sleep(0.05)
    child = int(pidfile.read_text())
    assert _alive(child)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _wait_dead(child), "the external program outlived iqx"
