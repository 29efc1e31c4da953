"""``iqx_manifest.json``: what a derived dataset folder holds and how it was made."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iqx._json import to_jsonable
from iqx.errors import DatasetLayoutError, InvalidParameterError
from iqx.io._atomic import atomic_file

__all__ = [
    "MANIFEST_NAME",
    "build_manifest",
    "canonical_config",
    "file_digest",
    "jsonable_manifest",
    "manifest_bit_depth",
    "read_manifest",
    "summarize_files",
    "verify_manifest_files",
    "volume_file_info",
    "write_manifest",
]

#: file name of the manifest inside a derived dataset folder
MANIFEST_NAME = "iqx_manifest.json"
#: manifest format version
MANIFEST_VERSION = 1
#: the per-file content hash (hex SHA-256 of the file's bytes)
DIGEST_KEY = "output_sha256"


#: files up to this size are hashed from one read (no chunk buffer)
_ONE_READ_BYTES = 1 << 20


def file_digest(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file's bytes, read in chunks (memory does not grow with the file).

    SHA-256 runs at ~1.5 GB/s of one core here (SHA extensions), a few times faster than
    the modifier that wrote the file; a hash just after writing reads the page cache.
    Files up to 1 MiB are read at once: ``hashlib.file_digest`` allocates (and the kernel
    zeroes) a 256 KiB buffer per call, ~40 µs, more than hashing a 28×28 PNG.
    """
    with open(path, "rb", buffering=0) as f:
        if os.fstat(f.fileno()).st_size <= _ONE_READ_BYTES:
            return hashlib.sha256(f.readall()).hexdigest()
        return hashlib.file_digest(f, "sha256").hexdigest()


def canonical_config(config: Mapping[str, Any], *, what: str = "config") -> dict[str, Any]:
    """``config`` as plain JSON types (NumPy scalars, tuples → lists), keys sorted.

    Two configs are the same operation iff their canonical forms are equal.
    """
    if not isinstance(config, Mapping):
        raise InvalidParameterError(f"{what} must be a dict, got {type(config).__name__}")
    try:
        return json.loads(json.dumps(to_jsonable(config, strict=True), sort_keys=True))
    except TypeError as exc:
        raise InvalidParameterError(f"{what} must be JSON-serialisable: {exc}") from exc


def volume_file_info(vol: Mapping[str, Any]) -> dict[str, Any]:
    """A codec's per-file manifest record from its :func:`iqx.modifiers.data_volume` dict.

    ``compressed_bytes``, ``raw_bits`` and ``pixels`` sit at the top level (summed into the
    manifest's totals, read back by :func:`iqx.datasets.dataset_data_volume`); the rest of
    the data volume goes under ``data_volume``.
    """
    return {
        "compressed_bytes": int(vol["compressed_bytes"]),
        "raw_bits": int(vol["raw_bits"]),
        "pixels": int(vol["pixels"]),
        "data_volume": {
            "codec": vol["codec"],
            "streams": vol["streams"],
            "bit_depth": vol["bit_depth"],
            "bands": vol["bands"],
            "bits_per_pixel": vol["bits_per_pixel"],
            "bits_per_sample": vol["bits_per_sample"],
            "compression_ratio": vol["compression_ratio"],
        },
    }


def manifest_bit_depth(manifest: Mapping[str, Any] | None) -> int | None:
    """The ``bit_depth`` a derived dataset's source was modified with, or None.

    :func:`iqx.modify` records a declared depth (its ``bit_depth=`` argument, else the
    source dataset's) in the manifest's ``config`` (so it decides idempotency too); a
    copy made without one records nothing (each image's depth was read or measured).
    """
    config = (manifest or {}).get("config") or {}
    value = config.get("bit_depth") if isinstance(config, Mapping) else None
    if value is None:
        return None
    from iqx.bitdepth import check_bit_depth

    return check_bit_depth(value, owner="manifest config bit_depth")


