"""Full-reference metrics on lazy scenes: PSNR, SSIM, MS-SSIM, MSE, RMSE, ERGAS, SAM, maps.

This module is the public home of the full-reference metrics; the code lives in private
modules split by family (see ``docs/design.md``, "Structure"):

* :mod:`iqx.metrics._ssim`: SSIM and MS-SSIM (window, block sums, shared set-up);
* :mod:`iqx.metrics._error_metrics`: MSE, RMSE, PSNR, ERGAS, SAM (one-pass error sums);
* :mod:`iqx.metrics._reference_maps`: the per-pixel SSIM map and per-tile SSIM/PSNR maps;
* :mod:`iqx.metrics._reference_pair`: pair validation, validity rules, dask plumbing;
* :mod:`iqx.metrics._reference_options`: the typed, frozen options of each metric.

Conventions (see ``docs/reference-metrics.md``):

* Inputs are ``(band, y, x)`` scenes (NumPy, dask or DataArray; 2-D arrays are one band).
  Reference and test must have the same shape (and CRS when both carry one), else
  :class:`~iqx.errors.ShapeMismatchError`.
* ``data_range`` (the ``L`` of PSNR/SSIM) is explicit: the given value, else ``2**B - 1``
  with ``B`` the pair's bit depth by the rule of :mod:`iqx.bitdepth` (user > metadata >
  measured > dtype; see :mod:`iqx.metrics.data_range`); attrs ``data_range_source`` says
  which. Floating-point data without an explicit value raise
  :class:`~iqx.errors.InvalidParameterError`. Values are never rescaled.
* Results are :class:`xarray.Dataset` objects with a per-band variable ``<id>_band`` and a
  per-image scalar ``<id>``. Their attrs follow :mod:`iqx.metrics._result` (``iqx_metric``,
  ``iqx_params`` as JSON, ``iqx_version``) and then name the window, ``data_range`` and
  constants. They are lazy when an input is dask-backed (call ``.compute()``) and eager
  for NumPy input.
"""

from __future__ import annotations

from iqx.metrics._error_metrics import ergas, mse, psnr, rmse, sam
from iqx.metrics._reference_maps import psnr_map, ssim_map
from iqx.metrics._reference_options import WANG2003_WEIGHTS
from iqx.metrics._reference_pair import DEFAULT_CHUNK
from iqx.metrics._ssim import ms_ssim, ssim
from iqx.metrics.data_range import resolve_data_range

__all__ = [
    "DEFAULT_CHUNK",
    "WANG2003_WEIGHTS",
    "ergas",
    "ms_ssim",
    "mse",
    "psnr",
    "psnr_map",
    "resolve_data_range",
    "rmse",
    "sam",
    "ssim",
    "ssim_map",
]
