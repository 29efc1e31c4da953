"""One result convention for metrics: attrs, flat summary and a one-line headline.

Every metric result (an :class:`xarray.Dataset`, or a DataArray for maps) carries

* ``iqx_metric``: the registry id;
* ``iqx_params``: the options the value was computed with, as compact key-sorted JSON
  (:meth:`iqx.metrics._options.Options.to_json`), with data-derived values resolved
  (e.g. the ``data_range`` actually used);
* ``iqx_version``: the library version.

Metric-specific attrs (``window``, ``data_range_source``, ``references``...) follow. The
flat summary, ``{key: float or None}`` for ``iqx measure``/``iqx compare``, JSON and
MLflow, is :func:`flat_summary` of the result unless a metric declares its own in its
registration (``register_metric(..., flat_summary=...)``). Band labels may be integers or
strings (``"red"``): they only ever become part of a key.

Examples
--------
>>> import numpy as np, xarray as xr
>>> ds = xr.Dataset(
...     {"psnr": ((), 31.5), "psnr_band": (("band",), [30.0, 33.0])},
...     coords={"band": ["red", "nir"]},
...     attrs=result_attrs("psnr", {"data_range": 255.0}),
... )
>>> ds.attrs["iqx_params"]
'{"data_range":255.0}'
>>> flat_summary(ds, ("psnr", "psnr_band"))
{'psnr': 31.5, 'psnr_band_red': 30.0, 'psnr_band_nir': 33.0}
>>> headline(ds, ("psnr", "psnr_band"))
'psnr 31.5 (band red 30, nir 33)'
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from iqx._json import to_jsonable
from iqx._version import __version__
from iqx.metrics._options import Options

__all__ = ["flat_summary", "headline", "params_json", "result_attrs", "summarize"]


def params_json(params: Options | Mapping[str, Any] | None) -> str:
    """Options (or a plain mapping) as compact, key-sorted JSON."""
    if isinstance(params, Options):
        return params.to_json()
    return json.dumps(to_jsonable(dict(params or {})), sort_keys=True, separators=(",", ":"))


def result_attrs(
    metric: str, params: Options | Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    """The attrs every metric result starts with, then ``extra``.

    Parameters
    ----------
    metric : str
        Registry id of the metric.
    params : Options or mapping, optional
        What the value was computed with (stored as JSON under ``iqx_params``).
    **extra
        Metric-specific attrs, appended in order.

    Returns
    -------
    dict
        ``{"iqx_metric", "iqx_params", "iqx_version", "metric", **extra}``; ``metric`` is
        the id again, kept for code written before the ``iqx_`` prefix.
    """
    return {
        "iqx_metric": metric,
        "iqx_params": params_json(params),
        "iqx_version": __version__,
        "metric": metric,
        **extra,
    }


def _scalar(value: Any) -> float | None:
    v = float(value)
    return None if math.isnan(v) else v


def _outputs(ds: xr.Dataset, outputs: Sequence[str] | None) -> list[str]:
    names = list(outputs) if outputs else [str(k) for k in ds.data_vars]
    return [n for n in names if n in ds.data_vars]


def _band_labels(var: xr.DataArray) -> list[str]:
    if "band" in var.coords:
        return [str(v) for v in np.asarray(var.coords["band"].values).tolist()]
    return [str(i + 1) for i in range(var.sizes["band"])]


def flat_summary(ds: xr.Dataset, outputs: Sequence[str] | None = None) -> dict[str, Any]:
    """``{key: float or None}`` from a metric result (computed if lazy).

    A scalar variable gives one key; a per-band variable gives ``<name>_<label>`` per band,
    whatever the labels' type. NaN becomes ``None``; ``inf`` (PSNR of identical images)
    stays. Other dimensions are not flattened (those variables are left out).

    Parameters
    ----------
    ds : xarray.Dataset
        The result.
    outputs : sequence of str, optional
        Variables to include, in order (default: every data variable).
    """
    names = _outputs(ds, outputs)
    ds = ds[names].compute()
    out: dict[str, Any] = {}
    for name in names:
        var = ds[name]
        if var.ndim == 0:
            out[name] = _scalar(var.values)
        elif var.dims == ("band",):
            for label, value in zip(_band_labels(var), var.values.tolist(), strict=True):
                out[f"{name}_{label}"] = _scalar(value)
    return out


def headline(ds: xr.Dataset, outputs: Sequence[str] | None = None) -> str:
    """One line with the headline values: ``"ssim 0.9312 (band 1 0.93, 2 0.94)"``.

    The first scalar output is the headline; the first per-band output follows in
    parentheses. Lazy results are computed.
    """
    names = _outputs(ds, outputs)
    scalars = [n for n in names if ds[n].ndim == 0]
    bands = [n for n in names if ds[n].dims == ("band",)]
    parts = []
    if scalars:
        parts.append(f"{scalars[0]} {float(ds[scalars[0]].values):.6g}")
    if bands:
        var = ds[bands[0]].compute()
        values = ", ".join(
            f"{label} {v:.6g}"
            for label, v in zip(_band_labels(var), var.values.tolist(), strict=True)
        )
        parts.append(f"(band {values})" if scalars else f"{bands[0]} (band {values})")
    return " ".join(parts)


def summarize(metric: str, result: Any) -> dict[str, Any]:
    """The flat summary of ``result`` as the registration of ``metric`` declares it.

    The registration's ``flat_summary`` when it declares one, else :func:`flat_summary`
    over its ``outputs``: what ``iqx measure``/``iqx compare`` and MLflow logging can call
    for any registered metric instead of naming modules.
    """
    from iqx.registry import metrics

    reg = metrics.get(metric)
    if reg.flat_summary is not None:
        return reg.flat_summary(result)
    return flat_summary(result, reg.outputs)
