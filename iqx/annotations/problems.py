"""Problem codes found by :class:`~iqx.annotations.SanityCheck`, and the report it writes.

The ``ERR_JSON_*`` codes of IQUAFLOW 1.0.1 keep their names and meaning; iqx adds codes for
the checks IQUAFLOW did not have (missing or unreadable image files, wrong sizes, unknown
image or category ids, GeoJSON rows and geometries, empty or broken files).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CODES", "Problem", "SanityReport"]

#: code -> (what is wrong, what the sanitized copy does about it)
CODES: dict[str, tuple[str, str]] = {
    # file level
    "ERR_FILE_EMPTY": ("the annotation file is empty (0 bytes)", "file skipped, no sanitized copy"),
    "ERR_FILE_DECODE": (
        "the annotation file is not valid JSON / GeoJSON",
        "file skipped, no sanitized copy",
    ),
    "ERR_FILE_STRUCT": (
        "the file is valid JSON but not a COCO dataset (no 'images'/'annotations' lists)",
        "file skipped, no sanitized copy",
    ),
    "ERR_JSON_CAT_MISSING": (
        "the COCO file has no 'categories' list",
        "categories created from the annotations' category ids (name 'class_<id>')",
    ),
    # COCO images (IQUAFLOW codes first)
    "ERR_JSON_IMG_ID_DUP": ("an image id is used by an earlier image record", "record removed"),
    "ERR_JSON_IMG_FNAME_DUP": (
        "an image file_name is used by an earlier image record",
        "record removed",
    ),
    "ERR_JSON_IMG_FILE_TYPE": (
        "the image file name has no image extension (jpg, jpeg, png, tif, tiff, jp2, j2k, bmp, gif, webp)",
        "record (COCO) or rows (GeoJSON) removed",
    ),
    "ERR_JSON_IMG_FIELD": (
        "an image record is not an object or lacks an 'id' / 'file_name'",
        "record removed",
    ),
    "ERR_JSON_IMG_MISSING": (
        "the image file does not exist in the images folder",
        "record removed",
    ),
    "ERR_JSON_IMG_UNREADABLE": (
        "the image file exists but its header cannot be read (empty, corrupt, not an image)",
        "record removed",
    ),
    "ERR_JSON_IMG_SIZE": (
        "'width'/'height' are missing or differ from the image file's header",
        "width/height set from the file header",
    ),
    # COCO categories
    "ERR_JSON_CAT_FIELD": (
        "a category is not an object or lacks an integer 'id'",
        "category removed",
    ),
    "ERR_JSON_CAT_ID_DUP": ("a category id is used by an earlier category", "category removed"),
    # COCO annotations (IQUAFLOW codes first)
    "ERR_JSON_ANN_BBOX_LEN": ("the bbox does not have 4 numbers", "annotation removed"),
    "ERR_JSON_ANN_BBOX_TYPE": ("a bbox value is not a number", "annotation removed"),
    "ERR_JSON_ANN_BBOX_NEG": ("a bbox value is negative", "annotation removed"),
    "ERR_JSON_ANN_SEG_TYPE": (
        "a segmentation value is not a number (polygons) / not an integer (RLE counts)",
        "annotation removed",
    ),
    "ERR_JSON_ANN_SEG_NEG": ("a segmentation value is negative", "annotation removed"),
    "ERR_JSON_ANN_SEG_PAR": (
        "a segmentation polygon has an odd number of coordinates",
        "annotation removed",
    ),
    "ERR_JSON_ANN_FIELD": (
        "an annotation is not an object or lacks 'image_id' / 'category_id' / 'bbox'",
        "annotation removed",
    ),
    "ERR_JSON_ANN_IMG_ID": (
        "the annotation's image_id is not a (kept) image",
        "annotation removed",
    ),
    "ERR_JSON_ANN_CAT_ID": (
        "the annotation's category_id is not a known category",
        "annotation removed",
    ),
    "ERR_JSON_ANN_ID_DUP": (
        "the annotation id is missing or used by an earlier annotation",
        "annotation given a new unique id",
    ),
    # GeoJSON
    "ERR_GEO_FIELD_MISSING": (
        "a required column (image_filename, class_id, geometry) is absent from the file",
        "file skipped, no sanitized copy",
    ),
    "ERR_GEO_NAN": (
        "image_filename or class_id is null/NaN in this row",
        "row removed",
    ),
    "ERR_GEO_EMPTY": ("the geometry is missing (null) or empty", "row removed"),
    "ERR_GEO_COORDS": ("a coordinate of the geometry is NaN or infinite", "row removed"),
    "ERR_GEO_INVALID": (
        "the geometry is invalid (self-intersection, bow-tie, bad ring)",
        "geometry repaired (shapely.make_valid by default, or buffer(0)); removed if the repair is empty",
    ),
    "ERR_GEO_IMG_MISSING": ("image_filename is not a file in the images folder", "row removed"),
    "ERR_GEO_IMG_UNREADABLE": ("the row's image file cannot be read", "row removed"),
}


@dataclass
class Problem:
    """One problem found in one record of one annotation file.

    Attributes
    ----------
    code : str
        A key of :data:`CODES`.
    file : str
        The annotation file the record is in.
    obj : str
        ``"file"``, ``"images"``, ``"categories"``, ``"annotations"`` or ``"features"``.
    index : int or None
        Position of the record in its list (IQUAFLOW's ``err_sbi``); the row for GeoJSON.
    record_id : object
        The record's own id (image/annotation/category id), or the GeoJSON row number.
    message : str
        What is wrong, naming the values involved.
    action : str
        What the sanitized copy does: ``removed``, ``fixed``, ``repaired``, ``renumbered``,
        ``created`` or ``skipped``.
    details : dict
        Extra values (e.g. the sizes before/after, geometry areas before/after repair).
    """

    code: str
    file: str
    obj: str
    index: int | None
    record_id: Any
    message: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown problem code {self.code!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (also holding IQUAFLOW's ``err_*`` keys)."""
        out = asdict(self)
        out.update(
            err_code=self.code,
            err_file=self.file,
            err_obj=self.obj,
            err_sbi=self.index,
            err_txt=self.message,
        )
        return out

    def __str__(self) -> str:
        where = f"{self.obj}[{self.index}]" if self.index is not None else self.obj
        rid = f" id={self.record_id}" if self.record_id is not None else ""
        return (
            f"{self.code:<24} {Path(self.file).name} {where}{rid}: {self.message} -> {self.action}"
        )


@dataclass
class SanityReport:
    """What a sanity check found and wrote.

    Attributes
    ----------
    data_path : str
        The checked dataset.
    output_path : str or None
        Where the sanitized copies and the report were written (None: check only).
    repair : str
        The geometry repair method used (``"make_valid"`` or ``"buffer0"``).
    problems : list of Problem
    files : list of dict
        One summary per annotation file: input, output (or None), record counts in and out.
    """

    data_path: str
    output_path: str | None
    repair: str
    problems: list[Problem] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if no problem was found."""
        return not self.problems

    def counts(self) -> dict[str, int]:
        """Number of problems per code (codes sorted)."""
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.code] = out.get(p.code, 0) + 1
        return dict(sorted(out.items()))

    def codes(self) -> set[str]:
        """The set of problem codes found."""
        return {p.code for p in self.problems}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the whole report."""
        from iqx._version import __version__

        return {
            "iqx_version": __version__,
            "data_path": self.data_path,
            "output_path": self.output_path,
            "repair": self.repair,
            "ok": self.ok,
            "counts": self.counts(),
            "files": self.files,
            "problems": [p.to_dict() for p in self.problems],
            "codes": {c: {"problem": CODES[c][0], "fix": CODES[c][1]} for c in self.counts()},
        }

    def to_text(self) -> str:
        """A readable report: summary per file, counts per code, then every problem."""
        lines = [f"iqx sanity check of {self.data_path}"]
        if self.output_path:
            lines.append(f"sanitized copies and this report in {self.output_path}")
        lines.append(f"geometry repair: {self.repair}")
        lines.append("")
        for f in self.files:
            out = f.get("output") or "(no sanitized copy)"
            lines.append(f"{f['input']} [{f['format']}] -> {out}")
            for key, val in f.get("counts", {}).items():
                lines.append(f"    {key}: {val}")
        lines.append("")
        if self.ok:
            lines.append("no problems found")
        else:
            lines.append(f"{len(self.problems)} problem(s):")
            for code, n in self.counts().items():
                lines.append(f"    {code:<24} {n:>6}  {CODES[code][0]} -> {CODES[code][1]}")
            lines.append("")
            lines.extend(str(p) for p in self.problems)
        return "\n".join(lines) + "\n"

    def write(self, output_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``sanity_report.json`` and ``sanity_report.txt`` atomically into ``output_dir``."""
        from iqx.annotations._jsonio import write_json, write_text

        output_dir = Path(output_dir)
        json_path = write_json(output_dir / "sanity_report.json", self.to_dict())
        text_path = write_text(output_dir / "sanity_report.txt", self.to_text())
        return json_path, text_path
