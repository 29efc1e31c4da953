"""``derive_dataset``: the machinery behind every dataset modifier (``<name>#<step>`` copies).

The new folder ``<parent>/<name>#<step>`` keeps the source layout: the images folder keeps
its name and every image its file name; annotations and the ``_mask`` folder are copied (or
transformed); ``iqx_manifest.json`` records the source, the step, its config, the chain of
configs since the original dataset, per-file info and totals.

Atomic and idempotent: everything is built in ``<name>#<step>.iqx-tmp-<uuid>`` next to the
final folder, the manifest is written last, then the folder is renamed. Re-running with the
same config returns the existing dataset without work; a different config (or a folder with
no manifest) raises :class:`ManifestConflictError` unless ``overwrite=True``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from iqx.datasets.layout import Dataset, open_dataset
from iqx.datasets.manifest import build_manifest, canonical_config, read_manifest, write_manifest
from iqx.errors import (
    DatasetLayoutError,
    InvalidParameterError,
    IqxError,
    ManifestConflictError,
)
from iqx.io._atomic import _remove, replace_dir, tmp_sibling
from iqx.io._sched import compute_kwargs

__all__ = ["copy_dataset", "copy_file", "derive_dataset", "derived_name"]

ProcessFile = Callable[[Path, Path], Mapping[str, Any] | None]


def derived_name(source: Dataset, step: str) -> str:
    """``<source name>#<step>``, the folder name of a derived dataset."""
    return f"{source.name}#{step}"


def copy_file(src: Path, dst: Path) -> dict[str, Any]:
    """A ``process_file`` that copies the image unchanged (IQUAFLOW's ``base_modifier``)."""
    shutil.copyfile(src, dst)
    return {}


def _run_one(pair: tuple[str, str], process_file: ProcessFile) -> dict[str, Any]:
    src, dst = Path(pair[0]), Path(pair[1])
    try:
        info = process_file(src, dst)
    except IqxError:
        raise
    except Exception as exc:
        raise type(exc)(f"{src}: processing failed: {exc}") from exc
    if info is None:
        info = {}
    if not isinstance(info, Mapping):
        raise InvalidParameterError(
            f"{src}: process_file must return a dict of per-file info, got {type(info).__name__}"
        )
    if not dst.is_file():
        raise DatasetLayoutError(f"{src}: process_file did not write {dst}")
    info = canonical_config(info, what=f"{src}: per-file info")
    info.update(file=src.name, input_bytes=src.stat().st_size, output_bytes=dst.stat().st_size)
    return info


def _check_existing(out: Path, config: dict[str, Any], overwrite: bool) -> Dataset | None:
    """The existing dataset when it was made with ``config``; None to (re)build; else raise."""
    if not out.exists():
        return None
    manifest = read_manifest(out) if out.is_dir() else None
    existing = None if manifest is None else manifest.get("config")
    if existing is not None and canonical_config(existing) == config:
        return open_dataset(out, images=manifest.get("layout", {}).get("data_input") or None)
    if overwrite:
        return None
    what = "no iqx manifest" if manifest is None else f"config {existing}"
    raise ManifestConflictError(
        f"{out}: already exists with {what}, requested config {config}; "
        "pass overwrite=True to replace it"
    )


