"""The generated operation table (``iqx list`` without kernels) matches the registrations."""

from __future__ import annotations

import pytest

from iqx import _op_table, registry


def test_static_table_matches_live_registrations():
    """Regenerate with ``python -m iqx._op_table`` when this fails."""
    assert _op_table.static_table() == _op_table.live_table(), (
        "iqx/data/op_table_*.json are stale: run `python -m iqx._op_table`"
    )


def test_generated_files_are_what_generate_writes():
    texts = _op_table.generate()
    assert sorted(texts) == sorted(_op_table.DATA_PATHS) == ["metric", "modifier"]
    for kind, path in _op_table.DATA_PATHS.items():
        assert path.read_text(encoding="utf-8") == texts[kind], (
            f"{path.name} is stale: run `python -m iqx._op_table`"
        )


def test_a_value_that_is_not_a_literal_is_refused():
    table = {"modifier": [{"id": "x", "default": float("inf")}], "metric": []}
    with pytest.raises(ValueError, match="not JSON values"):
        _op_table.generate(table)


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
