"""What the user reads: every edge direction, low-confidence flags, printed values, parameters.

Ground truth for the values: ``iqx.testing.edges.edge_truth`` (analytic Gaussian edge,
reference/metrics.md section 1).
"""

from __future__ import annotations

import json

import dask
import dask.array as da
import numpy as np
import pytest

from iqx.cli.main import main
from iqx.metrics._sharpness_result import MIN_CONFIDENT_EDGES
from iqx.metrics.sharpness import flat_summary, sharpness
from iqx.testing.edges import edge_truth, parcel_scene, slanted_edge

DIRS = ("x", "y", "other", "all")


@pytest.fixture(scope="module")
def slanted30():
    """One long edge 30 degrees off vertical: direction "other" only."""
    return slanted_edge(256, angle=30.0, sigma=0.7, snr=100, seed=4)


def test_a_30_degree_target_gets_a_result(slanted30):
    s = flat_summary(slanted30, max_length=240, halfwidth=10)
    t = edge_truth(0.7)
    for d in DIRS:
        for key in ("rer", "fwhm", "mtf_nyquist", "mtf_nyquist_pooled", "mtf_half_nyquist"):
            assert f"{key}_{d}" in s
        assert f"n_edges_{d}" in s and f"low_confidence_{d}" in s
    assert s["rer_x"] is None and s["rer_x_reason"] and s["n_edges_x"] == 0
    assert s["n_edges_other"] >= 1 and s["n_edges_all"] == s["n_edges_other"]
    assert abs(s["rer_other"] - t.rer) < 0.01
    assert abs(s["mtf_half_nyquist_other"] - t.mtf_half_nyquist) < 0.02
    assert abs(s["mtf_nyquist_pooled_other"] - t.mtf_nyquist) < 0.02
    assert abs(s["mtf50_other"] / t.mtf50 - 1) < 0.02
    # one or two segments of one edge: fewer than 6, flagged
    assert s["n_edges_other"] < MIN_CONFIDENT_EDGES and s["low_confidence_other"] is True
    json.dumps(s, allow_nan=False)


def test_many_edges_are_not_low_confidence():
    s = flat_summary(parcel_scene(512, sigma=0.7, snr=60, seed=3))
    assert s["n_edges_all"] >= MIN_CONFIDENT_EDGES and s["low_confidence_all"] is False
    t = edge_truth(0.7)
    assert abs(s["mtf_nyquist_all"] - t.mtf_nyquist) < 0.03
    assert s["mtf_nyquist_all"] == s["mtf_nyquist_pooled_all"]  # >= 6 edges: pooled


def test_repr_prints_the_values(slanted30):
    res = sharpness(slanted30, max_length=240, halfwidth=10)
    text = repr(res)
    rer = float(res.dataset.rer.sel(band=1, direction="other"))
    assert f"{rer:.3f}" in text and "RER" in text and "MTF@Nyq" in text
    assert "low confidence" in text and "(no edges)" in text and "dask" not in text


def test_lazy_result_prints_values_and_stays_a_dask_collection(slanted30):
    arr = da.from_array(slanted30, chunks=128)
    lazy = sharpness(arr, compute=False, max_length=240, halfwidth=10)
    assert dask.is_dask_collection(lazy)
    (res,) = dask.compute(lazy)
    text = repr(lazy)
    rer = float(res.dataset.rer.sel(band=1, direction="other"))
    assert f"{rer:.3f}" in text and "Delayed" not in text


def test_registry_exposes_parameters_with_defaults_and_ranges():
    from iqx import registry

    jpeg = {p["name"]: p for p in registry.modifiers.get("jpeg").parameters()}
    assert jpeg["quality"]["default"] == 75 and jpeg["quality"]["range"] == "1..100"
    assert "8" in jpeg["bits"]["range"] and "12" in jpeg["bits"]["range"]
    sh = {p["name"]: p for p in registry.metrics.get("sharpness").parameters()}
    assert sh["halfwidth"]["default"] == 5 and sh["halfwidth"]["range"] == ">=4"
    assert sh["method"]["default"] == "iso"


def test_cli_list_shows_parameters(capsys):
    assert main(["list", "modifiers"]) == 0
    out = capsys.readouterr().out
    assert "quality=75  [1..100]" in out
    assert main(["list", "metrics", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    sh = next(m for m in data["metrics"] if m["id"] == "sharpness")
    assert any(p["name"] == "min_snr" and p["default"] == 6.0 for p in sh["parameters"])


def test_cli_measure_reports_every_direction_and_the_snr_note(tmp_path, slanted30, capsys):
    from iqx.io import write_image

    path = tmp_path / "edge30.tif"
    write_image(np.rint(slanted30).astype(np.uint16), path)
    assert main(["measure", str(path), "--format", "json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["n_edges_other"] >= 1 and row["rer_other"] is not None
    assert row["rer_x"] is None and row["low_confidence_other"] is True
    assert main(["measure", str(path)]) == 0
    text = capsys.readouterr().out
    assert "other" in text and "low confidence" in text
    assert "raises" in text  # denoising by compression or blur raises the measured SNR
    with pytest.raises(SystemExit):
        main(["measure", "--help"])
    help_text = capsys.readouterr().out
    assert "Use 'snr'" in help_text and "raises it" in help_text
