"""IQUAFLOW's ``iquaflow.metrics``, ``iquaflow.sanity`` and ``iquaflow.ds_stats`` names."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from iqx.annotations.sanity import SanityCheck as _Sanity
from iqx.errors import InvalidParameterError
from iqx.metrics.detection import BBDetectionMetrics

__all__ = ["BBDetectionMetrics", "DsStats", "Metric", "SNRMetric", "SanityCheck", "SharpnessMetric"]

_SNR_PARAMS = {"patch_size": "block_size", "stride": "stride", "radius": "radius"}
_SNR_PARAMS["lbp_threshold"] = "lbp_threshold"
_SHARPNESS_KEYS = {
    "RER": ("RER", "rer"),
    "FWHM": ("FWHM", "fwhm"),
    "MTF": (("MTF_NYQ", "mtf_nyquist"), ("MTF_halfNYQ", "mtf_half_nyquist")),
}
_DIRECTIONS = (("X", "x"), ("Y", "y"), ("other", "other"))


class Metric:
    """IQUAFLOW's metric interface: ``apply(predictions, gt_path) -> {name: value}``.

    Subclass it, set :attr:`metric_names` and implement :meth:`apply`; instances go to
    :meth:`ExperimentInfo.apply_metric_per_run`, where ``predictions`` is a local copy of
    the run's ``output.json``.
    """

    def __init__(self) -> None:
        self.name = type(self).__name__
        self.metric_names: list[str] = []

    def apply(self, predictions: str, gt_path: str) -> dict[str, Any]:
        """Score one run's predictions (override)."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply()")


def read_like_iquaflow(path: str | os.PathLike[str], ext: str) -> np.ndarray:
    """Read an image as IQUAFLOW's metrics did: ``(band, y, x)``.

    ``ext == "tif"``: every band as stored (rasterio). Otherwise OpenCV's ``imread``
    behaviour: 8-bit, 3 channels in BGR order (grey replicated, alpha dropped, 16-bit
    shifted right by 8), decoded with Pillow (libjpeg-turbo, like OpenCV).
    """
    path = Path(path)
    if ext == "tif":
        from iqx.io import read_image

        return read_image(path)
    from PIL import Image

    with Image.open(path) as im:
        if im.mode.startswith("I;16") or im.mode == "I":
            arr = np.asarray(im).astype(np.uint32) >> 8
            arr = np.clip(arr, 0, 255).astype(np.uint8)
            rgb = np.stack([arr] * 3, axis=-1)
        else:
            rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(np.moveaxis(rgb[..., ::-1], -1, 0))


def _images(folder: str | os.PathLike[str], ext: str) -> list[Path]:
    """IQUAFLOW's ``<dataset>/*/*.<ext>`` (an images folder is taken as it is), sorted."""
    folder = Path(folder)
    direct = sorted(p for p in folder.glob(f"*.{ext}") if p.is_file())
    if direct:
        return direct
    return sorted(p for p in folder.glob(f"*/*.{ext}") if p.is_file())


class _ImageRunMetric(Metric):
    """Blind metrics of the images a run was given (see :meth:`measure_dataset`)."""

    def __init__(self, experiment_info: Any, ext: str) -> None:
        super().__init__()
        self.experiment_info = experiment_info
        self.ext = ext

    def measure_image(self, image: np.ndarray) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def aggregate(self, rows: list[dict[str, float]]) -> dict[str, float]:  # pragma: no cover
        raise NotImplementedError

    def measure_dataset(self, data_path: str | os.PathLike[str]) -> dict[str, float]:
        """The metric over every ``*.<ext>`` image of a dataset (or images) folder."""
        rows = [
            self.measure_image(read_like_iquaflow(p, self.ext))
            for p in _images(data_path, self.ext)
        ]
        return self.aggregate(rows)

    def apply(self, predictions: str, gt_path: str) -> dict[str, float]:
        """Measure a run's images.

        ``predictions`` is a dataset or images folder, or a path holding a run id of
        ``experiment_info`` (IQUAFLOW's ``.../<run_id>/artifacts/output.json``): that run's
        ``ds_path`` param is measured. ``gt_path`` is not used.
        """
        path = Path(predictions)
        if path.is_dir():
            return self.measure_dataset(path)
        runs = getattr(self.experiment_info, "runs", {}) or {}
        for run in runs.values():
            if run.get("run_id") in path.parts:
                return self.measure_dataset(run["params_dict"]["ds_path"])
        raise InvalidParameterError(
            f"{predictions}: not a dataset folder and no run of the experiment in its path; "
            "use ExperimentInfo.apply_metric_per_run(metric, gt_path)"
        )


