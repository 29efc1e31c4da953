"""Full-reference comparison of two images or two datasets (a reference and its ``#`` copy).

Images are matched by **file name** (a modified dataset ``<name>#<modifier>`` keeps the
reference's image names). Every metric is any registered full-reference metric
(:func:`iqx.metrics.psnr`, :func:`~iqx.metrics.ssim`, ... or a user's
:class:`~iqx.metrics.ArrayMetric` with ``requires_reference = True``). All images of a batch
are measured in one dask computation, so they run in parallel on local threads or on a
``dask.distributed`` cluster (``scheduler=`` an address or a client, or the active client).

Datasets of small files (tiny PNGs, the MNIST case) are compared pair by pair instead: each
pair is read whole as NumPy (:func:`~iqx.io.scene.open_or_read_scene`) and its metrics run
without a dask graph, batches of pairs going to the same places as :func:`iqx.modify`'s
(:func:`~iqx.datasets._scheduler.map_batches`: worker processes when they pay). A dask graph
per metric cost ~10 ms of a 28×28 pair's ~24 ms; the values are the same either way.

Results are a :class:`pandas.DataFrame` with one row per image (index ``image``) and one
column per scalar output (``psnr``, ``ssim``, ...); :func:`summarize` gives the per-dataset
mean of every column.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import pandas as pd
import xarray as xr

from iqx.datasets._scheduler import FileSizes, file_sizes, map_batches, use_scheduler
from iqx.errors import InvalidParameterError, ShapeMismatchError
from iqx.metrics._base import ArrayMetric, RunMetric
from iqx.registry import metrics as metric_registry

__all__ = [
    "DEFAULT_METRICS",
    "check_reference_metric",
    "compare_datasets",
    "compare_images",
    "compare_paths",
    "evaluate_reference_metric",
    "match_images",
    "summarize",
]

#: metrics measured when none are named
DEFAULT_METRICS: tuple[str, ...] = ("psnr", "ssim")

_SHOWN = 5


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


def check_reference_metric(metric_id: str) -> Any:
    """The registered target of ``metric_id`` if it compares two images; else raise.

    A function metric compares images when its first two parameters are required
    positional ones (``psnr(reference, test, ...)``); ``snr(image, method=...)`` does not.

    Raises
    ------
    InvalidParameterError
        For blind (no-reference) metrics and run metrics, naming the command to use.
    """
    target = metric_registry.get(metric_id).target
    blind = (
        f"metric {metric_id!r} is a no-reference (blind) metric: it measures one image and "
        "cannot compare two; use `iqx measure` (or iqx.metrics) for it"
    )
    if inspect.isclass(target):
        if issubclass(target, RunMetric):
            raise InvalidParameterError(
                f"metric {metric_id!r} scores a training run's predictions "
                "(apply(predictions, gt_path)), not a pair of images"
            )
        if issubclass(target, ArrayMetric) and not target.requires_reference:
            raise InvalidParameterError(blind)
        return target
    if not _takes_two_images(target):
        raise InvalidParameterError(blind)
    return target


@functools.lru_cache(maxsize=256)
def _takes_two_images(func: Callable[..., Any]) -> bool:
    """True when ``func``'s first two parameters are required positional ones."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    positional = [
        p
        for p in params[:2]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return len(positional) == 2


def evaluate_reference_metric(
    metric_id: str, reference: xr.DataArray, test: xr.DataArray, **options: Any
) -> xr.Dataset:
    """Run the registered full-reference metric ``metric_id`` on one pair (lazily).

    ``options`` are passed to the metric when its signature accepts them (so a global
    ``data_range=`` or ``window=`` reaches PSNR/SSIM and is ignored by SAM); an option the
    metric requires but is not given (e.g. ERGAS's ``ratio``) raises
    :class:`~iqx.errors.InvalidParameterError`.
    """
    target = check_reference_metric(metric_id)
    if inspect.isclass(target):
        return target()(test, reference=reference)
    return target(reference, test, **_call_kwargs(metric_id, target, options))


def _call_kwargs(metric_id: str, func: Callable[..., Any], options: Any) -> dict[str, Any]:
    """The ``options`` ``func`` accepts (None values dropped); raise for a missing required one."""
    params, required = _keywords(func)
    missing = [n for n in required if options.get(n) is None]
    if missing:
        raise InvalidParameterError(
            f"metric {metric_id!r} needs {', '.join(missing)} (e.g. ergas needs the h/l "
            "pixel-size ratio: --ratio 0.25)"
        )
    return {k: v for k, v in options.items() if k in params and v is not None}


