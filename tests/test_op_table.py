"""The generated operation table (``iqx list`` without kernels) matches the registrations."""

from __future__ import annotations

import pytest

from iqx import _op_table, registry


def test_static_table_matches_live_registrations():
    """Regenerate with ``python -m iqx._op_table`` when this fails."""
    assert _op_table.static_table() == _op_table.live_table(), (
        "iqx/_op_table_data.py is stale: run `python -m iqx._op_table`"
    )


def test_generated_file_is_what_generate_writes():
    assert _op_table.DATA_PATH.read_text(encoding="utf-8") == _op_table.generate(), (
        "iqx/_op_table_data.py is stale: run `python -m iqx._op_table`"
    )


def test_describe_reads_the_table_before_loading(monkeypatch):
    reg = registry.Registry("metric", ("iqx_surely_not_a_module",), "iqx.tests.none")
    monkeypatch.setattr(_op_table, "static_table", lambda: {"metric": [{"id": "b"}, {"id": "a"}]})
    assert [d["id"] for d in reg.describe()] == ["a", "b"]
    assert not reg._loaded  # nothing imported


def test_describe_uses_live_registrations_once_something_is_registered():
    reg = registry.Registry("metric", (), "iqx.tests.none")
    reg.register("mine", summary="Mine.")(lambda image: 1.0)
    assert [d["id"] for d in reg.describe()] == ["mine"]


@pytest.mark.parametrize("kind", ["modifiers", "metrics"])
def test_describe_equals_as_dict_of_the_live_registry(kind):
    live = getattr(registry, kind)
    assert live.describe() == [r.as_dict() for r in live]
