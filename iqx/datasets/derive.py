"""``derive_dataset``: the machinery behind every dataset modifier (``<name>#<step>`` copies).

The new folder ``<parent>/<name>#<step>`` keeps the source layout: the images folder keeps
its name and every image its file name; annotations and the ``_mask`` folder are copied (or
transformed); ``iqx_manifest.json`` records the source, the step, its config, the chain of
configs since the original dataset, per-file info and totals.

Atomic and idempotent: everything is built in ``<name>#<step>.iqx-tmp-<owner>-<uuid>`` next
to the final folder, the manifest is written last, then the folder is renamed. Re-running
with the same config returns the existing dataset without work *if its files still match the
manifest* (present, same byte counts, same contents by SHA-256); a copy with a deleted,
truncated or edited file is rebuilt. A
different config (or a folder with no manifest) raises :class:`ManifestConflictError` unless
``overwrite=True``. Identical concurrent runs all succeed (the first rename wins, the others
accept its result); leftovers of killed runs are removed by the next run
(:func:`iqx.io._atomic.clean_stale`). Paths are resolved first and the output may never lie
inside the source dataset.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from iqx.datasets._scheduler import (
    FileSizes,
    file_sizes,
    map_batches,
    references_main,
)
from iqx.datasets.layout import Dataset, open_dataset
from iqx.datasets.manifest import (
    DIGEST_KEY,
    build_manifest,
    canonical_config,
    file_digest,
    jsonable_manifest,
    read_manifest,
    verify_manifest_files,
    write_manifest,
)
from iqx.errors import (
    DatasetLayoutError,
    InvalidParameterError,
    IqxError,
    ManifestConflictError,
    OutputExistsError,
)
from iqx.io._atomic import (
    _remove,
    check_output_path,
    clean_stale,
    replace_dir,
    tmp_sibling,
    write_error,
)

__all__ = ["check_name_length", "copy_dataset", "copy_file", "derive_dataset", "derived_name"]

#: how long an abandoned copy's removal is retried while its batches wind down
_ABANDON_SECONDS = 30.0

#: errors of the destination (not of the source): reported with the destination's name
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG})
#: bytes a temporary sibling adds to a folder name (``.iqx-tmp-<owner>-<uuid>``)
_TMP_SUFFIX_BYTES = 48

ProcessFile = Callable[[Path, Path], Mapping[str, Any] | None]


def derived_name(source: Dataset, step: str) -> str:
    """``<source name>#<step>``, the folder name of a derived dataset."""
    return f"{source.name}#{step}"


