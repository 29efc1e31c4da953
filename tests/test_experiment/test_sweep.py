"""The compression sweep, the cheapest-setting choice, and the image-quality study of ``iqx demo``."""

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
    """The showcase's image-quality study (``iqx demo --quick``): real runs, resumable."""
    out = tmp_path / "demo"
    args = ["demo", "--quick", "--only", "compression-vs-quality", "--output", str(out)]
    assert main([*args, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    study = doc["studies"]["compression-vs-quality"]
    table = pd.DataFrame(study["summary"]).set_index("setting")
    # stronger compression carries fewer bits and gives lower similarity
    assert table.loc["jpeg_q10", "bits_per_pixel"] < table.loc["jpeg_q90", "bits_per_pixel"] < 8
    assert table.loc["jpeg_q10", "ssim"] < table.loc["jpeg_q90", "ssim"] < 1
    assert table.loc["quantize_b3", "psnr"] < table.loc["quantize_b6", "psnr"]
    # the answer is the cheapest setting of the table meeting SSIM >= 0.95
    ok = table[(table.index != "original") & (table["ssim"] >= 0.95)]
    expected = ok["bits_per_pixel"].idxmin() if len(ok) else None
    assert study["cheapest"]["setting"] == expected
    assert (out / "data" / "scene#jpeg_q90" / "iqx_manifest.json").is_file()
    # a second run resumes: no run executes, the modified copies are reused
    mtime = (out / "data" / "scene#jpeg_q90" / "iqx_manifest.json").stat().st_mtime
    assert main([*args, "--format", "json"]) == 0
    again = json.loads(capsys.readouterr().out)["studies"]["compression-vs-quality"]
    assert again["runs"]["executed"] == 0 and again["answer"] == study["answer"]
    assert (out / "data" / "scene#jpeg_q90" / "iqx_manifest.json").stat().st_mtime == mtime
