"""Headless Chromium for the tests that open iqx's HTML reports.

:func:`chromium_or_skip` skips where Chromium is absent, but fails when
``IQX_REQUIRE_CHROMIUM=1`` (set in CI). Call it where a test's browser part starts, so that
the checks before it still run on a machine without Chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image


def chromium_or_skip() -> str:
    """The Chromium executable; skips (or fails under ``IQX_REQUIRE_CHROMIUM=1``) without one."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None and os.path.exists("/usr/bin/chromium"):
        exe = "/usr/bin/chromium"
    if exe is None:
        msg = "headless Chromium not found (apt-get install chromium)"
        if os.environ.get("IQX_REQUIRE_CHROMIUM") == "1":
            pytest.fail(msg + " and IQX_REQUIRE_CHROMIUM=1")
        pytest.skip(msg)
    return exe


def run_chromium(exe: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile in ``tmp_path`` and its log on stderr."""
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def dump_dom(exe: str, page: Path, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran; asserts that they set ``data-status="ok"`` and
    that no error went uncaught."""
    dom = run_chromium(exe, tmp_path, "--dump-dom", page.as_uri())
    assert 'data-status="ok"' in dom.stdout, dom.stdout[:300] + dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    return dom.stdout


def screenshot(exe: str, page: Path, tmp_path: Path) -> Path:
    """A 1280×900 screenshot of the page; asserts no uncaught error and a page not blank."""
    shot = tmp_path / "shot.png"
    run = run_chromium(
        exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()
    )
    assert "Uncaught" not in run.stderr
    with Image.open(shot) as im:
        assert im.size == (1280, 900)
        assert len(im.convert("L").getcolors(1 << 16) or []) > 20  # not a blank page
    return shot