class SNRMetric(_ImageRunMetric):
    """IQUAFLOW's blind SNR of a run's images: ``snr_median``, ``snr_mean``, ``snr_std``.

    Parameters
    ----------
    experiment_info : ExperimentInfo
        The experiment (used by :meth:`apply` to find a run from a path).
    ext : str
        Extension of the images measured (``"tif"``: read as stored; others as OpenCV's
        8-bit BGR ``imread``).
    method : {"HB", "HA"}
        Homogeneous blocks or homogeneous area, computed by
        :func:`iqx.metrics.snr` with ``iquaflow_compat=True`` (IQUAFLOW 1.0.1's numbers).
    params : dict, optional
        ``patch_size`` (default 3), ``stride``, ``radius``, ``lbp_threshold`` (HA);
        ``debug`` is accepted and ignored.
    """

    def __init__(
        self,
        experiment_info: Any,
        ext: str = "tif",
        method: str = "HB",
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(experiment_info, ext)
        if str(method).upper() not in ("HB", "HA"):
            raise InvalidParameterError(f"SNRMetric: method must be 'HB' or 'HA', got {method!r}")
        self.method = str(method).upper()
        self.params = dict(params if params is not None else {"patch_size": 3})
        self.params.update(kwargs.pop("kwargs", {}) or {})
        unknown = set(self.params) - set(_SNR_PARAMS) - {"debug"}
        if unknown or kwargs:
            raise InvalidParameterError(
                f"SNRMetric: unknown parameter(s) {sorted(unknown | set(kwargs))}; "
                f"accepted: {sorted(_SNR_PARAMS)}"
            )
        self.metric_names = ["snr_median", "snr_mean", "snr_std"]

    def measure_image(self, image: np.ndarray) -> dict[str, float]:
        """IQUAFLOW's per-image SNR (``snr_function_from_array``), NaN when unmeasurable."""
        from iqx.metrics.snr import combine_bands, snr

        kw = {_SNR_PARAMS[k]: v for k, v in self.params.items() if k in _SNR_PARAMS}
        kw.setdefault("block_size", 3)
        ds = snr(image, self.method.lower(), iquaflow_compat=True, **kw)
        value, _err, _reason = combine_bands(ds)
        return {"snr": float("nan") if value is None else value}

    def aggregate(self, rows: list[dict[str, float]]) -> dict[str, float]:
        values = np.array([r["snr"] for r in rows], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return {
                "snr_median": float(np.nanmedian(values)) if values.size else float("nan"),
                "snr_mean": float(np.nanmean(values)) if values.size else float("nan"),
                "snr_std": float(np.nanstd(values)) if values.size else float("nan"),
            }


class SharpnessMetric(_ImageRunMetric):
    """IQUAFLOW's blind sharpness of a run's images: ``RER_X``, ``FWHM_Y``, ``MTF_NYQ_other``...

    Values are iqx's edge measurements (:func:`iqx.metrics.sharpness`, per image the mean
    over bands), averaged over images and rounded to 3 decimals as IQUAFLOW did; a direction
    without a measurable edge gives NaN (not logged).

    Parameters
    ----------
    experiment_info : ExperimentInfo
    ext : str
        Extension of the images measured.
    metrics : list of str
        Any of ``"RER"``, ``"FWHM"``, ``"MTF"`` (MTF at Nyquist and half Nyquist).
    parallel, njobs
        Accepted for compatibility (iqx parallelises inside the measurement).
    method : {"iso", "logistic"}
        iqx's ISO 12233-style values (default) or IQUAFLOW's logistic-model values on the
        same edges.
    **kwargs
        IQUAFLOW's ``SharpnessMeasure`` options are not mapped: a warning names them.
    """

    def __init__(
        self,
        experiment_info: Any,
        ext: str = "tif",
        metrics: list[str] | None = None,
        parallel: bool = True,
        njobs: int = -1,
        *,
        method: str = "iso",
        **kwargs: Any,
    ) -> None:
        super().__init__(experiment_info, ext)
        self.metrics = list(metrics if metrics is not None else ["RER", "FWHM", "MTF"])
        bad = [m for m in self.metrics if m not in _SHARPNESS_KEYS]
        if bad:
            raise InvalidParameterError(f"SharpnessMetric: unknown metrics {bad}")
        if kwargs:
            warnings.warn(
                f"SharpnessMetric: IQUAFLOW options {sorted(kwargs)} have no iqx equivalent "
                "and are ignored",
                stacklevel=2,
            )
        self.method = method
        self.parallel, self.njobs = parallel, njobs
        self._keys: list[tuple[str, str]] = []
        for m in self.metrics:
            spec = _SHARPNESS_KEYS[m]
            pairs = spec if isinstance(spec[0], tuple) else (spec,)
            for upper, lower in pairs:
                for d_up, d_low in _DIRECTIONS:
                    self._keys.append((f"{upper}_{d_up}", f"{lower}_{d_low}"))
        self.metric_names = [k for k, _ in self._keys]

    def measure_image(self, image: np.ndarray) -> dict[str, float]:
        """iqx's sharpness summary of one image under IQUAFLOW's names."""
        from iqx.metrics.sharpness import flat_summary

        summary = flat_summary(image.astype(np.float64), method=self.method)
        out = {}
        for name, key in self._keys:
            value = summary.get(key)
            out[name] = float("nan") if value is None else float(value)
        return out

    def aggregate(self, rows: list[dict[str, float]]) -> dict[str, float]:
        out = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for name in self.metric_names:
                values = np.array([r[name] for r in rows], dtype=float)
                out[name] = round(float(np.nanmean(values)), 3) if values.size else float("nan")
        return out


def _data_path(data_path: Any, ds_wrapper: Any) -> str:
    if ds_wrapper is not None:
        return str(ds_wrapper.data_path)
    if not data_path:
        raise InvalidParameterError("give data_path or ds_wrapper")
    return os.fspath(data_path)


class SanityCheck(_Sanity):
    """IQUAFLOW's ``SanityCheck(data_path, output_path, ds_wrapper=None)`` on iqx's checker.

    ``check_annotations()``, ``autofix()`` and the static ``check_coco_annotation``,
    ``check_imgs_dup``, ``fix_coco_image_size`` are iqx's; the sanitized files go to
    ``output_path``, replacing files there as IQUAFLOW did (``overwrite=True`` unless
    given). Other keywords are :class:`iqx.annotations.SanityCheck`'s.
    """

    def __init__(
        self, data_path: str = "", output_path: str = "", ds_wrapper: Any = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("overwrite", True)
        super().__init__(_data_path(data_path, ds_wrapper), output_path or None, **kwargs)


class DsStats:
    """IQUAFLOW's ``DsStats(data_path, output_path=None, ds_wrapper=None)``.

    :meth:`perform_stats` computes iqx's :class:`~iqx.annotations.DatasetStats` and writes
    ``stats.json`` (and PNG plots) into ``output_path`` (default ``<data_path>_stats``, beside
    the dataset: IQUAFLOW's ``<data_path>/stats`` lies inside the input). The returned structure is iqx's
    dict, not IQUAFLOW's list of ``{"obj", "stats"}`` entries (see ``docs/migration.md``).
    """

    def __init__(self, data_path: str = "", output_path: str | None = None, ds_wrapper: Any = None):
        self.data_path = _data_path(data_path, ds_wrapper)
        from iqx.annotations import DatasetStats

        self._stats = DatasetStats(self.data_path)
        # IQUAFLOW's default <data_path>/stats lies inside the input: iqx writes the sibling
        # <data_path>_stats instead (docs/migration.md)
        default = self._stats.data_path.parent / f"{self._stats.data_path.name}_stats"
        self.output_path = output_path or str(default)
        self.annotfns = [str(p) for p in self._stats.layout.annotation_files]

    def perform_stats(self, show_plots: bool = True) -> dict[str, Any]:
        """Compute and write the statistics; return them (``stats.json``'s content)."""
        self._stats.write(self.output_path, plots=bool(show_plots))
        return self._stats.compute()
