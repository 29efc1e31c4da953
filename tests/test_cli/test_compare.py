"""``iqx compare``: JSON lines per image, two rasters or two dataset folders.

Expected values: ``skimage.metrics.peak_signal_noise_ratio`` and ``structural_similarity``
(Wang-2004 Gaussian arguments, or skimage's 7x7 default for ``--window uniform``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from iqx.cli.main import main
from iqx.io import write_image

GAUSS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False}


@pytest.fixture(autouse=True)
def _only_compare(monkeypatch):
    """Build ``iqx`` with this subcommand only (other subcommands are tested on their own)."""
    import iqx.cli.main as cli_main

    monkeypatch.setattr(cli_main, "SUBCOMMANDS", ("compare",))


def _images(seed):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:64, :80]
    ref = np.clip(120 + 60 * np.sin(y / 6.0) * np.cos(x / 9.0) + rng.normal(0, 4, (64, 80)), 0, 255)
    test = np.clip(ref + rng.normal(0, 10, ref.shape), 0, 255)
    return ref.astype(np.uint8), test.astype(np.uint8)


@pytest.fixture
def folders(tmp_path):
    ref_dir, test_dir = tmp_path / "ds" / "images", tmp_path / "ds#noise" / "images"
    ref_dir.mkdir(parents=True)
    test_dir.mkdir(parents=True)
    arrays = {}
    for i, name in enumerate(["x1.png", "x2.png"]):
        r, t = _images(i)
        write_image(r, ref_dir / name)
        write_image(t, test_dir / name)
        arrays[name] = (r, t)
    return tmp_path / "ds", tmp_path / "ds#noise", arrays


def test_two_datasets_json_lines(folders, capsys):
    ref, test, arrays = folders
    assert main(["compare", str(ref), str(test), "--metrics", "psnr,ssim", "--format", "json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["image"] for d in lines] == ["x1.png", "x2.png"]
    for d in lines:
        r, t = arrays[d["image"]]
        assert set(d) == {"image", "psnr", "ssim", "data_range", "data_range_source"}
        assert d["psnr"] == pytest.approx(peak_signal_noise_ratio(r, t), rel=1e-12)
        assert d["ssim"] == pytest.approx(structural_similarity(r, t, **GAUSS), abs=1e-6)


def test_two_rasters_uniform_window_and_summary(folders, capsys):
    ref, test, arrays = folders
    args = ["compare", str(ref / "images" / "x2.png"), str(test / "images" / "x2.png")]
    args += ["--metrics", "ssim", "--window", "uniform", "--data-range", "255", "--summary"]
    assert main([*args, "--format", "json"]) == 0
    first, summary = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    r, t = arrays["x2.png"]
    assert first["ssim"] == pytest.approx(structural_similarity(r, t, data_range=255), abs=1e-6)
    assert summary["summary"] is True and summary["n_images"] == 1
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("x2.png: ssim=")


def test_identical_images_give_null_psnr(folders, capsys):
    ref, _, _ = folders
    path = str(ref / "images" / "x1.png")
    assert main(["compare", path, path, "--metrics", "psnr", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["psnr"] is None


def test_errors_are_one_line(folders, capsys):
    ref, test, _ = folders
    (test / "images" / "x2.png").unlink()
    assert main(["compare", str(ref), str(test)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iqx: error:") and "x2.png" in err
    assert main(["compare", str(ref), str(test), "--skip-missing", "--format", "json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["compare", str(ref), str(test), "--metrics", "nope"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert main(["compare", str(ref), str(ref / "missing")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["compare", str(ref), str(test), "--metrics", "ergas", "--skip-missing"]) == 2
    assert "ratio" in capsys.readouterr().err
