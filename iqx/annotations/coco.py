"""COCO annotation files: loading with clear errors, record checks, sanitizing.

The record checks keep IQUAFLOW's problem codes (``ERR_JSON_ANN_BBOX_LEN`` ...) and add the
ones IQUAFLOW lacked; :data:`~iqx.annotations.problems.CODES` lists them all. Nothing here
edits its input: :func:`sanitize_coco` returns a new dataset dict.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from iqx.annotations._images import ImageIndex, has_image_extension, image_size
from iqx.annotations._jsonio import read_json
from iqx.annotations.problems import Problem
from iqx.errors import AnnotationError, RasterReadError

__all__ = [
    "check_coco_annotation",
    "check_imgs_dup",
    "fix_coco_image_size",
    "load_coco",
    "sanitize_coco",
    "to_pycocotools",
    "validate_coco",
]


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def load_coco(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a COCO annotation file and check its top-level structure.

    Parameters
    ----------
    path : path-like
        The ``.json`` file.

    Returns
    -------
    dict
        The parsed dataset, with ``"categories"`` defaulted to ``[]`` when absent.

    Raises
    ------
    PathNotFoundError
        If the file does not exist.
    AnnotationError
        If it is empty, not JSON, or lacks the ``images``/``annotations`` lists; the message
        names the file and the problem.
    """
    data = read_json(path, "COCO annotation file")
    if not isinstance(data, dict):
        raise AnnotationError(
            f"{path}: not a COCO annotation file (top level is a {type(data).__name__}, "
            "expected an object with 'images' and 'annotations')"
        )
    for key in ("images", "annotations"):
        if key not in data:
            raise AnnotationError(f"{path}: not a COCO annotation file (no '{key}' list)")
        if not isinstance(data[key], list):
            raise AnnotationError(
                f"{path}: '{key}' must be a list, not a {type(data[key]).__name__}"
            )
    if "categories" in data and not isinstance(data["categories"], list):
        raise AnnotationError(f"{path}: 'categories' must be a list")
    data.setdefault("categories", [])
    return data


