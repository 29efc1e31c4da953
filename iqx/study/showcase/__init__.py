"""The showcase (``iqx demo``): three studies reproducing the shapes of IQUAFLOW's use cases.

Everything is generated or ships with a package (scikit-learn's 8x8 digits); nothing is
downloaded. Each study is written as a ``STUDY.toml`` under ``<output>/studies/<name>/`` and
run by :func:`~iqx.study.runner.run_study`, so the showcase exercises exactly what users run:

- ``noise-vs-classifier`` (the paper's MNIST case): an MLP on the digits, one run per
  Gaussian-noise sigma with repetitions; the validation error rises with sigma and levels
  off towards chance;
- ``jpeg-vs-detector`` (the DOTA and airport cases): a HOG + logistic-regression aircraft
  detector on generated aerial scenes, its ``output.json`` scored by pycocotools; the
  cheapest JPEG quality keeping mAP@0.5 within a margin of the uncompressed baseline,
  searched by :func:`~iqx.experiment.find_cheapest`;
- ``compression-vs-quality``: JPEG, JPEG 2000 and quantization of a satellite-like scene,
  blind metrics and PSNR/SSIM against bits per pixel; the cheapest setting with SSIM >= 0.95.

Runs go to ``<output>/mlflow.db``; reports to ``<output>/reports/<study>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["DETECTOR_MARGIN", "STUDIES", "run_showcase", "write_studies"]

STUDIES = ("noise-vs-classifier", "jpeg-vs-detector", "compression-vs-quality")
#: the detector study's requirement on mAP@0.5
DETECTOR_MARGIN = "within 0.1 of baseline"
#: quick mode trains on 3 scenes and scores 2: one missed aircraft moves mAP by ~0.1
DETECTOR_MARGIN_QUICK = "within 0.15 of baseline"
_HERE = Path(__file__).resolve().parent


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _write(folder: Path, tables: dict[str, dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for table, items in tables.items():
        lines.append(f"[{table}]")
        lines += [f"{k} = {_toml(v)}" for k, v in items.items()]
        lines.append("")
    path = folder / "STUDY.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def write_studies(output: str | Path, *, quick: bool = False) -> dict[str, Path]:
    """Generate the showcase's data and write its three ``STUDY.toml`` files.

    Parameters
    ----------
    output : path-like
        Working folder (data in ``data/``, studies in ``studies/``, ``mlflow.db``).
    quick : bool
        Smaller data, fewer settings and repetitions (for tests: about a third of the runs).

    Returns
    -------
    dict
        Study name -> its ``STUDY.toml``.
    """
    from iqx.experiment.sample_dataset import write_sample_dataset
    from iqx.study.showcase.data import write_aerial_datasets, write_digits_datasets

    out = Path(output).resolve()
    data = out / "data"
    uri = f"sqlite:///{(out / 'mlflow.db').as_posix()}"
    digits = write_digits_datasets(data, n_digits=700 if quick else 1797)
    aerial = write_aerial_datasets(
        data, n_train=3 if quick else 6, n_val=2 if quick else 4, size=192 if quick else 256
    )
    scene = write_sample_dataset(data / "scene", n_images=1, size=256 if quick else 512)
    studies = out / "studies"
    reports = out / "reports"
    common = {"tracking_uri": uri, "max_parallel": 2}
    paths = {}
    paths["noise-vs-classifier"] = _write(
        studies / "noise-vs-classifier",
        {
            "study": {
                "name": "noise-vs-classifier",
                "description": "Validation error of an MLP on 8x8 digits vs Gaussian noise",
                **common,
                "report": str(reports / "noise-vs-classifier"),
            },
            "data": {"train": str(digits[0]), "val": str(digits[1])},
            "modifiers": {
                "gaussian_noise.sigma": [32, 128, 512] if quick else [16, 32, 64, 128, 256, 512]
            },
            "task": {
                "script": str(_HERE / "digits_train.py"),
                "repetitions": 2 if quick else 3,
            },
            "task.hyperparameters": {"epochs": 60},
            "metrics": {"blind": ["snr"], "reference": []},
            "target": {
                "metric": "val_error",
                "requirement": "within 0.05 of baseline",
                "higher_is_better": False,
            },
        },
    )
    qualities = [5, 30, 100] if quick else [5, 10, 15, 20, 30, 40, 50, 70, 100]
    paths["jpeg-vs-detector"] = _write(
        studies / "jpeg-vs-detector",
        {
            "study": {
                "name": "jpeg-vs-detector",
                "description": "mAP of an aircraft detector on aerial scenes vs JPEG quality",
                **common,
                "report": str(reports / "jpeg-vs-detector"),
            },
            "data": {"train": str(aerial[0]), "val": str(aerial[1])},
            "modifiers": {"jpeg.quality": qualities},
            "task": {"script": str(_HERE / "detector_train.py"), "repetitions": 1 if quick else 2},
            "task.hyperparameters": {"C": 0.05},
            "metrics": {"blind": [], "reference": [], "task": ["bbox_detection"]},
            "target": {
                "metric": "ap_0.5_all",
                "requirement": DETECTOR_MARGIN_QUICK if quick else DETECTOR_MARGIN,
                "search": True,
                "modifier": "jpeg",
            },
        },
    )
    paths["compression-vs-quality"] = _write(
        studies / "compression-vs-quality",
        {
            "study": {
                "name": "compression-vs-quality",
                "description": "Blind and full-reference quality of a satellite-like scene "
                "vs bits per pixel",
                **common,
                "report": str(reports / "compression-vs-quality"),
            },
            "data": {"train": str(scene.data_path)},
            "modifiers": {
                "jpeg.quality": [10, 50, 90] if quick else [10, 30, 50, 70, 90],
                "jpeg2000.ratio": [8, 32] if quick else [4, 8, 16, 32, 64],
                "quantize.bits": [3, 6] if quick else [2, 3, 4, 5, 6, 7],
            },
            "metrics": {"blind": ["snr", "sharpness"], "reference": ["psnr", "ssim"]},
            "target": {"metric": "ssim", "requirement": ">= 0.95"},
        },
    )
    return paths


def run_showcase(
    output: str | Path,
    *,
    quick: bool = False,
    only: tuple[str, ...] = STUDIES,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the showcase's studies (resuming any finished run) and return their results.

    Returns
    -------
    dict
        Study name -> :class:`~iqx.study.runner.StudyResult`.
    """
    from iqx.study import load_study, run_study

    say = progress or (lambda message: None)
    paths = write_studies(output, quick=quick)
    results = {}
    for name in only:
        say(f"--- study {name} ---")
        results[name] = run_study(load_study(paths[name]), progress=say)
    return results
