"""The compression sweep and the cheapest-setting search behind ``iqx demo``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from iqx.cli.main import main
from iqx.errors import InvalidParameterError
from iqx.experiment import cheapest_setting


def _table():
    # two images per setting; means: a=(8 bpp, ssim 1), b=(2, .97), c=(1, .96), d=(0.5, .90)
    rows = []
    for setting, bpp, ssim, rer in [
        ("original", 8.0, 1.0, 0.60),
        ("b", 2.0, 0.97, 0.58),
        ("c", 1.0, 0.96, 0.50),
        ("d", 0.5, 0.90, 0.59),
    ]:
        for image, delta in (("i1", -0.01), ("i2", 0.01)):
            rows.append(
                {
                    "setting": setting,
                    "image": image,
                    "bits_per_pixel": bpp,
                    "ssim": ssim + delta,
                    "rer_x": rer,
                }
            )
    return pd.DataFrame(rows)


def test_cheapest_setting_with_absolute_and_relative_targets():
    table = _table()
    # SSIM >= 0.95 alone: c is the cheapest passing setting (d fails SSIM)
    assert cheapest_setting(table, {"ssim": 0.95})["setting"] == "c"
    # adding RER >= 90 % of the original's (0.54) rules out c (0.50): b wins
    best = cheapest_setting(table, {"ssim": 0.95, "rer_x": 0.9}, relative_to_original=["rer_x"])
    assert best["setting"] == "b"
    assert best["thresholds"]["rer_x"] == pytest.approx(0.54)
    assert [c["setting"] for c in best["candidates"]] == ["d", "c", "b", "original"]


def test_nothing_meets_an_impossible_target():
    assert cheapest_setting(_table(), {"ssim": 1.5})["setting"] is None


def test_unknown_target_column_is_an_error():
    with pytest.raises(InvalidParameterError, match="psnr"):
        cheapest_setting(_table(), {"psnr": 40})


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    args = [
        "demo",
        "--output",
        str(out),
        "--size",
        "256",
        "--images",
        "1",
        "--modifier",
        "jpeg:quality=90",
        "--modifier",
        "jpeg:quality=20",
        "--format",
        "json",
    ]
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    table = pd.read_csv(out / "results.csv").set_index("setting")
    # stronger compression carries fewer bits and gives lower similarity
    assert table.loc["jpeg_q20", "bits_per_pixel"] < table.loc["jpeg_q90", "bits_per_pixel"] < 8
    assert table.loc["jpeg_q20", "ssim"] < table.loc["jpeg_q90", "ssim"] < 1
    assert summary["cheapest"]["setting"] in {None, "jpeg_q90", "jpeg_q20"}
    assert (out / "sample#jpeg_q90" / "iqx_manifest.json").is_file()
    # a second run reuses everything (idempotent modified copies)
    mtime = (out / "sample#jpeg_q90" / "iqx_manifest.json").stat().st_mtime
    assert main(args) == 0
    assert (out / "sample#jpeg_q90" / "iqx_manifest.json").stat().st_mtime == mtime
