"""Images a run generated (super-resolution and other image-to-image tasks), and their scores.

A script that generates images writes them into its output folder (``--outputpath``), so
they become artifacts of its run, and lists them in ``output.json`` in one of these shapes:

- a JSON list of image paths: ``["sr/scene_01.tif", "sr/scene_02.tif"]``;
- ``{"images": [...]}`` (a list of paths) or ``{"images": "sr"}`` (a folder);
- IQUAFLOW's ``{"val_ds_output": "sr"}`` (a folder, as its super-resolution use case wrote).

Paths are relative to the output folder (POSIX separators, no ``..``). An absolute path, as
an unchanged IQUAFLOW script writes (``os.path.join(args.outputpath, "sr")``), is matched to
the run's artifact whose path is its longest suffix; failing that, a file or folder that still
exists on this machine is used as it is. A folder contributes every image file below it.
Anything else in ``output.json`` (e.g. a COCO detections list) is not an image listing.

:class:`GeneratedImageMetrics` is an IQUAFLOW-style run metric (``apply(predictions,
gt_path)``) scoring those images: blind metrics on the generated images and full-reference
metrics against the ground-truth images **of the same file name** in ``gt_path`` (a dataset
folder, or a flat folder of images).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from iqx.errors import AnnotationError, InvalidParameterError, ShapeMismatchError
from iqx.metrics._base import RunMetric

__all__ = [
    "GeneratedImageMetrics",
    "generated_entries",
    "link_images",
    "resolve_entries",
]

#: keys of an ``output.json`` object that name generated images
LISTING_KEYS = ("images", "val_ds_output")


def _is_image_name(name: str) -> bool:
    from iqx.datasets.layout import IMAGE_EXTENSIONS

    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS


def generated_entries(data: Any) -> tuple[list[str], bool] | None:
    """The image listing of a parsed ``output.json``: ``(entries, entries_are_folders)``.

    Returns ``None`` when ``data`` lists no generated images (e.g. COCO detections).

    Raises
    ------
    AnnotationError
        ``{"images": ...}`` or ``{"val_ds_output": ...}`` holding something other than a
        path or a list of paths.
    """
    if isinstance(data, list):
        if data and all(isinstance(v, str) and _is_image_name(v) for v in data):
            return list(data), False
        return None
    if not isinstance(data, dict):
        return None
    for key in LISTING_KEYS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, str) and value:
            return [value], True
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            bad = [v for v in value if not _is_image_name(v)]
            if bad:
                raise AnnotationError(f"output.json: {key!r} lists non-image files: {bad[:5]}")
            return list(value), False
        raise AnnotationError(
            f"output.json: {key!r} must be a folder path or a non-empty list of image paths, "
            f"got {value!r:.80}"
        )
    return None


def _relative(entry: str) -> str:
    parts = PurePosixPath(entry.replace("\\", "/")).parts
    if ".." in parts:
        raise AnnotationError(f"output.json: {entry!r} leaves the output folder ('..')")
    return PurePosixPath(*[p for p in parts if p != "."]).as_posix() if parts else "."


def _longest_suffix(entry: str, available: set[str]) -> str | None:
    parts = PurePosixPath(entry.replace("\\", "/")).parts[1:]  # drop the root
    for i in range(len(parts)):
        candidate = PurePosixPath(*parts[i:]).as_posix()
        if candidate in available:
            return candidate
    return None


def resolve_entries(entries: Sequence[str], folders: bool, available: Iterable[str]) -> list[str]:
    """Image files named by ``entries``, among ``available`` output-folder files.

    Parameters
    ----------
    entries : sequence of str
        What ``output.json`` listed (:func:`generated_entries`).
    folders : bool
        ``entries`` are folders (every image file below them counts).
    available : iterable of str
        Relative POSIX paths of the run's output files (artifacts).

    Returns
    -------
    list of str
        Relative paths among ``available`` and, for absolute entries with no such match,
        absolute paths that exist on this machine.

    Raises
    ------
    AnnotationError
        An entry that is neither an output file nor an existing local path, a folder without
        images, or a ``..`` path.
    """
    files = set(available)
    dirs = {p.as_posix() for f in files for p in PurePosixPath(f).parents} - {"."}
    out: list[str] = []
    for entry in entries:
        if PurePosixPath(entry.replace("\\", "/")).is_absolute():
            rel = _longest_suffix(entry, dirs if folders else files)
            if rel is None:
                local = Path(entry)
                if folders and local.is_dir():
                    out += sorted(str(p) for p in local.rglob("*") if _is_image_name(p.name))
                    continue
                if not folders and local.is_file():
                    out.append(str(local))
                    continue
                raise AnnotationError(
                    f"output.json: {entry!r} is neither an output file of the run nor a path on "
                    "this machine (write paths relative to --outputpath)"
                )
        else:
            rel = _relative(entry)
        if folders:
            prefix = "" if rel == "." else rel + "/"
            found = sorted(f for f in files if f.startswith(prefix) and _is_image_name(f))
            if not found:
                raise AnnotationError(f"output.json: folder {entry!r} holds no image artifacts")
            out += found
        elif rel in files:
            out.append(rel)
        else:
            raise AnnotationError(f"output.json: {entry!r} is not among the run's output files")
    return out


def link_images(paths: Sequence[Path], folder: Path) -> Path:
    """Gather ``paths`` as ``folder/images/<file name>`` (a dataset folder); return ``folder``.

    Raises
    ------
    ShapeMismatchError
        Two generated images share a file name (matching by name would be ambiguous).
    """
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Path] = {}
    for path in paths:
        if path.name in seen:
            raise ShapeMismatchError(
                f"generated images {seen[path.name]} and {path} share the file name "
                f"{path.name!r}; ground truth is matched by file name"
            )
        seen[path.name] = path
        try:
            os.symlink(path.resolve(), images / path.name)
        except OSError:  # file systems without symlinks
            shutil.copy2(path, images / path.name)
    return folder


def _ideal(metric: str) -> float | None:
    return {"ssim": 1.0, "ms_ssim": 1.0, "mse": 0.0, "rmse": 0.0}.get(metric)


def image_scores(
    data: str | Path,
    ground_truth: str | Path | None,
    blind: Sequence[str],
    reference: Sequence[str],
    prefix: str,
    bit_depth: int | None = None,
) -> dict[str, float]:
    """Mean over images of blind metrics of ``data`` and full-reference metrics against
    ``ground_truth`` (images matched by file name; every image of ``data`` must have one).

    Non-finite means (no edge found, identical images' PSNR) are left out. ``bit_depth``
    declares the images' bits per sample (PSNR/SSIM's range; default: each pair's own).
    """
    from iqx.datasets import open_dataset
    from iqx.datasets.compare import compare_datasets, match_images
    from iqx.experiment.measure import blind_table

    out: dict[str, float] = {}
    ds = open_dataset(data)
    if blind:
        means = blind_table(ds.data_path, blind).mean(numeric_only=True)
        out.update({f"{prefix}{k}": float(v) for k, v in means.items()})
    if reference:
        if ground_truth is None:
            raise InvalidParameterError("full-reference metrics need a ground truth")
        gt = open_dataset(ground_truth)
        if gt.data_path == ds.data_path:
            out.update({f"{prefix}{m}": _ideal(m) for m in reference if _ideal(m) is not None})
        else:
            matched = {n for n, _, _ in match_images(gt, ds, on_missing="skip")}
            lost = sorted(p.name for p in ds.image_files if p.name not in matched)
            if lost:
                raise ShapeMismatchError(
                    f"no ground truth of the same name in {gt.data_path} for {lost[:5]}"
                )
            frame = compare_datasets(
                gt, ds, metrics=list(reference), on_missing="skip", bit_depth=bit_depth
            )
            frame = frame.drop(columns=["data_range"], errors="ignore")
            means = frame.mean(numeric_only=True)
            out.update({f"{prefix}{k}": float(v) for k, v in means.items()})
    out[f"{prefix}n_images"] = float(len(ds.image_files))
    return {k: v for k, v in out.items() if v is not None and math.isfinite(v)}


class GeneratedImageMetrics(RunMetric):
    """Score the images a run generated (listed in its ``output.json``).

    Parameters
    ----------
    blind : sequence of str
        Blind metric families measured on the generated images (``"snr"``,
        ``"sharpness"``).
    reference : sequence of str
        Registered full-reference metrics (``"psnr"``, ``"ssim"``, ...) against the
        ground-truth image of the same file name.
    prefix : str
        Prepended to every returned name (``gen_psnr``, ``gen_snr``, ``gen_rer_x``, ...).

    Notes
    -----
    ``apply(predictions, gt_path)``: ``predictions`` is a local ``output.json`` whose image
    paths resolve against its folder (as :meth:`ExperimentInfo.apply_metric_per_run
    <iqx.experiment.info.ExperimentInfo.apply_metric_per_run>` lays out a run's artifacts);
    ``gt_path`` a dataset folder, a flat folder of images, or a file inside the dataset
    folder (an annotation JSON: its folder is used). The result also holds
    ``<prefix>n_images``.
    """

    id: ClassVar[str] = "generated_images"

    def __init__(
        self,
        blind: Sequence[str] = ("snr", "sharpness"),
        reference: Sequence[str] = ("psnr", "ssim"),
        prefix: str = "gen_",
    ) -> None:
        from iqx.experiment.measure import _BLIND_FAMILIES

        self.blind, self.reference, self.prefix = tuple(blind), tuple(reference), prefix
        unknown = [b for b in self.blind if b not in _BLIND_FAMILIES]
        if unknown:
            raise InvalidParameterError(
                f"unknown blind metric(s) {unknown}; choose from {list(_BLIND_FAMILIES)}"
            )
        if self.reference:
            from iqx.datasets.compare import check_reference_metric

            for name in self.reference:
                check_reference_metric(name)

    def __repr__(self) -> str:
        return f"GeneratedImageMetrics(blind={self.blind}, reference={self.reference})"

    def apply(self, predictions: str | Path, gt_path: str | Path | None) -> dict[str, float]:
        """Scores of the images listed in ``predictions`` (see the class notes)."""
        predictions = Path(predictions)
        try:
            data = json.loads(predictions.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AnnotationError(f"cannot read {predictions}: {exc}") from None
        listing = generated_entries(data)
        if listing is None:
            raise AnnotationError(
                f"{predictions} lists no generated images (expected a list of image paths, "
                '{"images": [...]} or {"val_ds_output": "<folder>"})'
            )
        base = predictions.parent
        available = [p.relative_to(base).as_posix() for p in base.rglob("*") if p.is_file()]
        found = resolve_entries(*listing, available)
        paths = [Path(p) if os.path.isabs(p) else base / p for p in found]
        gt = Path(gt_path) if gt_path not in (None, "") else None
        if gt is not None and gt.is_file():
            gt = gt.parent
        with tempfile.TemporaryDirectory(prefix="iqx-generated-") as tmp:
            folder = link_images(paths, Path(tmp) / "generated")
            return image_scores(folder, gt, self.blind, self.reference, self.prefix)
