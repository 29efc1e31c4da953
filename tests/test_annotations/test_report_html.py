"""The self-contained HTML report, opened in headless Chromium.

Skips when Chromium is absent, but fails when ``IQX_REQUIRE_CHROMIUM=1`` (set in CI).
"""

from __future__ import annotations

import re

import pytest

from iqx.annotations import DatasetStats
from tests.headless_chromium import chromium_or_skip, dump_dom, screenshot


@pytest.fixture(scope="module")
def chromium():
    return chromium_or_skip()


def _check_report(chromium, html, tmp_path):
    text = html.read_text()
    # self-contained: no external resources
    assert not re.search(r"""(src|href)=["'](https?:)?//""", text)
    assert "<script src" not in text and "<link" not in text
    dom = dump_dom(chromium, html, tmp_path)
    shot = screenshot(chromium, html, tmp_path)
    assert shot.is_file() and shot.stat().st_size > 10_000
    return dom


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
