"""Where a dataset keeps its images and annotation files (IQUAFLOW layout).

``iqx.open_dataset`` owns the layout rule: it picks the images folder, the annotation files
(manifest excluded) and the mask folder; a minimal local rule is the fallback when it rejects
a folder (e.g. one without images).
The annotation files are every ``*.json`` / ``*.geojson`` directly in the dataset folder
(IQUAFLOW's SanityCheck and DsStats also looked at all of them). A path to a single
annotation file selects that file, with the images next to it or in the usual sub-folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqx.errors import DatasetLayoutError, IqxError, PathNotFoundError

__all__ = ["Layout", "discover"]

#: iqx's manifest of derived datasets: never an annotation file
_MANIFEST = "iqx_manifest.json"


@dataclass
class Layout:
    """Resolved paths of one dataset."""

    data_path: Path
    images_dir: Path | None
    coco: list[Path] = field(default_factory=list)
    geojson: list[Path] = field(default_factory=list)
    mask_dir: Path | None = None

    @property
    def name(self) -> str:
        """The dataset's name (its folder name)."""
        return self.data_path.name

    @property
    def annotation_files(self) -> list[Path]:
        """COCO files then GeoJSON files."""
        return [*self.coco, *self.geojson]


def _candidate_image_dirs(data_path: Path) -> list[Path]:
    out = []
    with os.scandir(data_path) as it:
        for e in it:
            name = e.name
            if not e.is_dir() or name.startswith(".") or ".iqx-" in name:
                continue
            if name.endswith("_mask") or "mask" in name.lower() or "stats" in name.lower():
                continue
            if "sanit" in name.lower():
                continue
            out.append(Path(e.path))
    return sorted(out)


def _open_dataset(data_path: Path) -> Any:
    """``iqx.open_dataset(data_path)``, or None if it is unavailable or rejects the folder."""
    try:
        from iqx.datasets import open_dataset
    except ImportError:  # pragma: no cover - the datasets package is part of iqx
        return None
    try:
        return open_dataset(data_path)
    except IqxError:
        return None


def discover(
    path: str | os.PathLike[str],
    *,
    images_dir: str | os.PathLike[str] | None = None,
    coco: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
    geojson: str | os.PathLike[str] | list[str | os.PathLike[str]] | None = None,
) -> Layout:
    """Resolve a dataset folder (or one annotation file) into a :class:`Layout`.

    Parameters
    ----------
    path : path-like
        The dataset folder, or one ``.json`` / ``.geojson`` annotation file.
    images_dir : path-like, optional
        The images folder; by default the dataset's one images sub-folder (not ``*mask*`` or
        ``*stats*``), or the dataset folder itself when it has no sub-folder.
    coco, geojson : path-like or list of path-like, optional
        Explicit annotation files (giving either selects only the files given); by default
        every ``*.json`` / ``*.geojson`` at the top of the folder.

    Raises
    ------
    PathNotFoundError
        If ``path``, ``images_dir`` or an explicit annotation file does not exist.
    DatasetLayoutError
        If several image sub-folders make the images folder ambiguous.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise PathNotFoundError(f"{path}: dataset folder or annotation file not found")
    path = path.resolve()  # "." has no name and no parent: derived names need the real ones
    single: Path | None = None
    if path.is_file():
        single, data_path = path, path.parent
    else:
        data_path = path

    def _as_list(v: object) -> list[Path] | None:
        if v is None:
            return None
        items = v if isinstance(v, list | tuple) else [v]
        out = [Path(p) for p in items]
        for p in out:
            if not p.is_file():
                raise PathNotFoundError(f"{p}: annotation file not found")
        return out

    coco_files = _as_list(coco)
    geo_files = _as_list(geojson)
    if coco_files is None and geo_files is None and single is not None:
        is_geo = single.suffix.lower() == ".geojson"
        coco_files, geo_files = ([], [single]) if is_geo else ([single], [])
    elif coco_files is not None or geo_files is not None:  # explicit files: only those
        coco_files, geo_files = coco_files or [], geo_files or []
    dataset = _open_dataset(data_path) if images_dir is None or coco_files is None else None
    if coco_files is None:
        coco_files = (
            list(dataset.json_files)
            if dataset is not None
            else sorted(p for p in data_path.glob("*.json") if p.is_file() and p.name != _MANIFEST)
        )
    if geo_files is None:
        geo_files = (
            list(dataset.geojson_files)
            if dataset is not None
            else sorted(p for p in data_path.glob("*.geojson") if p.is_file())
        )

    if images_dir is not None:
        img_dir: Path | None = Path(images_dir).expanduser()
        if not img_dir.is_dir():
            raise PathNotFoundError(f"{img_dir}: images folder not found")
        img_dir = img_dir.resolve()
    else:
        img_dir = Path(dataset.data_input) if dataset is not None else None
        if img_dir is None:
            candidates = _candidate_image_dirs(data_path)
            named = [c for c in candidates if c.name == "images"]
            if named:
                img_dir = named[0]
            elif len(candidates) == 1:
                img_dir = candidates[0]
            elif not candidates:
                img_dir = data_path
            else:
                names = ", ".join(c.name for c in candidates)
                raise DatasetLayoutError(
                    f"{data_path}: several image sub-folders ({names}); pass images_dir="
                )
    mask_dir = None
    if dataset is not None and images_dir is None:
        mask_dir = dataset.mask_annotations_dir
    elif img_dir is not None and img_dir != data_path:
        m = img_dir.with_name(img_dir.name + "_mask")
        mask_dir = m if m.is_dir() else None
    return Layout(data_path, img_dir, list(coco_files), list(geo_files), mask_dir)
