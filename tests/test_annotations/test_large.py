"""10,000 tiny generated PNGs + one COCO file: stats and sanity stream over headers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iqx.annotations import DatasetStats, sanity_check
from iqx.annotations._synthetic import SIZES, write_tiny_coco_dataset
from iqx.annotations.coco import to_pycocotools

N = 10_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    root = tmp_path_factory.mktemp("big") / "ds"
    write_tiny_coco_dataset(root, N, objects_per_image=2, n_categories=5)
    return root


@pytest.mark.slow
def test_stats_10k_images(big, tmp_path):
    ds = DatasetStats(big)
    s = ds.compute()
    im = s["images"]
    widths = np.array([SIZES[i % len(SIZES)][0] for i in range(N)])
    heights = np.array([SIZES[i % len(SIZES)][1] for i in range(N)])
    assert im["count"] == N and im["readable"] == N
    assert im["mean_width"] == pytest.approx(widths.mean())
    assert im["height"]["std"] == pytest.approx(heights.std())
    f = s["annotation_files"][0]
    assert f["n_annotations"] == 2 * N and sum(f["classes"]["counts"]) == 2 * N
    assert f["classes"]["counts"] == [2 * N // 5] * 5
    written = ds.write(tmp_path / "out", html=True, plots=False, max_preview=50)
    html = written["html"].read_text()
    assert html.count("<figure") == 50


@pytest.mark.slow
def test_sanity_10k_images_with_planted_faults(big, tmp_path):
    data = json.loads((big / "annotations.json").read_text())
    for k in range(0, N, 1000):  # 10 wrong sizes
        data["images"][k]["width"] += 1
    data["annotations"][5]["category_id"] = 99
    (big / "faulty.json").write_text(json.dumps(data))
    try:
        report = sanity_check(big, tmp_path / "out", coco=big / "faulty.json")
    finally:
        (big / "faulty.json").unlink()
    assert report.counts() == {"ERR_JSON_IMG_SIZE": 10, "ERR_JSON_ANN_CAT_ID": 1}
    coco = to_pycocotools(json.loads((tmp_path / "out" / "faulty.json").read_text()))
    assert len(coco.imgs) == N and len(coco.anns) == 2 * N - 1
