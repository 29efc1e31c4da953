"""S3 for experiments: upload modified datasets, fetch job outputs (extra ``iqx[cloud]``).

Everything goes through boto3 (imported lazily; keys are used verbatim, so IQUAFLOW's
``ds#modifier`` folder names survive, which fsspec-style paths do not guarantee), configured
from ``cloud_options``:

- ``endpoint_url``: an S3-compatible endpoint (a local moto server in the tests, MinIO, ...);
  otherwise ``$AWS_ENDPOINT_URL`` or AWS itself, as botocore decides;
- ``aws_access_key_id``, ``aws_secret_access_key``, ``aws_session_token``, ``region_name``;
  when absent, botocore's usual chain (environment, ``~/.aws``, instance role) applies;
- ``profile_name``: a named profile of ``~/.aws`` (resolved on each machine: what runs on
  a remote dask worker uses the worker's profile; credentials themselves never travel to a
  worker over an unencrypted link, see :mod:`iqx.experiment._secrets`);
- ``bucket_prefix``: a folder inside the bucket for every dataset;
- ``upload_num_threads``: files uploaded concurrently (IQUAFLOW's default, 10).

Credentials are passed to boto3 and nowhere else: no function here logs, prints or puts them in
an exception message (errors are scrubbed of every secret value before they are raised).
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from iqx._compat import import_optional
from iqx.errors import ExperimentError, PathNotFoundError

__all__ = [
    "SECRET_OPTION_KEYS",
    "dataset_uri",
    "download_file",
    "list_objects",
    "s3_client",
    "secret_values",
    "split_uri",
    "storage_options",
    "upload_dataset",
    "upload_file",
]

#: ``cloud_options`` keys whose values are credentials
SECRET_OPTION_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")
#: ``cloud_options`` keys that configure S3 access (what travels with a run request)
_STORAGE_KEYS = (
    "bucket_name",
    "bucket_prefix",
    "upload_num_threads",
    "endpoint_url",
    "region_name",
    "profile_name",
    *SECRET_OPTION_KEYS,
)
_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
_DEFAULT_THREADS = 10


def storage_options(cloud_options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The S3 part of ``cloud_options`` (no tracking URIs), empty values dropped."""
    options = dict(cloud_options or {})
    return {k: options[k] for k in _STORAGE_KEYS if options.get(k) not in (None, "")}


def secret_values(cloud_options: Mapping[str, Any] | None) -> tuple[str, ...]:
    """Credential values of ``cloud_options`` and the environment (what must never be logged)."""
    options = dict(cloud_options or {})
    values = [str(options[k]) for k in SECRET_OPTION_KEYS if options.get(k)]
    values += [os.environ[k] for k in _SECRET_ENV if os.environ.get(k)]
    return tuple(v for v in values if v)


