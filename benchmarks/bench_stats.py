"""Dataset statistics and sanity check over a COCO dataset of 10,000 tiny images.

``IQX_BENCH_SMALL=1`` shrinks it to 200 images.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.common import SMALL, cache_dir

N_IMAGES = 200 if SMALL else 10_000


def _dataset() -> Path:
    from iqx.annotations._synthetic import write_tiny_coco_dataset

    root = cache_dir() / f"coco_tiny_{N_IMAGES}"
    if not (root / "annotations.json").is_file():
        write_tiny_coco_dataset(root, N_IMAGES)
    return root


class DatasetStatsSuite:
    """``DatasetStats(...).compute()`` and ``SanityCheck(...).autofix()``."""

    timeout = 600

    def setup_cache(self):
        return str(_dataset())

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