def read_manifest(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of ``folder``, or None if it has none.

    Raises
    ------
    DatasetLayoutError
        The manifest exists but is not a JSON object.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetLayoutError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(value, dict):
        raise DatasetLayoutError(f"{path}: damaged manifest: not a JSON object")
    _check_shape(path, value)
    return value


def _check_shape(path: Path, m: dict[str, Any]) -> None:
    """Raise :class:`DatasetLayoutError` if the manifest's keys have the wrong JSON types."""
    expected = {
        "config": dict,
        "params": dict,
        "layout": dict,
        "chain": list,
        "files": list,
        "copied_files": list,
        "totals": dict,
        "digests": dict,
    }
    for key, kind in expected.items():
        if key in m and not isinstance(m[key], kind):
            raise DatasetLayoutError(
                f"{path}: damaged manifest: {key!r} must be a JSON {kind.__name__}, "
                f"got {type(m[key]).__name__}"
            )
    layout = m.get("layout", {})
    if "data_input" in layout and not isinstance(layout["data_input"], str | None):
        raise DatasetLayoutError(f"{path}: damaged manifest: layout.data_input must be a string")
    for k, f in enumerate(m.get("files", [])):
        if not isinstance(f, dict) or not isinstance(f.get("file"), str):
            raise DatasetLayoutError(
                f"{path}: damaged manifest: files[{k}] must be an object with a 'file' name"
            )


def _content_problem(path: Path, want: Any) -> str | None:
    """``"<name> content differs ..."`` when ``path``'s SHA-256 is not ``want`` (a hex str)."""
    if not isinstance(want, str):
        return None
    try:
        got = file_digest(path)
    except OSError as exc:
        return f"{path.name} unreadable ({exc.strerror or exc})"
    if got != want:
        return f"{path.name} content differs from the manifest (SHA-256 {got[:12]}..., manifest {want[:12]}...)"
    return None


def verify_manifest_files(folder: str | os.PathLike[str], manifest: Mapping[str, Any]) -> list[str]:
    """What no longer matches ``manifest`` in ``folder``: missing, resized or edited files.

    Checks every image listed in ``files`` (present, ``output_bytes`` when recorded, then
    its contents against ``output_sha256`` when recorded), the copied files, the annotation
    files (contents against ``digests`` when recorded) and the mask folder. Sizes are
    compared first (``stat``); only files of the right size are hashed, streamed in chunks
    (SHA-256, ~1.5 GB/s), so a same-size edit is caught too. Manifests written before
    iqx recorded hashes are checked by size only. An empty list means the copy is intact.
    """
    folder = Path(folder)
    layout = manifest.get("layout") or {}
    if not isinstance(layout, Mapping) or "data_input" not in layout:
        return ["manifest has no layout.data_input"]
    images = folder / (layout.get("data_input") or ".")
    problems: list[str] = []
    for f in manifest.get("files") or []:
        p = images / str(f.get("file"))
        try:
            size = p.stat().st_size
        except OSError:
            problems.append(f"{p.name} missing")
            continue
        want = f.get("output_bytes")
        if isinstance(want, int) and size != want:
            problems.append(f"{p.name} has {size} bytes, manifest says {want}")
            continue
        problem = _content_problem(p, f.get(DIGEST_KEY))
        if problem:
            problems.append(problem)
    digests = manifest.get("digests") or {}
    others = [
        (images / str(n), f"{layout.get('data_input') or '.'}/{n}")
        for n in manifest.get("copied_files") or []
    ]
    others += [(folder / str(n), str(n)) for n in layout.get("annotations") or []]
    for path, key in others:
        if not path.is_file():
            problems.append(f"{path.name} missing")
            continue
        problem = _content_problem(path, digests.get(key))
        if problem:
            problems.append(problem)
    masks = layout.get("masks")
    if masks and not (folder / str(masks)).is_dir():
        problems.append(f"{masks}/ missing")
    return problems


def write_manifest(folder: str | os.PathLike[str], manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest`` as ``<folder>/iqx_manifest.json`` atomically; return its path."""
    path = Path(folder) / MANIFEST_NAME
    files = manifest.get("files")
    try:
        if not isinstance(files, list) or not files:
            text = json.dumps(jsonable_manifest(manifest), indent=2, allow_nan=False)
        else:
            head = jsonable_manifest({**manifest, "files": []})
            try:  # records of derive_dataset are canonical already: encoded as they are
                text = _manifest_text(head, files)
            except (TypeError, ValueError):
                text = _manifest_text(head, to_jsonable(files, strict=True))
    except TypeError as exc:
        raise InvalidParameterError(f"{path}: manifest is not JSON-serialisable: {exc}") from exc
    with atomic_file(path, overwrite=True, gdal_sidecars=False) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    return path


def jsonable_manifest(
    manifest: Mapping[str, Any], *, canonical_files: bool = False
) -> dict[str, Any]:
    """``manifest`` as :func:`read_manifest` returns it once written (plain JSON types).

    ``canonical_files=True`` keeps the per-file records as they are, for records known to
    be canonical (:func:`canonical_config`'s form, as :func:`iqx.datasets.derive_dataset`
    builds them): converting 10 000 of them costs ~0.3 s.
    """
    if not canonical_files or not isinstance(manifest.get("files"), list):
        return to_jsonable(manifest, strict=True)
    return {**to_jsonable({**manifest, "files": []}, strict=True), "files": manifest["files"]}


def _manifest_text(head: dict[str, Any], files: list[Any]) -> str:
    """Indented JSON with one line per file record (``head`` holds ``"files": []``).

    ``json.dumps(indent=...)`` runs Python's pure-Python encoder: for a dataset of 60 000
    images the per-file records took seconds. Records are written compactly, one per line,
    by the C encoder; the rest stays indented. Raises ``TypeError``/``ValueError`` for
    records that are not strict JSON (the caller converts them and tries again).
    """
    text = json.dumps(head, indent=2, allow_nan=False)
    marker = '"files": []'
    if text.count(marker) != 1:  # pragma: no cover - a key named like the marker
        return json.dumps({**head, "files": files}, indent=2, allow_nan=False)
    encode = json.JSONEncoder(allow_nan=False).encode  # one encoder for every record
    rows = ",\n".join("    " + encode(f) for f in files)
    return text.replace(marker, '"files": [\n' + rows + "\n  ]")


def summarize_files(files: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals over per-file records: count, and the sum of every numeric key all files share."""
    totals: dict[str, Any] = {"n_files": len(files)}
    if not files:
        return totals
    keys = set.intersection(*(set(f) for f in files))
    for key in sorted(keys):
        values = [f[key] for f in files]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            totals[key] = sum(values)
    if totals.get("input_bytes"):
        totals["size_ratio"] = totals.get("output_bytes", 0) / totals["input_bytes"]
    return totals


def build_manifest(
    *,
    source: Path,
    source_name: str,
    step: str,
    config: Mapping[str, Any],
    chain: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    data_input: str,
    files: Sequence[Mapping[str, Any]],
    annotations: Sequence[str],
    masks: str | None,
    copied: Sequence[str] = (),
    digests: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The manifest dict :func:`iqx.datasets.derive_dataset` writes.

    ``digests`` maps the annotation files (``name``) and copied files
    (``<data_input>/name``) to their SHA-256; images carry theirs in ``files``.
    """
    from iqx._version import __version__

    return {
        "iqx_manifest_version": MANIFEST_VERSION,
        "iqx_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "source": str(source),
        "source_name": source_name,
        "step": step,
        "config": dict(config),
        "chain": [dict(c) for c in chain],
        "params": dict(params),
        "layout": {"data_input": data_input, "annotations": list(annotations), "masks": masks},
        "files": [dict(f) for f in files],
        "copied_files": list(copied),
        "digests": dict(digests or {}),
        "totals": summarize_files(files),
    }
