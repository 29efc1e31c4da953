"""Ports of IQUAFLOW's ``tests/test_ds_stats.py`` (the assertions that do not depend on
IQUAFLOW's list-of-entries output format) and a smoke port of ``tests/test_sanity_check.py``.

Upstream: satellogic/iquaflow ``tests/`` (commit a0972db).
"""

from __future__ import annotations

import json
import os

from iqx.compat.iquaflow import DsStats, DSWrapper, SanityCheck

CAT_IDS = [1, 2, 4, 17, 21, 27, 28, 31, 44, 46, 47, 49, 50, 51, 55, 61, 64, 67, 72, 74, 76]
CAT_IDS += [78, 79, 81, 82, 85]
CAT_COUNTS = [32, 1, 1, 1, 9, 1, 1, 1, 14, 1, 8, 5, 2, 7, 7, 1, 1, 2, 8, 9, 6, 1, 6, 3, 1, 1]


def test_ds_wrapper_integration(coco_ds, tmp_path):
    """Port of ``test_ds_stats.py::TestDsStats::test_ds_wrapper_integration``."""
    dss = DsStats(ds_wrapper=DSWrapper(data_path=str(coco_ds)), output_path=str(tmp_path / "o"))
    assert dss.data_path == str(coco_ds)


def test_perform_stats_coco(coco_ds, tmp_path):
    """Port of ``test_ds_stats.py::TestDsStats::test_perform_stats_coco``: image mean
    height/width and the class histogram (ids, names, counts), ``stats.json`` written."""
    out = tmp_path / "stats"
    dss = DsStats(data_path=str(coco_ds), output_path=str(out))
    stats = dss.perform_stats(False)
    assert stats["images"]["mean_height"] == 496.2
    assert stats["images"]["mean_width"] == 580.2
    classes = stats["annotation_files"][0]["classes"]
    assert classes["ids"] == CAT_IDS
    assert classes["names"][:3] == ["person", "bicycle", "motorcycle"]
    assert classes["names"][-1] == "clock"
    assert classes["counts"] == CAT_COUNTS
    assert json.loads((out / "stats.json").read_text())["images"]["mean_width"] == 580.2


def test_perform_stats_geojson(geo_ds, tmp_path):
    """Port of ``test_ds_stats.py::TestDsStats::test_perform_stats_geojson`` (image sizes,
    the annotation file found is the ``.geojson``)."""
    dss = DsStats(data_path=str(geo_ds), output_path=str(tmp_path / "stats"))
    stats = dss.perform_stats(False)
    assert stats["images"]["mean_height"] == 90 and stats["images"]["mean_width"] == 90
    assert dss.annotfns[0].endswith(".geojson")


def test_sanity_check_clean_coco(coco_ds, tmp_path):
    """Smoke port of ``test_sanity_check.py``: IQUAFLOW's ``SanityCheck(data_path,
    output_path)`` signature, ``check_annotations()`` list of problem dicts, ``autofix()``
    writing the sanitized annotations into ``output_path``."""
    out = tmp_path / "sanitized"
    sc = SanityCheck(data_path=str(coco_ds), output_path=str(out))
    problems = sc.check_annotations()
    assert isinstance(problems, list)
    assert all("err_code" in p for p in problems)
    sc.autofix()
    assert os.path.isfile(out / "coco_annotations.json")
    SanityCheck(ds_wrapper=DSWrapper(data_path=str(coco_ds)), output_path=str(out)).autofix()