def validate_coco(data: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Raise :class:`AnnotationError` on malformed records or unknown image/category ids.

    Used by the statistics, which need a consistent file; :func:`sanitize_coco` (or
    ``iqx sanity``) repairs such files instead.
    """
    cat_ids = {c.get("id") for c in data["categories"] if isinstance(c, dict)}
    img_ids = {i.get("id") for i in data["images"] if isinstance(i, dict)}
    bad_cats: set[Any] = set()
    bad_imgs: set[Any] = set()
    for i, im in enumerate(data["images"]):
        if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
            raise AnnotationError(
                f"{path}: images[{i}] is not an object with 'id' and 'file_name' "
                "(ERR_JSON_IMG_FIELD); run `iqx sanity` to write a sanitized copy"
            )
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            raise AnnotationError(f"{path}: an annotation is a {type(ann).__name__}, not an object")
        codes = check_coco_annotation(ann)
        if codes or "image_id" not in ann or "category_id" not in ann:
            codes = codes or ["ERR_JSON_ANN_FIELD"]
            raise AnnotationError(
                f"{path}: annotations[{i}] (id {ann.get('id')!r}) is malformed "
                f"({', '.join(codes)}); run `iqx sanity` to write a sanitized copy"
            )
        if data["categories"] and ann.get("category_id") not in cat_ids:
            bad_cats.add(ann.get("category_id"))
        if ann.get("image_id") not in img_ids:
            bad_imgs.add(ann.get("image_id"))
    hint = "; run `iqx sanity` to write a sanitized copy"
    if bad_cats:
        shown = sorted(map(str, bad_cats))[:10]
        raise AnnotationError(
            f"{path}: annotations use unknown category ids {', '.join(shown)} "
            f"(not in 'categories'){hint}"
        )
    if bad_imgs:
        shown = sorted(map(str, bad_imgs))[:10]
        raise AnnotationError(
            f"{path}: annotations use unknown image ids {', '.join(shown)} (not in 'images'){hint}"
        )


def check_coco_annotation(ann: Mapping[str, Any]) -> list[str]:
    """Problem codes of one annotation's ``bbox`` and ``segmentation`` (IQUAFLOW's checks).

    Parameters
    ----------
    ann : mapping
        One COCO annotation.

    Returns
    -------
    list of str
        ``ERR_JSON_ANN_BBOX_LEN`` / ``_TYPE`` / ``_NEG`` and ``ERR_JSON_ANN_SEG_TYPE`` /
        ``_NEG`` / ``_PAR`` as IQUAFLOW 1.0.1 defines them (type is checked before sign), plus
        ``ERR_JSON_ANN_FIELD`` when ``bbox`` is absent. Empty if the annotation is fine.
        Unlike IQUAFLOW, non-finite numbers count as a wrong type and compressed RLE
        (``counts`` as a string) is accepted.
    """
    err: list[str] = []
    bbox = ann.get("bbox")
    if "bbox" not in ann:
        err.append("ERR_JSON_ANN_FIELD")
    elif not isinstance(bbox, list | tuple):
        err.append("ERR_JSON_ANN_BBOX_TYPE")
    else:
        if len(bbox) != 4:
            err.append("ERR_JSON_ANN_BBOX_LEN")
        if not all(_is_number(b) for b in bbox):
            err.append("ERR_JSON_ANN_BBOX_TYPE")
        elif any(b < 0 for b in bbox):
            err.append("ERR_JSON_ANN_BBOX_NEG")
    if "segmentation" in ann and ann["segmentation"] is not None:
        seg = ann["segmentation"]
        if isinstance(seg, dict):  # RLE (iscrowd)
            counts, size = seg.get("counts"), seg.get("size")
            values = ([] if isinstance(counts, str) else list(counts or [])) + list(size or [])
            if (
                not isinstance(counts, str | list)
                or not isinstance(size, list)
                or not all(_is_int(v) for v in values)
            ):
                err.append("ERR_JSON_ANN_SEG_TYPE")
            elif any(v < 0 for v in values):
                err.append("ERR_JSON_ANN_SEG_NEG")
        elif isinstance(seg, list):
            if not all(isinstance(p, list) and all(_is_number(v) for v in p) for p in seg):
                err.append("ERR_JSON_ANN_SEG_TYPE")
            elif any(v < 0 for p in seg for v in p):
                err.append("ERR_JSON_ANN_SEG_NEG")
            if any(isinstance(p, list) and len(p) % 2 for p in seg):
                err.append("ERR_JSON_ANN_SEG_PAR")
        else:
            err.append("ERR_JSON_ANN_SEG_TYPE")
    return err


def check_imgs_dup(images: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Duplicated image ids and file names in a COCO ``images`` list (IQUAFLOW semantics).

    The first record with an id or file name is kept; each later record repeating the id is
    ``ERR_JSON_IMG_ID_DUP``, else repeating the file name is ``ERR_JSON_IMG_FNAME_DUP``.

    Returns
    -------
    list of dict
        ``{"err_sbi": index, "err_code": code, "err_txt": message}`` per duplicate.
    """
    out: list[dict[str, Any]] = []
    ids: dict[Any, Any] = {}
    names: dict[Any, Any] = {}
    for i, im in enumerate(images):
        iid, name = im.get("id"), im.get("file_name")
        if iid in ids:
            out.append(
                {
                    "err_sbi": i,
                    "err_code": "ERR_JSON_IMG_ID_DUP",
                    "err_txt": f"image id {iid} (file_name {name!r}) is already used by "
                    f"file_name {ids[iid]!r}",
                }
            )
        elif name in names:
            out.append(
                {
                    "err_sbi": i,
                    "err_code": "ERR_JSON_IMG_FNAME_DUP",
                    "err_txt": f"file_name {name!r} (id {iid}) is already used by image id "
                    f"{names[name]}",
                }
            )
        else:
            ids[iid] = name
            names[name] = iid
    return out


def fix_coco_image_size(
    images: Iterable[Mapping[str, Any]], images_dir: str | os.PathLike[str]
) -> list[dict[str, Any]]:
    """Copies of the image records with ``width``/``height`` read from the files' headers.

    Unlike IQUAFLOW (which decoded every image with OpenCV and edited the list in place), this
    reads headers only and returns new records.

    Raises
    ------
    PathNotFoundError, RasterReadError
        If an image file is absent or unreadable.
    """
    out = []
    for im in images:
        w, h = image_size(Path(images_dir) / str(im["file_name"]))
        out.append({**im, "width": w, "height": h})
    return out


