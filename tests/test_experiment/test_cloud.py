"""S3 uploads of modified datasets (``cloud_options["bucket_name"]``), against a local moto server."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from iqx.errors import ExperimentError, MissingExtraError, PathNotFoundError
from iqx.experiment import cloud
from iqx.experiment.cloud import (
    download_file,
    list_objects,
    secret_values,
    split_uri,
    storage_options,
    upload_dataset,
)
from tests.test_experiment.s3_support import TEST_SECRET, keys


def _dataset(root, name="tiny#jpeg_q30", n=6):
    ds = root / name
    (ds / "images").mkdir(parents=True)
    for i in range(n):
        (ds / "images" / f"img_{i}.tif").write_bytes(bytes([i]) * (100 + i))
    (ds / "annotations.json").write_text("{}")
    (ds / ".partial").write_text("hidden: never uploaded")
    (ds / "images" / ".DS_Store").write_text("hidden")
    return ds


def test_split_uri_keeps_hash_and_question_marks():
    assert split_uri("s3://b/p/tiny#jpeg_q30/x?.tif") == ("b", "p/tiny#jpeg_q30/x?.tif")
    assert split_uri("s3://b") == ("b", "")
    with pytest.raises(ExperimentError, match="not an s3://"):
        split_uri("/local/path")


def test_upload_dataset_layout_and_uri(tmp_path, s3_options):
    ds = _dataset(tmp_path)
    options = {**s3_options, "bucket_prefix": "/studies/a/"}
    uri = upload_dataset(ds, s3_options["bucket_name"], options)
    assert uri == f"s3://{s3_options['bucket_name']}/studies/a/tiny#jpeg_q30"
    found = keys(s3_options)
    expected = {f"studies/a/tiny#jpeg_q30/images/img_{i}.tif": 100 + i for i in range(6)}
    expected["studies/a/tiny#jpeg_q30/annotations.json"] = 2
    assert found == expected  # '#' kept in keys, hidden files left out
    assert list_objects(uri, options)["images/img_3.tif"] == 103
    # no prefix: at the bucket's top; "s3://" on the bucket name accepted
    uri2 = upload_dataset(ds, f"s3://{s3_options['bucket_name']}", s3_options)
    assert uri2 == f"s3://{s3_options['bucket_name']}/tiny#jpeg_q30"


class _Counting:
    """Wraps boto3 clients: counts uploads and the most in flight at once."""

    def __init__(self, monkeypatch, delay=0.0):
        self.uploaded: list[str] = []
        self.active = self.peak = 0
        self.lock = threading.Lock()
        real = cloud.s3_client

        def make(options=None):
            c = real(options)
            upload = c.upload_file

            def counted(filename, bucket, key, *a, **k):
                with self.lock:
                    self.active += 1
                    self.peak = max(self.peak, self.active)
                    self.uploaded.append(key)
                time.sleep(delay)
                try:
                    return upload(filename, bucket, key, *a, **k)
                finally:
                    with self.lock:
                        self.active -= 1

            c.upload_file = counted
            return c

        monkeypatch.setattr(cloud, "s3_client", make)


def test_upload_is_idempotent(tmp_path, s3_options, monkeypatch):
    ds = _dataset(tmp_path)
    bucket = s3_options["bucket_name"]
    upload_dataset(ds, bucket, s3_options)
    counter = _Counting(monkeypatch)
    upload_dataset(ds, bucket, s3_options)
    assert counter.uploaded == []  # everything already there with the same size
    (ds / "images" / "img_2.tif").write_bytes(b"longer now" * 50)  # size changed
    (ds / "images" / "img_new.tif").write_bytes(b"new")
    from tests.test_experiment.s3_support import client

    client(s3_options).delete_object(Bucket=bucket, Key="tiny#jpeg_q30/images/img_4.tif")
    upload_dataset(ds, bucket, s3_options)
    assert sorted(k.rsplit("/", 1)[-1] for k in counter.uploaded) == [
        "img_2.tif",
        "img_4.tif",
        "img_new.tif",
    ]
    assert keys(s3_options)["tiny#jpeg_q30/images/img_2.tif"] == 500


def test_uploads_run_upload_num_threads_at_a_time(tmp_path, s3_options, monkeypatch):
    ds = _dataset(tmp_path, n=8)
    counter = _Counting(monkeypatch, delay=0.2)
    upload_dataset(ds, s3_options["bucket_name"], {**s3_options, "upload_num_threads": 4})
    assert len(counter.uploaded) == 9
    assert 2 <= counter.peak <= 4
    ds2 = _dataset(tmp_path, name="tiny#serial", n=3)
    counter = _Counting(monkeypatch, delay=0.05)
    upload_dataset(ds2, s3_options["bucket_name"], {**s3_options, "upload_num_threads": 1})
    assert counter.peak == 1
    with pytest.raises(ExperimentError, match="upload_num_threads"):
        upload_dataset(ds2, s3_options["bucket_name"], {**s3_options, "upload_num_threads": -1})


def test_endpoint_and_credentials_from_the_environment(tmp_path, s3_options, monkeypatch):
    ds = _dataset(tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_options["endpoint_url"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_options["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_options["aws_secret_access_key"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    uri = upload_dataset(ds, s3_options["bucket_name"], {})  # nothing in the options
    assert keys(s3_options)[split_uri(uri)[1] + "/annotations.json"] == 2
    assert TEST_SECRET in secret_values({})  # env credentials are known secrets


def test_download_file(tmp_path, s3_options):
    ds = _dataset(tmp_path)
    uri = upload_dataset(ds, s3_options["bucket_name"], s3_options)
    got = download_file(uri + "/images/img_1.tif", tmp_path / "dl" / "x.tif", s3_options)
    assert got.read_bytes() == bytes([1]) * 101
    with pytest.raises(PathNotFoundError, match="no such object"):
        download_file(uri + "/missing.tif", tmp_path / "dl" / "y", s3_options)


def test_errors_never_show_credentials(tmp_path, s3_options):
    ds = _dataset(tmp_path)
    with pytest.raises(ExperimentError) as info:
        upload_dataset(ds, "iqx-no-such-bucket", s3_options)
    assert "iqx-no-such-bucket" in str(info.value)
    assert TEST_SECRET not in str(info.value) and s3_options["aws_access_key_id"] not in str(
        info.value
    )
    with pytest.raises(PathNotFoundError, match="does not exist"):
        upload_dataset(tmp_path / "nope", s3_options["bucket_name"], s3_options)


def test_storage_options_and_secrets(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    opts = {
        "tracking_uri": "http://u:p@host",
        "bucket_name": "b",
        "bucket_prefix": "",
        "aws_session_token": "tok-123456",
    }
    assert storage_options(opts) == {"bucket_name": "b", "aws_session_token": "tok-123456"}
    assert secret_values(opts) == ("tok-123456",)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret-1")
    assert "env-secret-1" in secret_values(opts)


def test_missing_boto3_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingExtraError, match=r"iqx\[cloud\]"):
        cloud.s3_client({})
