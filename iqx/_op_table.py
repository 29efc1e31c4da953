"""The built-in operations' metadata as a static table, so ``iqx list`` imports no kernel.

Listing an operation needs only its id, summary, outputs and parameters (names, defaults,
ranges, docs: :meth:`iqx.registry.Registration.as_dict`), yet the live registrations sit in
modules that import numba, dask and xarray. ``iqx/data/op_table_modifiers.json`` and
``iqx/data/op_table_metrics.json`` hold exactly what ``as_dict()`` returns for every built-in
of that kind, one JSON document each (data, not code); they are **generated**::

    python -m iqx._op_table          # rewrite both files from the live registries

and ``tests/test_op_table.py`` fails, naming that command, whenever it differs from the live
registrations, so it cannot drift. :meth:`iqx.registry.Registry.describe` reads it only when
nothing else could be listed (no plugin installed, nothing registered by hand yet).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["DATA_PATHS", "generate", "live_table", "static_table"]

#: the generated file of each kind of operation
DATA_PATHS = {
    "modifier": Path(__file__).with_name("data") / "op_table_modifiers.json",
    "metric": Path(__file__).with_name("data") / "op_table_metrics.json",
}


def live_table() -> dict[str, list[dict[str, Any]]]:
    """``{"modifier": [...], "metric": [...]}`` from the live built-in registrations.

    Imports every built-in module (numba, dask, xarray); plugins are left out.
    """
    from iqx import registry

    return {
        reg.kind: [r.as_dict() for r in reg if r.source == "builtin" and _shipped(r)]
        for reg in (registry.modifiers, registry.metrics)
    }


def _shipped(registration: Any) -> bool:
    """Registered by a module of the iqx package (not by a user's or a test's own code)."""
    module = getattr(registration.target, "__module__", "") or ""
    return module == "iqx" or module.startswith("iqx.")


def static_table() -> dict[str, list[dict[str, Any]]]:
    """The generated table (imports nothing heavy)."""
    return {kind: json.loads(path.read_text(encoding="utf-8")) for kind, path in DATA_PATHS.items()}


def generate(table: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, str]:
    """Source text of each module of :data:`DATA_PATHS` for the live registrations.

    Raises
    ------
    ValueError
        If a value does not round-trip as strict JSON (e.g. a default of ``inf``).
    """
    table = live_table() if table is None else table
    texts = {}
    for kind in DATA_PATHS:
        ops = table[kind]
        try:  # strict JSON: a default of ``inf`` or ``nan`` would not read back
            text = json.dumps(ops, indent=1, ensure_ascii=False, allow_nan=False)
            same = json.loads(text) == ops
        except (TypeError, ValueError):
            same = False
        if not same:
            raise ValueError(f"the {kind} registrations hold values that are not JSON values")
        texts[kind] = text + "\n"
    return texts


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for kind, text in generate().items():
        DATA_PATHS[kind].parent.mkdir(exist_ok=True)
        DATA_PATHS[kind].write_text(text, encoding="utf-8")
        print(f"wrote {DATA_PATHS[kind]}")
