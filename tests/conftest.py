"""Shared fixtures: the real-data folder (and its WorldView-2 chips), the bit-depth cache, a real
dask LocalCluster, the docs sandbox and runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path:
    env = os.environ.get("IQX_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$IQX_SHARED_DATA``): real public imagery with provenance.

    Skips with a clear reason when absent; fails instead when ``IQX_REQUIRE_SHARED_DATA=1``.
    """
    path = _shared_data_dir()
    if not (path / "README.md").is_file():
        msg = f"shared real-data folder not found at {path} (set IQX_SHARED_DATA)"
        if os.environ.get("IQX_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(msg + " and IQX_REQUIRE_SHARED_DATA=1")
        pytest.skip(msg)
    return path


@pytest.fixture
def pan(shared_data) -> Path:
    """``solaris_spacenet/pan1.tif``: a WorldView-2 pan chip, uint16 without NBITS, 1..1848."""
    return shared_data / "solaris_spacenet" / "pan1.tif"


@pytest.fixture
def atlanta(shared_data) -> Path:
    """``solaris_spacenet/sample_geotiff.tif``: uint16 without NBITS, 54..6615 (13 bits)."""
    return shared_data / "solaris_spacenet" / "sample_geotiff.tif"


@pytest.fixture
def fresh_bit_depth_cache():
    """The measured-bit-depth cache emptied before and after the test."""
    from iqx.bitdepth import clear_measurements

    clear_measurements()
    yield
    clear_measurements()


@pytest.fixture(scope="session")
def local_cluster():
    """A real ``dask.distributed`` cluster with two single-threaded *process* workers."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        yield cluster


@pytest.fixture
def dask_client(local_cluster):
    """A client connected to :func:`local_cluster`; the default scheduler while in use."""
    import distributed

    with distributed.Client(local_cluster) as client:
        yield client


@pytest.fixture(scope="session")
def docs_pycache(tmp_path_factory) -> Path:
    """The bytecode cache shared by the docs tests' interpreters (``docs_harness.bytecode_env``)."""
    return tmp_path_factory.getbasetemp() / "docs_pycache"


@pytest.fixture(scope="session")
def docs_sandbox(tmp_path_factory) -> Path:
    """The docs sandbox (``tests.docs_harness.SANDBOX_README``), built once per session."""
    from tests.docs_harness import sandbox_fixture

    return sandbox_fixture(tmp_path_factory)


@pytest.fixture(scope="session")
def docs_server(tmp_path_factory, docs_pycache):
    """The fork server the docs pages and examples run in (``tests.docs_forkserver``).

    None where :func:`os.fork` is missing: each page then starts its own interpreter.
    """
    if not hasattr(os, "fork"):
        yield None
        return
    from tests.docs_forkserver import ForkServer
    from tests.docs_harness import page_env

    server = ForkServer(page_env(docs_pycache), tmp_path_factory.mktemp("docs_server"))
    yield server
    server.close()
