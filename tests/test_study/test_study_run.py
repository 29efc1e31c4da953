"""``iqx study run`` end to end on a tiny image-only study: progress, resume, summary and
answer, and ``iqx study report`` rebuilt from MLflow alone, opened in headless Chromium.

The Chromium part skips when Chromium is absent, but fails when ``IQX_REQUIRE_CHROMIUM=1``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil

import pytest
from PIL import Image

from iqx.cli.main import main
from tests.headless_chromium import chromium_or_skip, dump_dom, screenshot

from .conftest import study_toml

pytest.importorskip("mlflow")


STUDY = study_toml(
    "tiny-jpeg",
    description="JPEG on one small generated scene",
    train="sample",
    modifiers="jpeg.quality = [10, 90]",
    blind=["snr"],
    reference=["ssim"],
    target=("ssim", "within 5% of baseline"),
)


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    from iqx.experiment.sample_dataset import write_sample_dataset

    root = tmp_path_factory.mktemp("study")
    write_sample_dataset(root / "sample", n_images=1, size=128)
    (root / "STUDY.toml").write_text(STUDY)
    return root


@pytest.mark.slow
def test_run_resume_and_report(study, tmp_path, capsys):
    assert main(["study", "run", str(study / "STUDY.toml"), "--format", "json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["runs"] == {"executed": 3, "skipped": 0, "failed": 0}
    rows = {r["setting"]: r for r in first["summary"]}
    assert set(rows) == {"original", "jpeg_q10", "jpeg_q90"}
    assert rows["jpeg_q10"]["bits_per_pixel"] < rows["jpeg_q90"]["bits_per_pixel"] < 8
    assert rows["jpeg_q10"]["ssim"] < rows["jpeg_q90"]["ssim"] < 1
    # the answer agrees with the table: the cheapest setting within 5 % of SSIM 1
    ok = [s for s, r in rows.items() if s != "original" and r["ssim"] >= 0.95]
    best = min(ok, key=lambda s: rows[s]["bits_per_pixel"]) if ok else None
    assert first["cheapest"]["setting"] == best
    assert first["answer"].startswith("The cheapest setting" if best else "No setting")
    assert (study / "report" / "report.html").is_file()

    # re-run: everything resumes, nothing executes; text output has the table and answer
    assert main(["study", "run", str(study / "STUDY.toml"), "--no-report"]) == 0
    out, err = capsys.readouterr()
    assert "0 runs executed, 3 resumed" in out
    assert "jpeg_q10" in out and first["answer"] in out
    assert "3 runs: 3 done, 0 to run" in err

    # the report from MLflow alone: the datasets are gone
    shutil.rmtree(study / "sample")
    for p in study.glob("sample#*"):
        shutil.rmtree(p)
    uri = f"sqlite:///{(study / 'mlflow.db').as_posix()}"
    report_dir = tmp_path / "rebuilt"
    assert (
        main(
            [
                "study",
                "report",
                "tiny-jpeg",
                "--tracking-uri",
                uri,
                "--output",
                str(report_dir),
                "--format",
                "json",
            ]
        )
        == 0
    )
    rebuilt = json.loads(capsys.readouterr().out)
    assert rebuilt["answer"] == first["answer"]
    names = sorted(os.path.basename(p) for p in rebuilt["plots"])
    assert names == ["blind_jpeg.png", "front.png", "task_vs_bpp.png"]
    for p in rebuilt["plots"]:
        with Image.open(p) as im:
            assert im.format == "PNG" and im.size[0] > 200
    html = (report_dir / "report.html").read_text()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html)  # self-contained
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == 3
    assert base64.b64decode(embedded[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "jpeg_q90" in html and "[modifiers]" in html  # table and STUDY.toml

    exe = chromium_or_skip()
    page = report_dir / "report.html"
    dom = dump_dom(exe, page, tmp_path)
    assert dom.count("<img ") == 3 and "jpeg_q10" in dom
    screenshot(exe, page, tmp_path)


def test_check_reports_problems_with_lines(tmp_path, capsys):
    (tmp_path / "STUDY.toml").write_text('[study]\nname = "x"\n[data]\ntrain = "nope"\n')
    assert main(["study", "check", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iqx: error: ") and "line 4: [data.train]" in err
    assert len(err.strip().splitlines()) == 1
