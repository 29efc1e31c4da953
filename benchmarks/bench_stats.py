"""Dataset statistics and sanity check over a COCO dataset of 10,000 tiny images.

``IQX_BENCH_SMALL=1`` shrinks it to 200 images.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import SMALL, cache_dir

N_IMAGES = 200 if SMALL else 10_000


def _read_inputs(root: str) -> int:
    """Parse every top-level COCO file and list the images (the anchor of the statistics)."""
    import json
    import os

    n = 0
    for p in Path(root).glob("*.json"):
        n += len(json.loads(p.read_text()).get("annotations", []))
    for sub in Path(root).iterdir():
        if sub.is_dir():
            n += sum(1 for _ in os.scandir(sub))
    return n


def _dataset() -> Path:
    from iqx.annotations._synthetic import write_tiny_coco_dataset

    root = cache_dir() / f"coco_tiny_{N_IMAGES}"
    if not (root / "annotations.json").is_file():
        write_tiny_coco_dataset(root, N_IMAGES)
    return root


class DatasetStatsSuite:
    """``DatasetStats(...).compute()`` and ``SanityCheck(...).autofix()``.

    Anchors: ``time_read_inputs``/``peakmem_read_inputs`` parse the same COCO file with the
    standard library and list the images folder (what any statistics must read), and
    ``time_copytree`` copies the dataset (what a sanitized copy must write at least).
    """

    timeout = 600

    def setup_cache(self):
        return str(_dataset())

    def setup(self, root):
        # imports outside the timed region (pandas, matplotlib, shapely ...)
        from iqx.annotations import DatasetStats, sanity_check  # noqa: F401

    def time_read_inputs(self, root):
        _read_inputs(root)

    def peakmem_read_inputs(self, root):
        _read_inputs(root)

    def time_copytree(self, root):
        import shutil

        with tempfile.TemporaryDirectory() as out:
            shutil.copytree(root, Path(out) / "copy")

    def time_stats_compute(self, root):
        from iqx.annotations import DatasetStats

        DatasetStats(root).compute()

    def peakmem_stats_compute(self, root):
        from iqx.annotations import DatasetStats

        DatasetStats(root).compute()

    def time_stats_write_html(self, root):
        from iqx.annotations import DatasetStats

        with tempfile.TemporaryDirectory() as out:
            DatasetStats(root).write(out, plots=True, html=True)

    def time_sanity_autofix(self, root):
        from iqx.annotations import sanity_check

        with tempfile.TemporaryDirectory() as out:
            sanity_check(root, Path(out) / "sanitized")

    def peakmem_sanity_autofix(self, root):
        from iqx.annotations import sanity_check

        with tempfile.TemporaryDirectory() as out:
            sanity_check(root, Path(out) / "sanitized")
