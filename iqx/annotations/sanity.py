"""SanityCheck: find and fix problems in a dataset's COCO / GeoJSON annotations.

The input is never edited: the sanitized annotation files (same names) and the report
(``sanity_report.json`` and ``sanity_report.txt``) are written to an output folder.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from iqx.annotations import coco as _coco
from iqx.annotations import geojson as _geo
from iqx.annotations._images import ImageIndex
from iqx.annotations._jsonio import write_json
from iqx.annotations._layout import Layout, discover
from iqx.annotations.problems import Problem, SanityReport
from iqx.errors import AnnotationError, InvalidParameterError, OutputExistsError

__all__ = ["SanityCheck", "sanity_check"]


def _file_problem(path: Path, exc: AnnotationError) -> Problem:
    text = str(exc)
    if "empty (0 bytes)" in text:
        code = "ERR_FILE_EMPTY"
    elif "not a COCO annotation file" in text or "must be a list" in text:
        code = "ERR_FILE_STRUCT"
    else:
        code = "ERR_FILE_DECODE"
    return Problem(code, os.fspath(path), "file", None, None, text, "skipped")


class SanityCheck:
    """Check a dataset's annotations and write sanitized copies plus a report.

    Parameters
    ----------
    data_path : path-like
        The dataset folder (IQUAFLOW layout) or one annotation file.
    output_path : path-like, optional
        Where :meth:`autofix` writes; must not be the dataset folder. Default:
        ``<parent>/<name>_sanitized`` next to the dataset.
    images_dir : path-like, optional
        The images folder (default: discovered).
    coco, geojson : path-like or list of path-like, optional
        Annotation files (default: every ``*.json`` / ``*.geojson`` in the dataset folder).
    repair : {"make_valid", "buffer0"}
        Geometry repair: ``shapely.make_valid`` (default, keeps every part) or IQUAFLOW's
        ``buffer(0)`` (may drop parts of self-intersecting polygons).
    check_files : bool
        Check that image files exist, are readable, and match the recorded width/height.
    overwrite : bool
        Replace files already in ``output_path`` (sanitized annotations, reports). Without
        it, :meth:`autofix` refuses to replace anything. The output never lies inside the
        dataset (or its images folder) and never is an annotation file being checked.

    Examples
    --------
    >>> report = SanityCheck("ds_coco_dataset", "out").autofix()  # doctest: +SKIP
    >>> report.counts()  # doctest: +SKIP
    {'ERR_JSON_IMG_SIZE': 1}
    """

    def __init__(
        self,
        data_path: str | os.PathLike[str],
        output_path: str | os.PathLike[str] | None = None,
        *,
        images_dir: str | os.PathLike[str] | None = None,
        coco: Any = None,
        geojson: Any = None,
        repair: str = "make_valid",
        check_files: bool = True,
        overwrite: bool = False,
    ) -> None:
        if repair not in _geo.REPAIR_METHODS:
            raise InvalidParameterError(
                f"repair must be one of {', '.join(_geo.REPAIR_METHODS)}, not {repair!r}"
            )
        self.layout: Layout = discover(data_path, images_dir=images_dir, coco=coco, geojson=geojson)
        self.data_path = self.layout.data_path
        if output_path is None:
            output_path = self.data_path.parent / f"{self.data_path.name}_sanitized"
        self.output_path = Path(output_path).expanduser().resolve()
        self.overwrite = bool(overwrite)
        self.repair = repair
        self.check_files = check_files
        if not self.layout.annotation_files:
            raise AnnotationError(
                f"{self.data_path}: no annotation file (*.json or *.geojson) to check"
            )
        self._check_output()
        self._images: ImageIndex | None = None

    def _check_output(self) -> None:
        """The output is no input (dataset, images, masks, annotation file) and inside none."""
        from iqx.io._atomic import check_output_path

        layout = self.layout
        inputs = [self.data_path, *layout.annotation_files]
        inputs += [p for p in (layout.images_dir, layout.mask_dir) if p is not None]
        check_output_path(self.output_path, inputs, what="sanity output folder")
        if self.output_path.exists() and not self.output_path.is_dir():
            raise InvalidParameterError(f"{self.output_path}: the output must be a folder")

    def _check_targets(self, targets: list[Path]) -> None:
        if self.overwrite:
            return
        taken = [t for t in targets if t.exists() or t.is_symlink()]
        if taken:
            names = ", ".join(t.name for t in taken[:4]) + (" ..." if len(taken) > 4 else "")
            raise OutputExistsError(
                f"{self.output_path}: would replace {names}; pass overwrite=True to "
                "replace them, or choose another output folder"
            )

    @property
    def images(self) -> ImageIndex | None:
        """The scanned images folder (None when ``check_files`` is False)."""
        if self._images is None and self.check_files and self.layout.images_dir is not None:
            self._images = ImageIndex(self.layout.images_dir, extra_roots=[self.data_path])
        return self._images

    def _run(self, write: bool) -> SanityReport:
        report = SanityReport(
            os.fspath(self.data_path), os.fspath(self.output_path) if write else None, self.repair
        )
        outputs: list[tuple[Path, str, Any]] = []
        for path in self.layout.coco:
            summary: dict[str, Any] = {"input": os.fspath(path), "format": "coco", "output": None}
            try:
                data = _coco.load_coco(path)
            except AnnotationError as exc:
                report.problems.append(_file_problem(path, exc))
                report.files.append(summary)
                continue
            clean, problems, counts = _coco.sanitize_coco(data, file=path, images=self.images)
            report.problems.extend(problems)
            summary["counts"] = counts
            if write:
                summary["output"] = os.fspath(self.output_path / path.name)
                outputs.append((self.output_path / path.name, "coco", clean))
            report.files.append(summary)
        for path in self.layout.geojson:
            summary = {"input": os.fspath(path), "format": "geojson", "output": None}
            try:
                gdf = _geo.load_geojson(path)
            except AnnotationError as exc:
                report.problems.append(_file_problem(path, exc))
                report.files.append(summary)
                continue
            clean, problems, counts = _geo.sanitize_geojson(
                gdf, file=path, images=self.images, repair=self.repair
            )
            report.problems.extend(problems)
            summary["counts"] = counts
            if write and clean is not None:
                summary["output"] = os.fspath(self.output_path / path.name)
                outputs.append((self.output_path / path.name, "geojson", clean))
            report.files.append(summary)
        if write:
            self._check_targets(
                [t for t, _, _ in outputs]
                + [self.output_path / f"sanity_report.{ext}" for ext in ("json", "txt")]
            )
            self.output_path.mkdir(parents=True, exist_ok=True)
            for target, kind, clean in outputs:
                if kind == "coco":
                    write_json(target, clean, indent=None)
                else:
                    _write_geojson(clean, target)
            report.write(self.output_path)
        return report

    def check(self) -> SanityReport:
        """Find the problems; write nothing."""
        return self._run(write=False)

    def autofix(self) -> SanityReport:
        """Find the problems, then write the sanitized annotation files and the report."""
        return self._run(write=True)

    run = autofix

    def check_annotations(self) -> list[dict[str, Any]]:
        """IQUAFLOW-style list of problem dicts (``err_code``, ``err_file``, ``err_sbi`` ...)."""
        return [p.to_dict() for p in self.check().problems]

    # IQUAFLOW's static helpers
    check_coco_annotation = staticmethod(_coco.check_coco_annotation)
    check_imgs_dup = staticmethod(_coco.check_imgs_dup)
    fix_coco_image_size = staticmethod(_coco.fix_coco_image_size)


def _write_geojson(gdf: Any, target: Path) -> None:
    from iqx.io._atomic import atomic_file

    with atomic_file(target, overwrite=True) as tmp, warnings.catch_warnings():
        # a file without CRS stays without CRS; pyogrio's warning about it is noise here
        warnings.filterwarnings("ignore", message=".*crs.*was not provided", category=UserWarning)
        gdf.to_file(tmp, driver="GeoJSON")


def sanity_check(
    data_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    repair: str = "make_valid",
    write: bool = True,
    **kwargs: Any,
) -> SanityReport:
    """Function form of :class:`SanityCheck`.

    Parameters
    ----------
    data_path, output_path, repair
        As for :class:`SanityCheck`; other keyword arguments are passed to it.
    write : bool
        Write the sanitized copies and the report (default); False only checks.

    Returns
    -------
    SanityReport
    """
    sc = SanityCheck(data_path, output_path, repair=repair, **kwargs)
    return sc.autofix() if write else sc.check()
