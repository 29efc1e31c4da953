"""Helpers for testing code built on iqx: laziness checks and synthetic scenes with known truth."""

from iqx.testing.laziness import raise_if_dask_computes

__all__ = ["raise_if_dask_computes"]
