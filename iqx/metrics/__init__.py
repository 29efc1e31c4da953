"""Registered quality metrics: blind (SNR, sharpness), full-reference and task metrics."""

__all__: list[str] = []
