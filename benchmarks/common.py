"""Shared helpers for the asv suites.

Scenes are generated once into a cache folder (``$IQX_BENCH_CACHE`` or ``~/.cache/iqx-bench``)
so benchmarks time iqx, not data generation. ``IQX_BENCH_SMALL=1`` shrinks every size so the
test suite can smoke-run each benchmark in seconds (``tests/test_benchmarks.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SMALL = os.environ.get("IQX_BENCH_SMALL") == "1"


def size(n: int) -> int:
    """``n`` pixels, or a small stand-in under ``IQX_BENCH_SMALL=1``."""
    return min(n, 512) if SMALL else n


def chunk(n: int) -> int:
    """Chunk edge for benchmarks (smaller under ``IQX_BENCH_SMALL=1``)."""
    return min(n, 128) if SMALL else n


def cache_dir() -> Path:
    """Folder where generated benchmark inputs are kept between runs."""
    root = Path(os.environ.get("IQX_BENCH_CACHE", Path.home() / ".cache" / "iqx-bench"))
    root = root / ("small" if SMALL else "full")
    root.mkdir(parents=True, exist_ok=True)
    return root


def textured_uint16(ny: int, nx: int, seed: int = 0, bits: int = 11) -> np.ndarray:
    """A smooth random field plus noise, scaled to ``bits`` bits (like WorldView-2 pan)."""
    rng = np.random.default_rng(seed)
    yy = np.linspace(0, 8 * np.pi, ny, dtype=np.float32)[:, None]
    xx = np.linspace(0, 6 * np.pi, nx, dtype=np.float32)[None, :]
    top = 2**bits - 1
    base = (0.5 + 0.25 * np.sin(yy) * np.cos(xx)) * top
    noise = rng.standard_normal((ny, nx), dtype=np.float32) * (0.01 * top)
    return np.clip(base + noise, 0, top).astype(np.uint16)
