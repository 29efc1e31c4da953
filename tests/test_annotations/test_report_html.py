"""The self-contained HTML report, opened in headless Chromium.

Skips when Chromium is absent, but fails when ``IQX_REQUIRE_CHROMIUM=1`` (set in CI).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from PIL import Image

from iqx.annotations import DatasetStats


@pytest.fixture(scope="module")
def chromium():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None and os.path.exists("/usr/bin/chromium"):
        exe = "/usr/bin/chromium"
    if exe is None:
        msg = "headless Chromium not found (apt-get install chromium)"
        if os.environ.get("IQX_REQUIRE_CHROMIUM") == "1":
            pytest.fail(msg + " and IQX_REQUIRE_CHROMIUM=1")
        pytest.skip(msg)
    return exe


def _chromium(exe, tmp_path, *args):
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
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def _check_report(chromium, html, tmp_path):
    text = html.read_text()
    # self-contained: no external resources
    assert not re.search(r"""(src|href)=["'](https?:)?//""", text)
    assert "<script src" not in text and "<link" not in text
    dom = _chromium(chromium, tmp_path, "--dump-dom", html.as_uri())
    assert 'data-status="ok"' in dom.stdout, dom.stdout[:300] + dom.stderr[-2000:]
    assert "Uncaught" not in dom.stderr
    shot = tmp_path / "shot.png"
    run = _chromium(
        chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,900", html.as_uri()
    )
    assert "Uncaught" not in run.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    with Image.open(shot) as im:
        assert im.size == (1280, 900)
        assert len(im.convert("L").getcolors(1 << 16) or []) > 20  # not a blank page
    return dom.stdout


def test_report_coco_fixture(shared_data, chromium, tmp_path):
    ds = DatasetStats(shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_coco_dataset")
    written = ds.write(tmp_path / "out", html=True)
    dom = _check_report(chromium, written["html"], tmp_path)
    # the table was rendered by the script (100 rows on the first page) with all 130 counted
    assert "130 of 130 annotations" in dom
    assert dom.count("<figure") == 10 and dom.count("<rect ") == 130


def test_report_geojson_fixture_draws_polygons(shared_data, chromium, tmp_path):
    ds = DatasetStats(shared_data / "iquaflow_fixtures" / "test_datasets" / "ds_geo_dataset")
    written = ds.write(tmp_path / "out", html=True, plots=False)
    dom = _check_report(chromium, written["html"], tmp_path)
    assert dom.count("<polygon ") == 15


def test_report_preview_is_bounded(make_coco, tmp_path):
    ds = DatasetStats(make_coco())
    html = ds.write(tmp_path / "out", html=True, plots=False, max_preview=2)["html"]
    assert html.read_text().count("<figure") == 2
