"""Generated images (super-resolution tasks): output.json listings, scoring, logging."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
import rasterio
from skimage.metrics import peak_signal_noise_ratio

from iqx.errors import AnnotationError, ShapeMismatchError
from iqx.experiment import ExperimentInfo, ExperimentSetup, PythonScriptTaskExecution
from iqx.experiment.generated import (
    GeneratedImageMetrics,
    generated_entries,
    link_images,
    resolve_entries,
)

SCRIPTS = Path(__file__).parent / "scripts"
LISTINGS = ["list", "images", "folder", "val_ds_output", "absolute"]


def _psnr(gt: Path, files: list[Path]) -> float:
    """Mean PSNR (dB, 8-bit range) of ``files`` against the images of the same name in ``gt``."""
    values = []
    for f in files:
        with rasterio.open(gt / "images" / f.name) as a, rasterio.open(f) as b:
            values.append(peak_signal_noise_ratio(a.read(), b.read(), data_range=255))
    return float(np.mean(values))


# ---------------------------------------------------------------------- listings
def test_listing_shapes():
    assert generated_entries(["sr/a.tif", "b.PNG"]) == (["sr/a.tif", "b.PNG"], False)
    assert generated_entries({"images": ["a.tif"]}) == (["a.tif"], False)
    assert generated_entries({"images": "sr"}) == (["sr"], True)
    assert generated_entries({"val_ds_output": "/abs/sr"}) == (["/abs/sr"], True)
    # not image listings: COCO detections, other objects, lists of other strings
    assert generated_entries([{"image_id": 1, "bbox": [0, 0, 1, 1]}]) is None
    assert generated_entries({"predictions": []}) is None
    assert generated_entries(["cat", "dog"]) is None
    assert generated_entries([]) is None
    with pytest.raises(AnnotationError, match="non-image"):
        generated_entries({"images": ["a.tif", "notes.txt"]})
    with pytest.raises(AnnotationError, match="folder path or a non-empty list"):
        generated_entries({"val_ds_output": 3})


def test_resolve_entries(tmp_path):
    files = ["sr/a.tif", "sr/b.tif", "sr/deep/c.png", "results.json", "logs/console.log"]
    assert resolve_entries(["sr/a.tif", "./sr/b.tif"], False, files) == ["sr/a.tif", "sr/b.tif"]
    assert resolve_entries(["sr"], True, files) == ["sr/a.tif", "sr/b.tif", "sr/deep/c.png"]
    assert resolve_entries(["."], True, files) == ["sr/a.tif", "sr/b.tif", "sr/deep/c.png"]
    # absolute paths (an unchanged IQUAFLOW script): the longest suffix that is an output file
    assert resolve_entries(["/tmp/iqx-run-x/output/sr"], True, files)[0] == "sr/a.tif"
    assert resolve_entries(["/tmp/run/output/sr/b.tif"], False, files) == ["sr/b.tif"]
    # ... or a path that still exists here
    local = tmp_path / "kept.tif"
    local.write_bytes(b"x")
    assert resolve_entries([str(local)], False, files) == [str(local)]
    with pytest.raises(AnnotationError, match=r"leaves the output folder"):
        resolve_entries(["../secret.tif"], False, files)
    with pytest.raises(AnnotationError, match="not among the run's output files"):
        resolve_entries(["sr/zzz.tif"], False, files)
    with pytest.raises(AnnotationError, match="holds no image artifacts"):
        resolve_entries(["logs"], True, files)
    with pytest.raises(AnnotationError, match="neither an output file"):
        resolve_entries(["/nowhere/x.tif"], False, files)


def test_same_file_name_twice_is_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [tmp_path / "a" / "x.tif", tmp_path / "b" / "x.tif"]
    for p in paths:
        p.write_bytes(b"x")
    with pytest.raises(ShapeMismatchError, match="share the file name"):
        link_images(paths, tmp_path / "out")


# ---------------------------------------------------------------------- runs
def _sr_experiment(tiny_dataset, uri, listings, name="sr"):
    setup = ExperimentSetup(
        name,
        PythonScriptTaskExecution(SCRIPTS / "sr_probe.py"),
        tiny_dataset,
        ["jpeg:quality=30"],
        extra_train_params={"listing": listings},
        cloud_options={"tracking_uri": uri},
        max_parallel=1,
        log_interval=0,
    )
    summary = setup.execute()
    assert len(summary.finished) == len(listings) and not summary.failed
    return setup


def test_generated_images_scored_against_ground_truth(tiny_dataset, sqlite_uri, tmp_path):
    _sr_experiment(tiny_dataset, sqlite_uri, LISTINGS)
    info = ExperimentInfo("sr", sqlite_uri)
    runs = info.apply_image_metrics_per_run(
        blind=("snr",), reference=("psnr", "ssim"), source="generated"
    )
    assert len(runs) == len(LISTINGS)
    for run in runs.values():
        produced = sorted(Path(run["artifact_path"], "sr").glob("*.tif"))
        assert [p.name for p in produced] == ["scene_01.tif", "scene_02.tif"]
        m = run["metrics_dict"]
        # default ground truth: the run's reference dataset (ds_reference_path), by file name
        assert m["gen_psnr"] == pytest.approx(_psnr(tiny_dataset, produced), rel=1e-9)
        assert 0.5 < m["gen_ssim"] < 1.0
        assert np.isfinite(m["gen_snr"]) and m["gen_n_images"] == 2
    # every listing shape names the same images
    assert len({round(r["metrics_dict"]["gen_psnr"], 9) for r in runs.values()}) == 1

    # IQUAFLOW's interface: apply_metric_per_run downloads output.json and the listed images
    info.apply_metric_per_run(
        GeneratedImageMetrics(blind=(), reference=("psnr",), prefix="m_"), tiny_dataset
    )
    for run in info.runs.values():
        assert run["metrics_dict"]["m_psnr"] == pytest.approx(run["metrics_dict"]["gen_psnr"])

    # a ground truth without the generated names is an error naming them
    other = tmp_path / "other" / "images"
    other.mkdir(parents=True)
    with rasterio.open(tiny_dataset / "images" / "scene_01.tif") as src:
        profile, data = src.profile, src.read()
    with rasterio.open(other / "unrelated.tif", "w", **profile) as dst:
        dst.write(data)
    with pytest.raises(ShapeMismatchError, match=r"no image names in common|unrelated"):
        info.apply_image_metrics_per_run(
            blind=(), reference=("psnr",), source="generated", gt_path=other.parent
        )


def test_runs_without_generated_images_are_skipped(tiny_dataset, probe_script, sqlite_uri):
    ExperimentSetup(
        "plain",
        PythonScriptTaskExecution(probe_script),
        tiny_dataset,
        [None],
        cloud_options={"tracking_uri": sqlite_uri},
        max_parallel=1,
        log_interval=0,
    ).execute()
    info = ExperimentInfo("plain", sqlite_uri)
    with pytest.warns(UserWarning, match="lists no generated images"):
        runs = info.apply_image_metrics_per_run(reference=("psnr",), source="generated")
    assert not any(k.startswith("gen_") for r in runs.values() for k in r["metrics_dict"])


def test_generated_images_over_http(tiny_dataset, mlflow_server):
    name = f"sr-http-{uuid.uuid4().hex[:8]}"  # the server lives for the whole session
    _sr_experiment(tiny_dataset, mlflow_server, ["absolute"], name=name)
    info = ExperimentInfo(name, mlflow_server)
    (run,) = info.runs.values()
    assert run["artifact_path"].startswith("mlflow-artifacts:")
    info.apply_image_metrics_per_run(blind=(), reference=("psnr",), source="generated")
    (run,) = info.runs.values()
    # the same images, generated again from the same input, scored independently
    produced = info.tracker.download_artifacts(run["run_id"], "sr", tiny_dataset.parent / "dl")
    files = sorted(Path(produced).glob("*.tif"))
    assert len(files) == 2
    assert run["metrics_dict"]["gen_psnr"] == pytest.approx(_psnr(tiny_dataset, files), rel=1e-9)
    df = info.get_df(["modifier", "listing"], ["gen_psnr", "loss"])
    assert df.loc[0, "ds_listing"] == "absolute" and df.loc[0, "loss"] == 0.2