def check_name_length(parent: Path, name: str) -> None:
    """Raise :class:`InvalidParameterError` if ``name`` (plus a temporary suffix) is too long.

    The limit is the file system's ``NAME_MAX`` (usually 255 bytes) at ``parent``, checked
    before any work so a long chain fails at once with the name, not half-way with ENAMETOOLONG.
    """
    try:
        limit = os.pathconf(parent if parent.exists() else parent.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    size = len(name.encode("utf-8")) + _TMP_SUFFIX_BYTES
    if size > limit:
        raise InvalidParameterError(
            f"{parent / name}: folder name of {len(name.encode())} bytes is too long for the "
            f"file system (at most {limit - _TMP_SUFFIX_BYTES}); shorten the chain, apply it "
            "with one_step=True / --one-step, or name external steps with name="
        )


def copy_file(src: Path, dst: Path) -> dict[str, Any]:
    """A ``process_file`` that copies the image unchanged (IQUAFLOW's ``base_modifier``)."""
    shutil.copyfile(src, dst)
    return {}


def _run_one(pair: tuple[str, str], process_file: ProcessFile) -> dict[str, Any]:
    src, dst = Path(pair[0]), Path(pair[1])
    try:
        info = process_file(src, dst)
    except Exception as exc:
        # keep the exception's type and message; say which file (the CLI prints notes)
        if hasattr(exc, "add_note") and str(src) not in str(exc):
            exc.add_note(f"while processing {src}")
        raise
    if info is None:
        info = {}
    if not isinstance(info, Mapping):
        raise InvalidParameterError(
            f"{src}: process_file must return a dict of per-file info, got {type(info).__name__}"
        )
    try:
        written = os.stat(dst)
    except FileNotFoundError:
        written = None
    if written is None or not stat.S_ISREG(written.st_mode):
        raise DatasetLayoutError(f"{src}: process_file did not write {dst}")
    info = canonical_config(info, what=f"{src}: per-file info")
    info.update(file=src.name, input_bytes=os.stat(src).st_size, output_bytes=written.st_size)
    info[DIGEST_KEY] = file_digest(dst)  # just written: read from the page cache
    return info


def _run_batch(pairs: list[tuple[str, str]], process_file: ProcessFile) -> list[dict[str, Any]]:
    """:func:`_run_one` over a batch; same-size buffers are reused from image to image.

    A ``process_file`` with a ``run_many(pairs)`` method first gets the whole batch: it
    returns a complete record for each file it wrote itself, None for the others (which
    then go through ``process_file`` one by one). A batch whose output folder is gone
    (another batch failed and the copy was abandoned) stops instead of writing into a
    folder nobody will rename.
    """
    from iqx.kernels.scratch import scratch_buffers

    out = []
    with scratch_buffers():
        if pairs and not os.path.isdir(os.path.dirname(pairs[0][1])):
            raise DatasetLayoutError(f"{pairs[0][1]}: the copy being built was abandoned")
        run_many = getattr(process_file, "run_many", None)
        done = run_many(pairs) if run_many is not None else [None] * len(pairs)
        for pair, record in zip(pairs, done, strict=True):
            if record is None:
                if not os.path.isdir(os.path.dirname(pair[1])):
                    raise DatasetLayoutError(f"{pair[1]}: the copy being built was abandoned")
                record = _run_one(pair, process_file)
            out.append(record)
    return out


def _small_files(paths: list[Path], process_file: ProcessFile) -> FileSizes:
    """How small the images are, for ``process_file`` (none small: :class:`FileSizes`'s
    defaults).

    Only a ``process_file`` that says it may run in another process (``process_safe``,
    e.g. :func:`iqx.modify`'s) is sent to worker processes or run in the calling thread
    (:func:`file_sizes`).
    """
    if not getattr(process_file, "process_safe", False):
        return FileSizes()
    return file_sizes(paths)


def _abandon(tmp: Path) -> None:
    """Remove the unfinished copy ``tmp``, also when batches still running add files to it.

    After a failure the scheduler returns while other batches may still be writing: a file
    created while ``rmtree`` walks the folder makes its last ``rmdir`` fail. Once the folder
    is gone nothing re-creates it (batches stop, in-place writes never create folders), so
    removal is retried until it holds.
    """
    deadline = time.monotonic() + _ABANDON_SECONDS
    _remove(tmp)
    while tmp.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
        _remove(tmp)


def _check_existing(out: Path, config: dict[str, Any], overwrite: bool) -> Dataset | None:
    """The existing dataset when it was made with ``config`` and its files match; None to
    (re)build; else raise. An incomplete copy of the same config is rebuilt (a warning)."""
    if not out.exists():
        return None
    try:
        manifest = read_manifest(out) if out.is_dir() else None
    except DatasetLayoutError:
        if overwrite:
            return None
        raise
    existing = None if manifest is None else manifest.get("config")
    if existing is not None and canonical_config(existing) == config:
        problems = verify_manifest_files(out, manifest)
        if not problems:
            return open_dataset(out, images=manifest["layout"]["data_input"] or None)
        warnings.warn(
            f"{out}: rebuilding: the copy no longer matches its manifest "
            f"({'; '.join(problems[:3])}{' ...' if len(problems) > 3 else ''})",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
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
    batch_size: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int], Any] | None = None,
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
        likes, e.g. :func:`iqx.io.write_image`) and returns JSON-able per-file info. It may
        also have ``run_many(pairs)`` (see :func:`_run_batch`) and ``process_safe = True``
        (many small images may then run in worker processes).
    transform_annotations : callable, optional
        ``f(src, dst)`` for every top-level ``*.json``/``*.geojson``; default: copy.
    transform_masks : callable, optional
        ``f(src_dir, dst_dir)`` for the ``_mask`` folder (``dst_dir`` does not exist yet);
        default: copy the folder.
    batch_size : int, optional
        Images per dask task; default: about four tasks per worker (at most 256 images per
        task). Runs on the active distributed client if any, else on local threads (the
        per-image work releases the GIL in GDAL, libjpeg-turbo, OpenJPEG and numba).
    overwrite : bool
        Replace an existing folder made with another config (or without a manifest).
    progress : callable, optional
        ``progress(n)`` after each finished batch of ``n`` images, e.g. the ``advance`` of
        an :class:`iqx._progress.Progress` bar (called on the driver, also under a
        distributed client).

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

    if not isinstance(step, str) or not step or "/" in step or step.startswith("."):
        raise InvalidParameterError(f"invalid step name {step!r}")
    if batch_size is not None and batch_size < 1:
        raise InvalidParameterError(f"batch_size must be >= 1, got {batch_size}")
    config = canonical_config(config)
    new_name = derived_name(source, step)
    check_name_length(source.parent_folder, new_name)
    out = check_output_path(
        source.parent_folder / new_name,
        [source.data_path, source.data_input],
        what="modified dataset",
    )
    clean_stale(out)
    existing = _check_existing(out, config, overwrite)
    if existing is not None:
        return existing
    if not source.image_files:
        raise DatasetLayoutError(
            f"{source.data_input}: no image files to modify (the images folder is empty); "
            "refusing to write an empty copy"
        )
    # an existing folder reaching this point is ours to replace: overwrite=True, or an
    # incomplete copy of the same config
    replace = out.exists()

    previous = source.params.get("modifier")
    chain_name = f"{previous}#{step}" if previous else step
    params = {**source.params, "ds_name": new_name, "modifier": chain_name}
    params.update({k: v for k, v in config.items() if k != "id"})
    chain = [*((source.manifest or {}).get("chain") or []), config]

    tmp = tmp_sibling(out)
    try:
        tmp.mkdir(parents=True)
        images_out = tmp if source.flat else tmp / source.data_input.name
        images_out.mkdir(exist_ok=True)
        out_dir = os.fspath(images_out)
        pairs = [(str(p), os.path.join(out_dir, p.name)) for p in source.image_files]
        files: list[dict[str, Any]] = []
        if pairs:
            sizes = _small_files(source.image_files, process_file)
            files = map_batches(
                _run_batch,
                pairs,
                process_file,
                batch_size=batch_size,
                small_files=sizes.small_files,
                tiny=sizes.tiny,
                portable=not references_main(process_file),
                progress=progress,
            )
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
        prefix = "." if source.flat else source.data_input.name
        digests = {f"{prefix}/{n}": file_digest(images_out / n) for n in copied}
        digests.update({n: file_digest(tmp / n) for n in annotations})
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
            digests=digests,
        )
        write_manifest(tmp, manifest)  # last: a folder without it is unfinished
        try:
            replace_dir(tmp, out, overwrite=overwrite or replace)
        except (OSError, OutputExistsError):
            # another process finished the same folder first: accept it if the config matches
            done = _check_existing(out, config, overwrite=False)
            if done is None:
                raise
            _remove(tmp)
            return done
    except OSError as exc:
        _abandon(tmp)
        if getattr(exc, "errno", None) in _WRITE_ERRNOS and not isinstance(exc, IqxError):
            raise write_error(out, exc, "write the modified dataset") from exc
        raise
    except BaseException:
        _abandon(tmp)
        raise
    images = "." if source.flat else source.data_input.name
    return Dataset(out, images=images, manifest=jsonable_manifest(manifest, canonical_files=True))


def copy_dataset(
    source: Dataset,
    *,
    step: str = "base_modifier",
    overwrite: bool = False,
    batch_size: int | None = None,
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
