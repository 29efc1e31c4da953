"""The shipped sensor x JPEG study (docs/examples/sensor-jpeg-niirs) run as a user runs it.

``iqx study run STUDY.toml`` from the study's folder (relative paths, a real SQLite MLflow
store) on two small generated GeoTIFF scenes, then ``iqx study report`` opened in headless
Chromium. The answer must agree with the physics and with its own table: NIIRS falls with a
smaller aperture and with a lower JPEG quality, the cheapest setting meets ``niirs >= 4.7``
and no cheaper setting does. Nothing here is a stored result: every number is measured.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
from pathlib import Path

import pytest

from iqx.cli.main import main
from tests.headless_chromium import chromium_or_skip, dump_dom

pytest.importorskip("mlflow")

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "sensor-jpeg-niirs"


def _make_chips(folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_chips", folder / "make_chips.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--output", str(folder / "chips"), "--size", "256"])


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("niirs_study")
    for name in ("STUDY.toml", "make_chips.py"):
        shutil.copyfile(EXAMPLE / name, root / name)
    _make_chips(root)
    return root


@pytest.mark.slow
def test_sensor_jpeg_niirs_study_end_to_end(study_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(study_dir)
    assert main(["study", "run", "STUDY.toml", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == {"executed": 10, "skipped": 0, "failed": 0}
    rows = {r["setting"]: r for r in doc["summary"]}
    base = rows.pop("original")
    assert len(rows) == 9
    assert {r["family"] for r in rows.values()} == {"sensor+jpeg"}
    grid = {}
    for r in rows.values():
        d = float(re.fullmatch(r"sensor\.D=([\d.]+)", r["series"]).group(1))
        grid[d, int(r["strength"])] = r
        assert 0 < r["niirs_se"] < 0.2 and 3.0 < r["niirs"] < 7.0
        assert r["niirs_gsd_m"] == pytest.approx(0.5)  # the sensor keeps the 0.5 m GSD
    assert sorted(grid) == [(d, q) for d in (0.35, 0.7, 1.1) for q in (10, 30, 90)]
    assert 4.5 < base["niirs"] < 6.0  # 0.5 m GSD, a sharp generated scene

    def differ(a, b):  # a above b by more than the measurement's 95 % interval allows
        return a["niirs"] - b["niirs"] > 1.96 * math.hypot(a["niirs_se"], b["niirs_se"])

    # NIIRS falls with a smaller aperture (every quality) and with a lower quality (every D)
    for q in (10, 30, 90):
        assert differ(grid[1.1, q], grid[0.35, q]), (q, grid[1.1, q], grid[0.35, q])
        assert grid[1.1, q]["niirs"] > grid[0.7, q]["niirs"] > grid[0.35, q]["niirs"]
        for rer in ("niirs_rer_x", "niirs_rer_y"):  # the input the aperture acts on
            assert grid[1.1, q][rer] > grid[0.7, q][rer] > grid[0.35, q][rer]
    for d in (0.35, 0.7, 1.1):
        assert differ(grid[d, 90], grid[d, 10]), (d, grid[d, 90], grid[d, 10])
        assert grid[d, 90]["niirs"] > grid[d, 30]["niirs"] > grid[d, 10]["niirs"]
        assert grid[d, 90]["bits_per_pixel"] > grid[d, 30]["bits_per_pixel"]
        assert grid[d, 30]["bits_per_pixel"] > grid[d, 10]["bits_per_pixel"]
    for r in rows.values():  # the sensor blurs, JPEG discards: below the unmodified scene
        assert r["niirs"] < base["niirs"]

    # the answer agrees with the table: the cheapest setting meeting NIIRS >= 4.7
    cheap = doc["cheapest"]
    assert cheap["threshold"] == pytest.approx(4.7)
    meeting = [s for s, r in rows.items() if r["niirs"] >= 4.7]
    assert meeting, "the study's target should be reachable on the generated scenes"
    best = min(meeting, key=lambda s: rows[s]["bits_per_pixel"])
    assert cheap["setting"] == best
    assert cheap["metric_value"] == pytest.approx(rows[best]["niirs"])
    assert cheap["metric_se"] == pytest.approx(rows[best]["niirs_se"])
    assert all(
        r["niirs"] < 4.7 for r in rows.values() if r["bits_per_pixel"] < cheap["bits_per_pixel"]
    )
    assert doc["answer"].startswith("The cheapest setting meeting niirs >= 4.7 is ")
    assert "±" in doc["answer"] and "0.3 NIIRS" in doc["answer"]

    # the report rebuilt from MLflow alone, from the folder, as a user would
    shutil.rmtree(study_dir / "chips")
    for p in study_dir.glob("chips#*"):
        shutil.rmtree(p)
    assert main(["study", "report", "sensor-jpeg-niirs", "--output", "rebuilt"]) == 0
    out = capsys.readouterr().out
    assert doc["answer"] in out
    report = study_dir / "rebuilt"
    names = sorted(p.name for p in report.glob("*.png"))
    assert names == ["blind_sensor+jpeg.png", "front.png", "niirs_vs_bpp.png"]
    html = (report / "report.html").read_text()
    assert "<th>niirs</th><th>niirs_se</th>" in html and 'id="niirs-note"' in html
    assert "<th>series</th>" in html and "sensor.D=0.35" in html
    assert "<th>niirs_rer_x</th>" in html and "<th>niirs_snr</th>" in html

    exe = chromium_or_skip()
    dom = dump_dom(exe, report / "report.html", tmp_path)
    assert dom.count("<img ") == 3 and "niirs_vs_bpp.png" in dom
