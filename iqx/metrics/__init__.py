"""Registered quality metrics: blind (SNR, sharpness), full-reference and task metrics."""

import iqx.accessor  # noqa: F401  (registers the .iqx DataArray accessor)
from iqx.metrics._base import ArrayMetric, Metric, RunMetric
from iqx.metrics.detection import COCO_METRIC_NAMES, BBDetectionMetrics
from iqx.metrics.niirs import niirs, niirs_map
from iqx.metrics.reference import (
    ergas,
    ms_ssim,
    mse,
    psnr,
    psnr_map,
    rmse,
    sam,
    ssim,
    ssim_map,
)
from iqx.metrics.sharpness import sharpness, sharpness_map
from iqx.metrics.snr import snr, snr_map

__all__: list[str] = [
    "COCO_METRIC_NAMES",
    "ArrayMetric",
    "BBDetectionMetrics",
    "Metric",
    "RunMetric",
    "ergas",
    "ms_ssim",
    "mse",
    "niirs",
    "niirs_map",
    "psnr",
    "psnr_map",
    "rmse",
    "sam",
    "sharpness",
    "sharpness_map",
    "snr",
    "snr_map",
    "ssim",
    "ssim_map",
]
