"""SanityCheck on hand-built COCO datasets: one fault, one test, per problem code.

Independent truth: the faults are planted by each case, and the sanitized copy must load in
pycocotools with exactly the records that survive.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from iqx.annotations import CODES, SanityCheck, sanity_check
from iqx.annotations.coco import to_pycocotools
from iqx.errors import AnnotationError, InvalidParameterError, PathNotFoundError


def _img(d, i):
    return d["images"][i]


def _dup_id(d, root):
    d["images"].append({**_img(d, 0), "file_name": "b.jpg"})


def _missing_image(d, root):
    d["images"].append({"id": 9, "file_name": "gone.png", "width": 5, "height": 5})
    d["annotations"].append({**d["annotations"][0], "id": 90, "image_id": 9})


def _unreadable_image(d, root):
    (root / "images" / "bad.png").write_bytes(b"this is not a png")
    d["images"].append({"id": 9, "file_name": "bad.png", "width": 5, "height": 5})


def _set_ann(key, value):
    def mutate(d, root):
        d["annotations"][0][key] = value

    return mutate


def _seg_value(value):
    def mutate(d, root):
        d["annotations"][0]["segmentation"][0][0] = value

    return mutate


CASES = {
    # code: (mutation, obj, action, (images_out, annotations_out))
    "ERR_JSON_IMG_ID_DUP": (
        lambda d, r: d["images"].append({**_img(d, 0), "file_name": "z.png"}),
        "images",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_IMG_FNAME_DUP": (
        lambda d, r: d["images"].append({**_img(d, 0), "id": 7}),
        "images",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_IMG_FILE_TYPE": (
        lambda d, r: d["images"].append({"id": 7, "file_name": "x.rar"}),
        "images",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_IMG_FIELD": (lambda d, r: d["images"].append({"id": 7}), "images", "removed", (3, 4)),
    "ERR_JSON_IMG_MISSING": (
        lambda d, r: d["images"].append({"id": 9, "file_name": "gone.png"}),
        "images",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_IMG_UNREADABLE": (_unreadable_image, "images", "removed", (3, 4)),
    "ERR_JSON_IMG_SIZE": (lambda d, r: _img(d, 1).update(width=7), "images", "fixed", (3, 4)),
    "ERR_JSON_CAT_FIELD": (
        lambda d, r: d["categories"].append({"name": "no id"}),
        "categories",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_CAT_ID_DUP": (
        lambda d, r: d["categories"].append({"id": 1, "name": "again"}),
        "categories",
        "removed",
        (3, 4),
    ),
    "ERR_JSON_CAT_MISSING": (lambda d, r: d.pop("categories"), "categories", "created", (3, 4)),
    "ERR_JSON_ANN_BBOX_LEN": (_set_ann("bbox", [1, 2, 3]), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_BBOX_TYPE": (_set_ann("bbox", [1, "2", 3, 4]), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_BBOX_NEG": (_set_ann("bbox", [1, -2, 3, 4]), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_SEG_TYPE": (_seg_value("a"), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_SEG_NEG": (_seg_value(-5.5), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_SEG_PAR": (
        lambda d, r: d["annotations"][0]["segmentation"][0].append(3),
        "annotations",
        "removed",
        (3, 3),
    ),
    "ERR_JSON_ANN_FIELD": (
        lambda d, r: d["annotations"][0].pop("image_id"),
        "annotations",
        "removed",
        (3, 3),
    ),
    "ERR_JSON_ANN_IMG_ID": (_set_ann("image_id", 55), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_CAT_ID": (_set_ann("category_id", 42), "annotations", "removed", (3, 3)),
    "ERR_JSON_ANN_ID_DUP": (_set_ann("id", 2), "annotations", "renumbered", (3, 4)),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_one_problem_code(make_coco, tmp_path, code):
    mutate, obj, action, (n_img, n_ann) = CASES[code]
    root = make_coco(mutate)
    src = root / "annotations.json"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / f"out_{code}"
    report = SanityCheck(root, out).autofix()
    problems = [p for p in report.problems if p.code == code]
    assert len(problems) == 1, report.to_text()
    p = problems[0]
    assert (p.obj, p.action, p.file) == (obj, action, str(src))
    assert report.codes() == {code}, report.to_text()  # nothing else is flagged
    # the sanitized copy loads in pycocotools with the surviving records
    coco = to_pycocotools(json.loads((out / "annotations.json").read_text()))
    assert (len(coco.imgs), len(coco.anns)) == (n_img, n_ann)
    assert len({a["id"] for a in coco.dataset["annotations"]}) == n_ann  # ids unique
    # the input is untouched; the report is written in both forms
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    rep = json.loads((out / "sanity_report.json").read_text())
    assert rep["counts"] == {code: 1}
    assert rep["problems"][0]["err_code"] == code  # IQUAFLOW's key names too
    assert code in (out / "sanity_report.txt").read_text()


def test_every_code_is_documented_and_coco_codes_tested():
    coco_codes = {c for c in CODES if c.startswith("ERR_JSON_")}
    assert coco_codes - {"ERR_JSON_IMG_FILE_TYPE"} <= set(CASES)


def test_size_fix_uses_header_values(make_coco, tmp_path):
    root = make_coco(lambda d, r: [im.pop("width") for im in d["images"]])
    report = sanity_check(root, tmp_path / "o")
    fixed = json.loads((tmp_path / "o" / "annotations.json").read_text())["images"]
    assert [(i["width"], i["height"]) for i in fixed] == [(40, 30), (50, 20), (16, 16)]
    assert report.counts() == {"ERR_JSON_IMG_SIZE": 3}
    assert report.problems[0].details["after"] == {"width": 40, "height": 30}


def test_missing_image_removes_its_annotations_and_says_why(make_coco, tmp_path):
    root = make_coco(_missing_image)
    report = sanity_check(root, tmp_path / "o")
    assert report.counts() == {"ERR_JSON_IMG_MISSING": 1, "ERR_JSON_ANN_IMG_ID": 1}
    ann = next(p for p in report.problems if p.code == "ERR_JSON_ANN_IMG_ID")
    assert "was removed (ERR_JSON_IMG_MISSING)" in ann.message


def test_clean_dataset_has_no_problems_and_check_writes_nothing(make_coco, tmp_path):
    root = make_coco()
    report = SanityCheck(root, tmp_path / "o").check()
    assert report.ok and report.output_path is None
    assert not (tmp_path / "o").exists()


def test_empty_and_broken_files_are_reported_not_raised(make_coco, tmp_path):
    root = make_coco()
    (root / "zero.json").write_bytes(b"")
    (root / "broken.json").write_text("{not json")
    (root / "list.json").write_text("[]")
    report = sanity_check(root, tmp_path / "o")
    by_file = {p.file.rsplit("/", 1)[-1]: p.code for p in report.problems}
    assert by_file == {
        "zero.json": "ERR_FILE_EMPTY",
        "broken.json": "ERR_FILE_DECODE",
        "list.json": "ERR_FILE_STRUCT",
    }
    assert (tmp_path / "o" / "annotations.json").is_file()
    assert not (tmp_path / "o" / "zero.json").exists()


def test_output_must_not_be_the_input(make_coco):
    root = make_coco()
    with pytest.raises(InvalidParameterError, match="is the input"):
        SanityCheck(root, root)


def test_bad_arguments(make_coco, tmp_path):
    with pytest.raises(PathNotFoundError, match="missing_ds"):
        SanityCheck(tmp_path / "missing_ds")
    root = make_coco()
    with pytest.raises(InvalidParameterError, match="repair"):
        SanityCheck(root, repair="glue")
    (tmp_path / "noann" / "images").mkdir(parents=True)
    with pytest.raises(AnnotationError, match="no annotation file"):
        SanityCheck(tmp_path / "noann")


def test_iquaflow_style_check_annotations(make_coco):
    root = make_coco(_set_ann("bbox", [1, 2, 3]))
    problems = SanityCheck(root).check_annotations()
    assert [(p["err_code"], p["err_obj"], p["err_sbi"]) for p in problems] == [
        ("ERR_JSON_ANN_BBOX_LEN", "annotations", 0)
    ]


def test_manifest_is_not_an_annotation_file(make_coco, tmp_path):
    root = make_coco()
    (root / "iqx_manifest.json").write_text('{"params": {}}')
    report = sanity_check(root, tmp_path / "o")
    assert report.ok and [f["input"] for f in report.files] == [str(root / "annotations.json")]