def derive_dataset(
    source: Dataset,
    step: str,
    config: Mapping[str, Any],
    process_file: ProcessFile,
    *,
    transform_annotations: Callable[[Path, Path], None] | None = None,
    transform_masks: Callable[[Path, Path], None] | None = None,
    batch_size: int = 16,
    overwrite: bool = False,
) -> Dataset:
    """Write ``<source.parent_folder>/<source.name>#<step>`` by processing every image.

    Parameters
    ----------
    source : Dataset
        The dataset to derive from (possibly itself derived: chains become ``<name>#a#b``).
    step : str
        Step name, used in the folder name and in ``params["modifier"]``.
    config : dict
        The operation's JSON-able config (e.g. ``{"id": "jpeg", "quality": 70}``). It decides
        idempotency; its items except ``id`` are merged into ``params``.
    process_file : callable
        ``process_file(src, dst) -> dict``: writes image ``dst`` from ``src`` (any way it
        likes, e.g. :func:`iqx.io.write_image`) and returns JSON-able per-file info.
    transform_annotations : callable, optional
        ``f(src, dst)`` for every top-level ``*.json``/``*.geojson``; default: copy.
    transform_masks : callable, optional
        ``f(src_dir, dst_dir)`` for the ``_mask`` folder (``dst_dir`` does not exist yet);
        default: copy the folder.
    batch_size : int
        Images per dask task. Runs on the active distributed client if any, else on threads.
    overwrite : bool
        Replace an existing folder made with another config (or without a manifest).

    Returns
    -------
    Dataset
        The derived dataset; ``params = source.params | {"ds_name": <new name>,
        "modifier": <chain of step names joined by "#">, **config-without-id}``.

    Raises
    ------
    ManifestConflictError
        The target exists with another config and ``overwrite`` is false.
    """
    import dask.bag as db

    if not isinstance(step, str) or not step or "/" in step or step.startswith("."):
        raise InvalidParameterError(f"invalid step name {step!r}")
    if batch_size < 1:
        raise InvalidParameterError(f"batch_size must be >= 1, got {batch_size}")
    config = canonical_config(config)
    new_name = derived_name(source, step)
    out = source.parent_folder / new_name
    existing = _check_existing(out, config, overwrite)
    if existing is not None:
        return existing

    previous = source.params.get("modifier")
    chain_name = f"{previous}#{step}" if previous else step
    params = {**source.params, "ds_name": new_name, "modifier": chain_name}
    params.update({k: v for k, v in config.items() if k != "id"})
    chain = [*((source.manifest or {}).get("chain") or []), config]

    tmp = tmp_sibling(out)
    tmp.mkdir(parents=True)
    try:
        images_out = tmp if source.flat else tmp / source.data_input.name
        images_out.mkdir(exist_ok=True)
        pairs = [(str(p), str(images_out / p.name)) for p in source.image_files]
        files: list[dict[str, Any]] = []
        if pairs:
            bag = db.from_sequence(pairs, partition_size=batch_size).map(_run_one, process_file)
            files = list(bag.compute(**compute_kwargs()))
        copied = []
        for p in source.other_files:
            shutil.copyfile(p, images_out / p.name)
            copied.append(p.name)
        annotations = []
        for p in source.json_files + source.geojson_files:
            dst = tmp / p.name
            if transform_annotations is not None:
                transform_annotations(p, dst)
            else:
                shutil.copyfile(p, dst)
            annotations.append(p.name)
        masks = None
        if source.mask_annotations_dir is not None:
            dst_dir = tmp / source.mask_annotations_dir.name
            if transform_masks is not None:
                transform_masks(source.mask_annotations_dir, dst_dir)
            else:
                shutil.copytree(source.mask_annotations_dir, dst_dir)
            masks = dst_dir.name
        manifest = build_manifest(
            source=source.data_path.resolve(),
            source_name=source.name,
            step=step,
            config=config,
            chain=chain,
            params=params,
            data_input="." if source.flat else source.data_input.name,
            files=files,
            annotations=annotations,
            masks=masks,
            copied=copied,
        )
        write_manifest(tmp, manifest)  # last: a folder without it is unfinished
        try:
            replace_dir(tmp, out, overwrite=overwrite)
        except OSError:
            # another process finished the same folder first: accept it if the config matches
            done = _check_existing(out, config, overwrite=False)
            if done is None:
                raise
            _remove(tmp)
            return done
    except BaseException:
        _remove(tmp)
        raise
    return open_dataset(out, images="." if source.flat else source.data_input.name)


def copy_dataset(
    source: Dataset, *, step: str = "base_modifier", overwrite: bool = False, batch_size: int = 16
) -> Dataset:
    """Plain copy ``<name>#<step>`` (IQUAFLOW's ``base_modifier``): config ``{"id": step}``.

    Examples
    --------
    >>> ds2 = copy_dataset(copy_dataset(ds))  # doctest: +SKIP
    >>> ds2.params  # doctest: +SKIP
    {'ds_name': 'ds#base_modifier#base_modifier', 'modifier': 'base_modifier#base_modifier'}
    """
    return derive_dataset(
        source, step, {"id": step}, copy_file, batch_size=batch_size, overwrite=overwrite
    )
