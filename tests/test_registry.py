"""The registry: one identifier per op, metadata, entry-point plugins, errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from iqx import registry
from iqx.errors import UnknownOperationError


def test_register_and_get_with_metadata():
    reg = registry.Registry("metric", (), "iqx.tests.none")

    @reg.register(outputs=("value",), units={"value": "dB"}, references=("Doe 2020",))
    def my_metric(image):
        """Return a value."""
        return 1.0

    info = reg.get("my_metric")
    assert info.target is my_metric
    assert info.summary == "Return a value."
    assert info.units == {"value": "dB"}
    assert info.as_dict()["outputs"] == ["value"]
    assert "my_metric" in reg and reg.ids() == ["my_metric"] and len(reg) == 1


def test_same_id_twice_from_different_code_is_refused():
    reg = registry.Registry("modifier", (), "iqx.tests.none")
    reg.register("twice")(lambda image: image)
    with pytest.raises(ValueError, match="already registered"):

        @reg.register("twice")
        def other(image):
            return image


def test_unknown_id_lists_what_exists():
    reg = registry.Registry("modifier", (), "iqx.tests.none")
    reg.register("alpha")(lambda image: image)
    with pytest.raises(UnknownOperationError, match="registered modifiers: alpha"):
        reg.get("beta")


def test_entry_point_plugins_are_loaded(monkeypatch):
    ep = EntryPoint(name="plugin_op", value="json:dumps", group="iqx.tests.plugins")
    monkeypatch.setattr(registry, "entry_points", lambda group: [ep] if group == ep.group else [])
    reg = registry.Registry("metric", (), "iqx.tests.plugins")
    info = reg.get("plugin_op")
    import json

    assert info.target is json.dumps
    assert info.source.startswith("plugin:")


def test_builtin_registries_are_populated():
    assert len(registry.modifiers) > 0
    assert len(registry.metrics) > 0
