"""COCO loading errors and IQUAFLOW's record checks (codes as in IQUAFLOW's test suite)."""

from __future__ import annotations

import copy
import json

import pytest

from iqx.annotations.coco import (
    check_coco_annotation,
    check_imgs_dup,
    fix_coco_image_size,
    load_coco,
    sanitize_coco,
    to_pycocotools,
    validate_coco,
)
from iqx.errors import AnnotationError, PathNotFoundError

from .conftest import IMAGES, base_coco, write_images


def test_load_missing_file(tmp_path):
    with pytest.raises(PathNotFoundError, match=r"nope\.json"):
        load_coco(tmp_path / "nope.json")


def test_load_empty_file(tmp_path):
    p = tmp_path / "empty.json"
    p.write_bytes(b"")
    with pytest.raises(AnnotationError, match=r"empty.json.*empty \(0 bytes\)"):
        load_coco(p)


def test_load_broken_json_names_line_and_column(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text('{"images": [],\n "annotations": [,]}')
    with pytest.raises(AnnotationError, match=r"broken.json.*not valid JSON.*line 2, column"):
        load_coco(p)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[1, 2]", "top level is a list"),
        ('{"annotations": []}', "no 'images' list"),
        ('{"images": [], "annotations": {}}', "'annotations' must be a list"),
    ],
)
def test_load_not_coco(tmp_path, text, match):
    p = tmp_path / "x.json"
    p.write_text(text)
    with pytest.raises(AnnotationError, match=match):
        load_coco(p)


def test_check_coco_annotation_iquaflow_cases():
    """The six corruptions of IQUAFLOW's test_check_coco_annotation, one code each."""
    anns = copy.deepcopy(base_coco()["annotations"][:3]) * 3
    anns = [copy.deepcopy(a) for a in anns]
    anns[0]["bbox"].append(2.5)
    anns[1]["bbox"][0] = "a"
    anns[2]["bbox"][1] = -2.5
    anns[3]["segmentation"][0][0] = "a"
    anns[4]["segmentation"][0][0] = -5.5
    anns[5]["segmentation"][0].append(34)
    assert check_coco_annotation(anns[6]) == []
    assert check_coco_annotation(anns[0]) == ["ERR_JSON_ANN_BBOX_LEN"]
    assert check_coco_annotation(anns[1]) == ["ERR_JSON_ANN_BBOX_TYPE"]
    assert check_coco_annotation(anns[2]) == ["ERR_JSON_ANN_BBOX_NEG"]
    assert check_coco_annotation(anns[3]) == ["ERR_JSON_ANN_SEG_TYPE"]
    assert check_coco_annotation(anns[4]) == ["ERR_JSON_ANN_SEG_NEG"]
    assert check_coco_annotation(anns[5]) == ["ERR_JSON_ANN_SEG_PAR"]


def test_check_coco_annotation_rle_and_extras():
    ok = {"bbox": [0, 0, 1, 1], "segmentation": {"counts": [3, 2, 1], "size": [2, 3]}}
    assert check_coco_annotation(ok) == []
    compressed = {"bbox": [0, 0, 1, 1], "segmentation": {"counts": "PPY1", "size": [2, 3]}}
    assert check_coco_annotation(compressed) == []  # IQUAFLOW wrongly flagged this
    neg = {"bbox": [0, 0, 1, 1], "segmentation": {"counts": [3, -2], "size": [2, 3]}}
    assert check_coco_annotation(neg) == ["ERR_JSON_ANN_SEG_NEG"]
    assert check_coco_annotation({"bbox": [0, 0, True, 1]}) == ["ERR_JSON_ANN_BBOX_TYPE"]
    assert check_coco_annotation({"bbox": [0, 0, float("nan"), 1]}) == ["ERR_JSON_ANN_BBOX_TYPE"]
    assert check_coco_annotation({"image_id": 1}) == ["ERR_JSON_ANN_FIELD"]


def test_check_imgs_dup_iquaflow_case():
    """IQUAFLOW's test_check_imgs_dup: a repeated id, then a repeated file name."""
    imgs = base_coco()["images"]
    imgs.append({**imgs[1], "file_name": "other.png"})
    imgs.append({**imgs[2], "id": 884613})
    problems = check_imgs_dup(imgs)
    assert [(p["err_sbi"], p["err_code"]) for p in problems] == [
        (3, "ERR_JSON_IMG_ID_DUP"),
        (4, "ERR_JSON_IMG_FNAME_DUP"),
    ]
    assert check_imgs_dup(imgs[:3]) == []


def test_fix_coco_image_size_reads_headers_and_copies(tmp_path):
    write_images(tmp_path)
    imgs = [{"id": 1, "file_name": n, "width": 1, "height": 1} for n, _, _ in IMAGES]
    fixed = fix_coco_image_size(imgs, tmp_path)
    assert [(f["width"], f["height"]) for f in fixed] == [(w, h) for _, w, h in IMAGES]
    assert imgs[0]["width"] == 1  # the input is not edited


def test_sanitize_does_not_mutate_input(tmp_path):
    data = base_coco()
    data["images"][0]["width"] = 999
    data["annotations"].append({**data["annotations"][0], "category_id": 77})
    snapshot = json.dumps(data, sort_keys=True)
    from iqx.annotations._images import ImageIndex

    write_images(tmp_path)
    clean, problems, counts = sanitize_coco(data, file="x.json", images=ImageIndex(tmp_path))
    assert json.dumps(data, sort_keys=True) == snapshot
    assert {p.code for p in problems} == {"ERR_JSON_IMG_SIZE", "ERR_JSON_ANN_CAT_ID"}
    assert counts["annotations_out"] == 4
    coco = to_pycocotools(clean)  # the sanitized copy indexes in pycocotools
    assert coco.imgs[1]["width"] == 40


def test_validate_coco_unknown_category_and_image(tmp_path):
    data = base_coco()
    data["annotations"][1]["category_id"] = 42
    with pytest.raises(AnnotationError, match=r"x.json.*unknown category ids 42"):
        validate_coco(data, "x.json")
    data = base_coco()
    data["annotations"][1]["image_id"] = 9
    with pytest.raises(AnnotationError, match=r"unknown image ids 9"):
        validate_coco(data, "x.json")