def _scrubbed(exc: BaseException, cloud_options: Mapping[str, Any] | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    for value in secret_values(cloud_options):
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


def s3_client(cloud_options: Mapping[str, Any] | None = None) -> Any:
    """A boto3 S3 client configured from ``cloud_options`` (thread-safe; a fresh session).

    Raises
    ------
    MissingExtraError
        boto3 is not installed (``pip install 'iqx[cloud]'``).
    """
    boto3 = import_optional("boto3", "S3 storage (cloud_options['bucket_name'])")
    options = dict(cloud_options or {})
    session = boto3.session.Session(
        aws_access_key_id=options.get("aws_access_key_id") or None,
        aws_secret_access_key=options.get("aws_secret_access_key") or None,
        aws_session_token=options.get("aws_session_token") or None,
        region_name=options.get("region_name") or None,
        profile_name=options.get("profile_name") or None,
    )
    threads = int(options.get("upload_num_threads") or _DEFAULT_THREADS)
    config = import_optional("botocore.config").Config(max_pool_connections=max(10, threads))
    return session.client("s3", endpoint_url=options.get("endpoint_url") or None, config=config)


def split_uri(uri: str) -> tuple[str, str]:
    """``("bucket", "key/inside")`` of ``s3://bucket/key/inside``.

    Not a URL parse: ``#`` and ``?`` are ordinary key characters here (IQUAFLOW's modified
    datasets are called ``name#modifier``).
    """
    scheme, sep, rest = str(uri).partition("://")
    bucket, _, key = rest.partition("/")
    if not sep or scheme not in ("s3", "s3a") or not bucket:
        raise ExperimentError(f"{uri!r} is not an s3://bucket/key URI")
    return bucket, key


def dataset_uri(path: str | os.PathLike[str], bucket: str, cloud_options: Mapping[str, Any]) -> str:
    """Where :func:`upload_dataset` puts the folder ``path``: ``s3://bucket/prefix/name``."""
    name = Path(path).resolve().name
    prefix = str(dict(cloud_options or {}).get("bucket_prefix") or "").strip("/")
    bucket = str(bucket).removeprefix("s3://").strip("/")
    return f"s3://{bucket}/{prefix}/{name}" if prefix else f"s3://{bucket}/{name}"


def _local_files(root: Path) -> dict[str, Path]:
    """Files under ``root`` by POSIX relative path (hidden files and folders left out)."""
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                full = Path(dirpath) / name
                found[full.relative_to(root).as_posix()] = full
    return found


def list_objects(
    uri: str, cloud_options: Mapping[str, Any] | None = None, *, client: Any = None
) -> dict[str, int]:
    """Sizes of the objects under the prefix ``uri``, by key relative to it."""
    bucket, prefix = split_uri(uri)
    client = client or s3_client(cloud_options)
    out: dict[str, int] = {}
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                rel = obj["Key"][len(prefix) :].lstrip("/")
                out[rel or obj["Key"].rsplit("/", 1)[-1]] = int(obj["Size"])
    except Exception as exc:
        raise ExperimentError(f"cannot list {uri}: {_scrubbed(exc, cloud_options)}") from None
    return out


def upload_dataset(
    path: str | os.PathLike[str], bucket: str, cloud_options: Mapping[str, Any] | None = None
) -> str:
    """Upload the dataset folder ``path`` to ``s3://bucket/<bucket_prefix>/<folder name>``.

    Idempotent: a file already present under the same key with the same size is skipped, so
    executing an experiment again uploads only what is missing. Files are uploaded
    ``upload_num_threads`` at a time. Hidden files (``.name``) are left out; nothing is deleted
    from the bucket.

    Parameters
    ----------
    path : path-like
        The dataset folder (IQUAFLOW layout, as written by :func:`iqx.modify`).
    bucket : str
        Bucket name (``s3://`` prefix accepted). It must exist.
    cloud_options : dict, optional
        ``bucket_prefix``, ``upload_num_threads``, ``endpoint_url``, credentials, region.

    Returns
    -------
    str
        ``s3://bucket/prefix/name``, the dataset's S3 URI (logged as run param ``ds_uri``).

    Raises
    ------
    PathNotFoundError
        ``path`` is not a folder.
    ExperimentError
        S3 refused the listing or an upload (the message never contains credentials).
    MissingExtraError
        boto3 is not installed.
    """
    root = Path(path).resolve()
    if not root.is_dir():
        raise PathNotFoundError(f"{root}: dataset folder to upload does not exist")
    options = dict(cloud_options or {})
    uri = dataset_uri(root, bucket, options)
    threads = int(options.get("upload_num_threads") or _DEFAULT_THREADS)
    if threads < 1:
        raise ExperimentError(f"cloud_options: upload_num_threads must be >= 1, got {threads}")
    client = s3_client(options)
    remote = list_objects(uri + "/", options, client=client)
    local = _local_files(root)
    todo = [rel for rel, file in local.items() if remote.get(rel) != file.stat().st_size]
    if not todo:
        return uri
    bucket_name, key = split_uri(uri)

    def put(rel: str) -> None:
        client.upload_file(str(local[rel]), bucket_name, f"{key}/{rel}")

    try:
        with concurrent.futures.ThreadPoolExecutor(min(threads, len(todo))) as pool:
            for future in concurrent.futures.as_completed([pool.submit(put, r) for r in todo]):
                future.result()
    except Exception as exc:
        raise ExperimentError(
            f"uploading {root.name} to {uri} failed: {_scrubbed(exc, options)}"
        ) from None
    return uri


def upload_file(
    path: str | os.PathLike[str], uri: str, cloud_options: Mapping[str, Any] | None = None
) -> str:
    """Upload one file to the object ``uri``; return ``uri``."""
    bucket, key = split_uri(uri)
    try:
        s3_client(cloud_options).upload_file(str(path), bucket, key)
    except Exception as exc:
        raise ExperimentError(
            f"uploading to {uri} failed: {_scrubbed(exc, cloud_options)}"
        ) from None
    return uri


def download_file(
    uri: str, path: str | os.PathLike[str], cloud_options: Mapping[str, Any] | None = None
) -> Path:
    """Download the object ``uri`` to the file ``path``; return ``path``.

    Raises
    ------
    PathNotFoundError
        No such object.
    ExperimentError
        S3 refused the request.
    """
    bucket, key = split_uri(uri)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    client = s3_client(cloud_options)
    try:
        client.download_file(bucket, key, str(target))
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            raise PathNotFoundError(f"{uri}: no such object") from None
        raise ExperimentError(
            f"downloading {uri} failed: {_scrubbed(exc, cloud_options)}"
        ) from None
    return target