def to_pycocotools(data: Mapping[str, Any]) -> Any:
    """A ``pycocotools.coco.COCO`` index over an in-memory dataset (without its stdout chatter)."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dict(data)
        coco.createIndex()
    return coco


def _image_problem(
    file: str, i: int, im: Any, index: ImageIndex | None, seen_ids: set[Any], seen_names: set[Any]
) -> tuple[str, str] | None:
    """The first reason to remove image record ``im`` (code, message), or None."""
    if not isinstance(im, dict) or "id" not in im or not im.get("file_name"):
        missing = "not an object" if not isinstance(im, dict) else "lacks 'id' or 'file_name'"
        return "ERR_JSON_IMG_FIELD", f"image record {missing}"
    iid, name = im["id"], str(im["file_name"])
    if iid in seen_ids:
        return (
            "ERR_JSON_IMG_ID_DUP",
            f"image id {iid} (file_name {name!r}) is used by an earlier image",
        )
    if name in seen_names:
        return (
            "ERR_JSON_IMG_FNAME_DUP",
            f"file_name {name!r} (id {iid}) is used by an earlier image",
        )
    if not has_image_extension(name):
        return "ERR_JSON_IMG_FILE_TYPE", f"file_name {name!r} has no image extension"
    return None


def sanitize_coco(
    data: Mapping[str, Any],
    *,
    file: str | os.PathLike[str],
    images: ImageIndex | None = None,
) -> tuple[dict[str, Any], list[Problem], dict[str, int]]:
    """Check a COCO dataset and build its sanitized copy.

    Parameters
    ----------
    data : mapping
        A dataset from :func:`load_coco` (not modified).
    file : path-like
        Its file name, recorded in each problem.
    images : ImageIndex, optional
        The images folder; when given, image files are checked to exist and to be readable
        and ``width``/``height`` are compared with their headers.

    Returns
    -------
    clean : dict
        The sanitized dataset (other top-level keys such as ``info`` are kept).
    problems : list of Problem
    counts : dict
        Records in and out: ``images_in``, ``images_out``, ``annotations_in`` ...
    """
    f = os.fspath(file)
    problems: list[Problem] = []

    def report(code, obj, i, rid, msg, action, **details):
        problems.append(Problem(code, f, obj, i, rid, msg, action, details))

    # images
    kept_images: list[dict[str, Any]] = []
    seen_ids: set[Any] = set()
    seen_names: set[Any] = set()
    removed_image_ids: dict[Any, str] = {}
    for i, im in enumerate(data["images"]):
        bad = _image_problem(f, i, im, images, seen_ids, seen_names)
        rid = im.get("id") if isinstance(im, dict) else None
        if bad is None and images is not None:
            path = images.resolve(im["file_name"])
            if path is None:
                bad = (
                    "ERR_JSON_IMG_MISSING",
                    f"image file {im['file_name']!r} not found in {images.images_dir}",
                )
            else:
                try:
                    w, h = images.size(path)
                except RasterReadError as exc:
                    bad = ("ERR_JSON_IMG_UNREADABLE", str(exc))
                else:
                    old = (im.get("width"), im.get("height"))
                    if old != (w, h):
                        report(
                            "ERR_JSON_IMG_SIZE",
                            "images",
                            i,
                            rid,
                            f"{im['file_name']}: width x height in the file is {old[0]} x "
                            f"{old[1]}, the image header says {w} x {h}",
                            "fixed",
                            before={"width": old[0], "height": old[1]},
                            after={"width": w, "height": h},
                        )
                        im = {**im, "width": w, "height": h}
        if bad is not None:
            code, msg = bad
            report(code, "images", i, rid, msg, "removed")
            if rid is not None and rid not in seen_ids:
                removed_image_ids[rid] = code
            continue
        seen_ids.add(im["id"])
        seen_names.add(str(im["file_name"]))
        kept_images.append(im)
    kept_ids = {im["id"] for im in kept_images}
    removed_image_ids = {k: v for k, v in removed_image_ids.items() if k not in kept_ids}

    # categories
    kept_cats: list[dict[str, Any]] = []
    cat_ids: set[Any] = set()
    if "categories" not in data or (not data["categories"] and data["annotations"]):
        used = sorted(
            {
                a.get("category_id")
                for a in data["annotations"]
                if isinstance(a, dict) and _is_int(a.get("category_id"))
            }
        )
        kept_cats = [{"id": c, "name": f"class_{c}", "supercategory": ""} for c in used]
        cat_ids = set(used)
        report(
            "ERR_JSON_CAT_MISSING",
            "categories",
            None,
            None,
            f"no categories; {len(used)} created from the annotations' category ids",
            "created",
            created=used,
        )
    else:
        for i, cat in enumerate(data["categories"]):
            if not isinstance(cat, dict) or not _is_int(cat.get("id")):
                report(
                    "ERR_JSON_CAT_FIELD",
                    "categories",
                    i,
                    None,
                    "category is not an object with an integer 'id'",
                    "removed",
                )
                continue
            if cat["id"] in cat_ids:
                report(
                    "ERR_JSON_CAT_ID_DUP",
                    "categories",
                    i,
                    cat["id"],
                    f"category id {cat['id']} ({cat.get('name')!r}) is used by an earlier category",
                    "removed",
                )
                continue
            cat_ids.add(cat["id"])
            kept_cats.append(cat)

    # annotations
    int_ids = [a["id"] for a in data["annotations"] if isinstance(a, dict) and _is_int(a.get("id"))]
    next_id = max(int_ids, default=0) + 1
    seen_ann: set[Any] = set()
    kept_anns: list[dict[str, Any]] = []
    for i, ann in enumerate(data["annotations"]):
        if not isinstance(ann, dict):
            report(
                "ERR_JSON_ANN_FIELD",
                "annotations",
                i,
                None,
                "annotation is not an object",
                "removed",
            )
            continue
        rid = ann.get("id")
        missing = [k for k in ("image_id", "category_id", "bbox") if k not in ann]
        if missing:
            report(
                "ERR_JSON_ANN_FIELD",
                "annotations",
                i,
                rid,
                f"annotation lacks {', '.join(repr(m) for m in missing)}",
                "removed",
            )
            continue
        codes = check_coco_annotation(ann)
        if codes:
            for code in codes:
                report(
                    code,
                    "annotations",
                    i,
                    rid,
                    f"bbox {ann.get('bbox')!r}"
                    if "BBOX" in code
                    else "segmentation " + _short(ann.get("segmentation")),
                    "removed",
                )
            continue
        if ann["image_id"] not in kept_ids:
            why = removed_image_ids.get(ann["image_id"])
            msg = (
                f"image id {ann['image_id']} was removed ({why})"
                if why
                else f"no image with id {ann['image_id']}"
            )
            report("ERR_JSON_ANN_IMG_ID", "annotations", i, rid, msg, "removed")
            continue
        if ann["category_id"] not in cat_ids:
            report(
                "ERR_JSON_ANN_CAT_ID",
                "annotations",
                i,
                rid,
                f"unknown category id {ann['category_id']!r}",
                "removed",
            )
            continue
        if rid in seen_ann or not _is_int(rid):
            report(
                "ERR_JSON_ANN_ID_DUP",
                "annotations",
                i,
                rid,
                f"annotation id {rid!r} is {'used by an earlier annotation' if rid in seen_ann else 'not an integer'}; "
                f"new id {next_id}",
                "renumbered",
                new_id=next_id,
            )
            ann = {**ann, "id": next_id}
            next_id += 1
        seen_ann.add(ann["id"])
        kept_anns.append(ann)

    clean = {
        k: copy.copy(v) for k, v in data.items() if k not in ("images", "annotations", "categories")
    }
    clean.update(images=kept_images, annotations=kept_anns, categories=kept_cats)
    counts = {
        "images_in": len(data["images"]),
        "images_out": len(kept_images),
        "annotations_in": len(data["annotations"]),
        "annotations_out": len(kept_anns),
        "categories_in": len(data.get("categories") or []),
        "categories_out": len(kept_cats),
    }
    return clean, problems, counts


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