@functools.lru_cache(maxsize=256)
def _keywords(func: Callable[..., Any]) -> tuple[frozenset[str], tuple[str, ...]]:
    """``func``'s parameter names and its required keyword-only ones (signatures are slow)."""
    params = inspect.signature(func).parameters
    required = tuple(
        n for n, p in params.items() if p.kind == p.KEYWORD_ONLY and p.default is p.empty
    )
    return frozenset(params), required


def _metric_scalars(
    metric_id: str, reference: xr.DataArray, test: xr.DataArray, per_band: bool, options: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(scalars, data-range info)`` of one metric on one pair.

    A function metric with a ``parts`` attribute (PSNR, SSIM, MSE, RMSE:
    :class:`iqx.metrics._reference_pair.MetricParts`) gives them without building its
    Dataset; any other metric is run and its Dataset read.
    """
    target = check_reference_metric(metric_id)
    parts = None if inspect.isclass(target) else getattr(target, "parts", None)
    if parts is None:
        ds = evaluate_reference_metric(metric_id, reference, test, **options)
        return _scalars(ds, per_band), _range_info(ds.attrs)
    result = parts(reference, test, **_call_kwargs(metric_id, target, options))
    return result.scalars(per_band), _range_info(result.attrs)


def _scalars(ds: xr.Dataset, per_band: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, var in ds.data_vars.items():
        if var.ndim == 0 and name != "count":
            out[str(name)] = var.data
        elif per_band and var.dims == ("band",) and str(name).endswith("_band"):
            for b, value in zip(var["band"].values, var.data, strict=True):
                out[f"{name}_{b}"] = value
    return out


def _range_info(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """``data_range`` and ``data_range_source`` of a PSNR/SSIM result (empty otherwise)."""
    if "data_range" not in attrs:
        return {}
    return {
        "data_range": float(attrs["data_range"]),
        "data_range_source": str(attrs.get("data_range_source", "user")),
    }


def _value(v: Any) -> Any:
    return v if isinstance(v, str) else float(v)


def _compute_kwargs() -> dict[str, Any]:
    """``dask.compute`` keywords: the active client, else this machine's threads, also for
    ``scheduler="processes"`` (the reference metrics are numba kernels that release the GIL)."""
    from iqx.io._sched import compute_kwargs

    kwargs = compute_kwargs()
    return {"scheduler": "threads"} if kwargs.get("scheduler") == "processes" else kwargs


def _measure_depths(pairs: list[tuple[xr.DataArray, xr.DataArray]]) -> None:
    """Measure, in one parallel pass, the maxima the bit-depth rule will need (cached)."""
    from iqx.bitdepth import pair_bit_depth, pending_max, remember_max

    scenes = []
    for r, t in pairs:
        if pair_bit_depth(r, t, measure=False).source not in ("user", "metadata"):
            scenes += [r, t]
    todo = pending_max(scenes)
    if todo:
        values = dask.compute(*[expr for _, expr in todo], **_compute_kwargs())
        for (scene, _), value in zip(todo, values, strict=True):
            remember_max(scene, value)


@dataclass(frozen=True)
class _PairSettings:
    """How every pair of a dataset comparison is opened and measured (pickles to workers)."""

    metrics: tuple[str, ...]
    per_band: bool
    chunks: Any
    bit_depth: int | None
    options: Mapping[str, Any] = field(default_factory=dict)


def _compare_batch(pairs: list[tuple[str, str]], settings: _PairSettings) -> list[dict[str, Any]]:
    """The row of every ``(reference, test)`` path pair, each read whole when small.

    A pair too large to read whole stays lazy and is computed here, in the calling worker
    (dask's synchronous scheduler), as :func:`iqx.datasets.measure.measure_image` does.
    """
    from iqx.io.scene import open_or_read_scene

    rows = []
    with dask.config.set(scheduler="sync"):
        for ref_path, test_path in pairs:
            ref, tst = (
                open_or_read_scene(p, chunks=settings.chunks, bit_depth=settings.bit_depth)
                for p in (ref_path, test_path)
            )
            rows.append(
                compare_images(
                    ref,
                    tst,
                    metrics=settings.metrics,
                    per_band=settings.per_band,
                    **settings.options,
                )
            )
    return rows


def compare_images(
    reference: xr.DataArray,
    test: xr.DataArray,
    *,
    metrics: Iterable[str] = DEFAULT_METRICS,
    per_band: bool = False,
    compute: bool = True,
    **options: Any,
) -> dict[str, Any]:
    """Scalar results of every metric for one (reference, test) pair.

    Returns ``{"psnr": ..., "ssim": ...}`` (plus ``<var>_<band>`` per-band entries with
    ``per_band=True``) and, for PSNR/SSIM, ``data_range`` with its ``data_range_source``
    (the bit-depth rule of :mod:`iqx.bitdepth`); with ``compute=False`` the metric values
    are lazy dask scalars.
    """
    row: dict[str, Any] = {}
    info: dict[str, Any] = {}
    for metric_id in metrics:
        scalars, range_info = _metric_scalars(metric_id, reference, test, per_band, options)
        row.update(scalars)
        info = info or range_info
    row.update(info)
    if compute:
        if any(dask.is_dask_collection(v) for v in row.values()):
            (row,) = dask.compute(row)
        row = {k: _value(v) for k, v in row.items()}
    return row


def match_images(
    reference: Any, test: Any, *, on_missing: str = "error"
) -> list[tuple[str, Path, Path]]:
    """Pair the images of two datasets by file name, in the reference's (sorted) order.

    Parameters
    ----------
    reference, test : Dataset
        Opened datasets (:func:`iqx.open_dataset`).
    on_missing : {"error", "skip"}
        What to do when the file sets differ: raise (default), or compare the common names.

    Raises
    ------
    ShapeMismatchError
        The sets differ (``on_missing="error"``) or have no name in common; the message
        lists a few missing names on each side.
    """
    if on_missing not in ("error", "skip"):
        raise InvalidParameterError(f"on_missing must be 'error' or 'skip', got {on_missing!r}")
    ref_files = {p.name: p for p in reference.image_files}
    test_files = {p.name: p for p in test.image_files}
    only_ref = sorted(set(ref_files) - set(test_files))
    only_test = sorted(set(test_files) - set(ref_files))
    common = [n for n in sorted(ref_files) if n in test_files]
    if not common or (on_missing == "error" and (only_ref or only_test)):
        parts = []
        if only_ref:
            parts.append(f"missing from {test.data_input}: {_few(only_ref)}")
        if only_test:
            parts.append(f"missing from {reference.data_input}: {_few(only_test)}")
        head = "no image names in common" if not common else "image names differ"
        raise ShapeMismatchError(
            f"{head} between {reference.data_path} and {test.data_path}; " + "; ".join(parts)
        )
    return [(n, ref_files[n], test_files[n]) for n in common]


def compare_datasets(
    reference: Any,
    test: Any,
    *,
    metrics: Iterable[str] = DEFAULT_METRICS,
    per_band: bool = False,
    on_missing: str = "error",
    chunks: Any = None,
    batch_size: int | None = None,
    bit_depth: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int], Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Compare every image of ``test`` with the image of the same name in ``reference``.

    Parameters
    ----------
    reference, test : path or Dataset
        Dataset folders (IQUAFLOW layout) or opened datasets, e.g. ``ds`` and ``ds#jpeg70``.
    metrics : iterable of str
        Registered full-reference metric ids.
    per_band : bool
        Also report per-band values (columns ``<var>_<band>``).
    on_missing : {"error", "skip"}
        See :func:`match_images`.
    chunks : optional
        Passed to :func:`iqx.io.open_scene`.
    batch_size : int, optional
        Images per dask computation (bounds the graph size; default 16), or, for small
        files, pairs per task (default: about 4 tasks per worker, at most 256).
    bit_depth : int, optional
        Bits per sample of both datasets (the user's source of :mod:`iqx.bitdepth`); default:
        the datasets' own ``bit_depth`` setting, else each pair's metadata or measured depth.
    scheduler : None, address or distributed.Client, optional
        Where the pairs are compared (:func:`iqx.datasets._scheduler.use_scheduler`): default
        the active client if any, else local threads (worker processes for many small
        files, when starting them pays; ``"processes"`` asks for them).
    progress : callable, optional
        ``progress(n)`` after each batch of ``n`` compared pairs.
    **options
        ``data_range``, ``window``, ``ratio`` ... passed to the metrics that accept them.

    Returns
    -------
    pandas.DataFrame
        Index ``image`` (file names), one float column per scalar output, plus
        ``data_range`` and ``data_range_source`` for PSNR/SSIM.
    """
    from iqx.datasets.layout import Dataset, open_dataset

    ref_ds = reference if isinstance(reference, Dataset) else open_dataset(reference)
    test_ds = test if isinstance(test, Dataset) else open_dataset(test)
    if batch_size is not None and batch_size < 1:
        raise InvalidParameterError(f"batch_size must be >= 1, got {batch_size}")
    metrics = list(metrics)
    pairs = match_images(ref_ds, test_ds, on_missing=on_missing)
    if bit_depth is None:
        bit_depth = getattr(ref_ds, "bit_depth", None) or getattr(test_ds, "bit_depth", None)
    settings = _PairSettings(tuple(metrics), per_band, chunks, bit_depth, options)
    paths = [(str(r), str(t)) for _, r, t in pairs]
    # a worker (process or cluster) finds metrics by id: only iqx's own are registered there
    sizes = file_sizes([r for r, _ in paths]) if _all_builtin(metrics) else FileSizes()
    with use_scheduler(scheduler):
        if sizes.small_files:
            rows = map_batches(
                _compare_batch,
                paths,
                settings,
                batch_size=batch_size,
                small_files=sizes.small_files,
                tiny=sizes.tiny,
                progress=progress,
            )
        else:
            rows = _compare_in_graphs(paths, settings, batch_size or 16, progress)
    frame = pd.DataFrame(rows, index=pd.Index([n for n, _, _ in pairs], name="image"))
    frame.attrs.update(
        {"reference": str(ref_ds.data_path), "test": str(test_ds.data_path), "metrics": metrics}
    )
    return frame


def _all_builtin(metrics: Sequence[str]) -> bool:
    """True when every metric is registered by iqx itself (so in every worker process):
    a user's metric, registered in a notebook or in a module a worker never imports, is
    compared through graphs, whose tasks carry the functions themselves."""
    return all(
        getattr(metric_registry.get(m).target, "__module__", "").startswith("iqx.") for m in metrics
    )


def _compare_in_graphs(
    paths: list[tuple[str, str]],
    settings: _PairSettings,
    batch_size: int,
    progress: Callable[[int], Any] | None,
) -> list[dict[str, Any]]:
    """The rows of larger images: ``batch_size`` lazy pairs per dask computation, so
    every chunk of every pair runs in parallel (local threads or the active client)."""
    from iqx.io import open_scene

    rows = []
    for start in range(0, len(paths), batch_size):
        scenes = [
            tuple(open_scene(p, chunks=settings.chunks, bit_depth=settings.bit_depth) for p in pair)
            for pair in paths[start : start + batch_size]
        ]
        _measure_depths(scenes)
        lazy = [
            compare_images(
                r,
                t,
                metrics=settings.metrics,
                per_band=settings.per_band,
                compute=False,
                **settings.options,
            )
            for r, t in scenes
        ]
        for row in dask.compute(*lazy, **_compute_kwargs()):
            rows.append({k: _value(v) for k, v in row.items()})
        if progress is not None:
            progress(len(scenes))
    return rows


def summarize(frame: pd.DataFrame) -> dict[str, float]:
    """Per-dataset result: the mean over images of every column (NaN ignored).

    PSNR is averaged in dB (the usual convention of super-resolution papers), not
    recomputed from a pooled MSE.
    """
    return {str(k): float(v) for k, v in frame.mean(numeric_only=True).items()}


def compare_paths(
    reference: str | Path,
    test: str | Path,
    *,
    metrics: Iterable[str] = DEFAULT_METRICS,
    per_band: bool = False,
    on_missing: str = "error",
    chunks: Any = None,
    bit_depth: int | None = None,
    scheduler: Any = None,
    progress: Callable[[int], Any] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`compare_datasets` for two folders, or one pair of raster files.

    Two files give a one-row frame indexed by the test file's name (``progress`` is not
    called for them: the pair is one dask computation).
    """
    from iqx.errors import PathNotFoundError
    from iqx.io import open_scene

    metrics = list(metrics)
    for metric_id in metrics:  # before any image is opened
        check_reference_metric(metric_id)
    ref_p, test_p = Path(reference), Path(test)
    for p in (ref_p, test_p):
        if not p.exists():
            raise PathNotFoundError(f"{p}: no such file or folder")
    if ref_p.is_dir() != test_p.is_dir():
        raise InvalidParameterError(
            f"compare two files or two dataset folders, not a mix: {ref_p} and {test_p}"
        )
    if ref_p.is_dir() and not _is_zarr(ref_p):
        return compare_datasets(
            ref_p,
            test_p,
            metrics=metrics,
            per_band=per_band,
            on_missing=on_missing,
            chunks=chunks,
            bit_depth=bit_depth,
            scheduler=scheduler,
            progress=progress,
            **options,
        )
    with use_scheduler(scheduler):
        row = compare_images(
            open_scene(ref_p, chunks=chunks, bit_depth=bit_depth),
            open_scene(test_p, chunks=chunks, bit_depth=bit_depth),
            metrics=list(metrics),
            per_band=per_band,
            **options,
        )
    frame = pd.DataFrame([row], index=pd.Index([test_p.name], name="image"))
    frame.attrs.update({"reference": str(ref_p), "test": str(test_p), "metrics": list(metrics)})
    return frame


def _is_zarr(path: Path) -> bool:
    return (path / "zarr.json").is_file() or (path / ".zgroup").is_file()
