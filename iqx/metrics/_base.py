"""The Metric interface for users' own metrics (and iqx's class-based ones).

Two forms cover what IQUAFLOW users need:

* **Array metrics** (:class:`ArrayMetric`): an image in -- or a ``(reference, test)`` pair
  when ``requires_reference`` is true -- values out. ``compute`` receives ``(band, y, x)``
  :class:`xarray.DataArray` scenes (usually dask-backed and lazy) and returns a mapping
  ``{name: value}`` whose keys are exactly :attr:`Metric.metric_names`. Values may be
  Python floats, NumPy scalars, 0-d dask arrays or 0-d DataArrays; calling the metric
  returns an :class:`xarray.Dataset` with one scalar variable per name (lazy when the
  values are).
* **Run metrics** (:class:`RunMetric`): ``apply(predictions, gt_path) -> dict``, applied to
  the outputs of past training runs exactly like IQUAFLOW's ``Metric.apply``
  (``predictions`` is typically ``<artifact_dir>/output.json``; ``gt_path`` the ground-truth
  annotation file). :class:`iqx.metrics.BBDetectionMetrics` is one.

Both register like built-ins, with :func:`iqx.registry.register_metric` or through the
``iqx.metrics`` entry-point group, under their ``id``.

Examples
--------
>>> import numpy as np
>>> from iqx.metrics import ArrayMetric
>>> from iqx.registry import register_metric
>>> @register_metric("mean_abs_error_demo")
... class MeanAbsError(ArrayMetric):
...     '''Mean absolute difference between test and reference.'''
...     id = "mean_abs_error_demo"
...     metric_names = ("mae",)
...     requires_reference = True
...     def compute(self, image, reference=None):
...         return {"mae": abs(image.astype("f8") - reference).mean()}
>>> ref = np.zeros((4, 4)); test = np.ones((4, 4))
>>> float(MeanAbsError()(test, reference=ref)["mae"])
1.0
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import xarray as xr

from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.parallel import as_scene

__all__ = ["ArrayMetric", "Metric", "RunMetric"]


class Metric:
    """Base of every class-based metric.

    Attributes
    ----------
    id : str
        Registry identifier (= CLI name = MLflow key prefix).
    metric_names : sequence of str
        Names of the values the metric produces, in order.
    units : mapping
        Unit of each value, where meaningful.
    """

    id: ClassVar[str] = "metric"
    metric_names: ClassVar[tuple[str, ...]] = ()
    units: ClassVar[Mapping[str, str]] = {}

    @property
    def name(self) -> str:
        """IQUAFLOW's attribute name for the identifier."""
        return self.id

    def _check_keys(self, result: Mapping[str, Any]) -> None:
        if not isinstance(result, Mapping):
            raise InvalidParameterError(
                f"metric {self.id!r} must return a mapping name -> value, "
                f"got {type(result).__name__}"
            )
        expected = list(self.metric_names)
        if expected and set(result) != set(expected):
            missing = sorted(set(expected) - set(result))
            extra = sorted(set(result) - set(expected))
            raise InvalidParameterError(
                f"metric {self.id!r} returned keys that differ from metric_names: "
                f"missing {missing}, unexpected {extra}"
            )


class ArrayMetric(Metric, abc.ABC):
    """A metric computed from image arrays: ``compute(image, reference=None) -> mapping``.

    Subclasses set :attr:`requires_reference` to true for full-reference metrics. Calling an
    instance normalises the inputs to ``(band, y, x)`` DataArrays (NumPy, dask and
    DataArray inputs are accepted), checks that the pair has the same shape, calls
    :meth:`compute` and returns an :class:`xarray.Dataset`.
    """

    requires_reference: ClassVar[bool] = False

    @abc.abstractmethod
    def compute(
        self, image: xr.DataArray, reference: xr.DataArray | None = None
    ) -> Mapping[str, Any]:
        """Return ``{name: value}`` for one image (and its reference)."""

    def __call__(self, image: Any, reference: Any = None) -> xr.Dataset:
        """Measure ``image`` (against ``reference``) and return a Dataset of scalars."""
        scene = as_scene(image)
        ref = None
        if self.requires_reference:
            if reference is None:
                raise InvalidParameterError(f"metric {self.id!r} needs a reference image")
            ref = as_scene(reference)
            if ref.shape != scene.shape:
                raise ShapeMismatchError(
                    f"metric {self.id!r}: reference shape {ref.shape} != test shape {scene.shape}"
                )
        result = self.compute(scene, ref) if self.requires_reference else self.compute(scene)
        self._check_keys(result)
        data_vars = {}
        for key, value in result.items():
            data = value.data if isinstance(value, xr.DataArray) else value
            data_vars[key] = ((), data if hasattr(data, "dtype") else np.asarray(data))
        return xr.Dataset(data_vars, attrs={"metric": self.id})


class RunMetric(Metric, abc.ABC):
    """A metric of a training run's outputs: ``apply(predictions, gt_path) -> dict``.

    This is IQUAFLOW's ``Metric.apply`` contract: ``predictions`` is the path of the run's
    prediction file (e.g. ``output.json``), ``gt_path`` the path of the ground truth. The
    returned dict maps every name in :attr:`metric_names` to a float.
    """

    @abc.abstractmethod
    def apply(self, predictions: str | Path, gt_path: str | Path) -> dict[str, float]:
        """Score the predictions of one run against the ground truth."""

    def __call__(self, predictions: str | Path, gt_path: str | Path) -> dict[str, float]:
        """:meth:`apply`, with the returned keys checked against :attr:`metric_names`."""
        result = self.apply(predictions, gt_path)
        self._check_keys(result)
        return dict(result)
