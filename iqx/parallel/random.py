"""Per-block seeded random generators: reproducible for a given ``(seed, chunks)``."""

from __future__ import annotations

import numpy as np

from iqx.errors import InvalidParameterError

__all__ = ["block_rng", "check_seed"]


def check_seed(seed: int) -> int:
    """Validate a user seed (a non-negative integer)."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InvalidParameterError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def block_rng(seed: int, block_id: tuple[int, ...]) -> np.random.Generator:
    """An independent generator for one chunk, derived from ``seed`` and the chunk index.

    The stream depends only on ``(seed, block_id)``, so results are reproducible for the same
    seed and chunking, whatever the scheduler or the order in which chunks run.
    """
    return np.random.default_rng(np.random.SeedSequence([check_seed(seed), *map(int, block_id)]))
