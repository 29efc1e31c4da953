"""Parameter metadata of a registered operation, for ``iqx list``.

The parameters of an operation are read from what already defines them, so nothing has to
be kept in sync by hand:

* **names, defaults, kinds** from the signature (a function's, or a class's ``__init__``);
* **type, choices and range** from the numpydoc ``Parameters`` section of the function, the
  class or the module-level function of the same id (``jpeg`` for the ``JPEG`` class):
  the type line (``bits : {8, 12}, optional``) and the first sentence of the description,
  from which a range such as ``1..100``, ``in [0, 1]``, ``(0, 45)`` or ``>= 5`` is
  extracted when one is written there;
* an explicit ``params`` mapping given at registration (``{name: {"default": ...,
  "range": ..., "doc": ...}}``), which wins, for operations taking ``**kwargs``.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any

__all__ = ["describe_parameters"]

#: Positional inputs of modifiers and metrics, not parameters.
_INPUTS = {
    "self", "cls", "image", "images", "reference", "test", "scene", "other",
    "predictions", "gt_path",
}  # fmt: skip
_SECTION = re.compile(r"^\s*Parameters\s*\n\s*-{3,}\s*\n", re.M)
_NEXT_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]+\s*\n\s*-{3,}\s*$", re.M)
_RANGES = (
    re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*\.\.\s*(-?\w+(?:\.\d+)?)"),
    re.compile(r"in\s*([\[(]\s*-?[\d.]+(?:e-?\d+)?\s*,\s*(?:-?[\d.]+(?:e-?\d+)?|inf)\s*[\])])"),
    re.compile(r"(?<![\w`])([<>]=?\s*-?\d+(?:\.\d+)?)(?![\w.])"),
)


def _doc_entries(doc: str | None) -> dict[str, tuple[str, str]]:
    """``{name: (type line, description)}`` from a numpydoc ``Parameters`` section."""
    if not doc:
        return {}
    doc = inspect.cleandoc(doc)
    m = _SECTION.search(doc)
    if not m:
        return {}
    body = doc[m.end() :]
    nxt = _NEXT_SECTION.search(body)
    if nxt:
        body = body[: nxt.start()]
    out: dict[str, tuple[str, str]] = {}
    names: list[str] = []
    typ = ""
    desc: list[str] = []

    def flush() -> None:
        for n in names:
            out[n] = (typ, " ".join(desc).strip())

    for line in body.splitlines():
        if line and not line[0].isspace():
            flush()
            head, _, typ = line.partition(" : ")
            names = [n.strip().lstrip("*") for n in head.split(",") if n.strip()]
            typ = typ.strip()
            desc = []
        elif line.strip():
            desc.append(line.strip())
    flush()
    return out


def _jsonable(value: Any) -> Any:
    """A tuple default as a list (``iqx list --format json`` and the generated table)."""
    return list(value) if isinstance(value, tuple) else value


def _first_sentence(text: str) -> str:
    """Up to the first full stop or semicolon that ends a sentence (not "e.g.", "i.e.")."""
    m = re.match(r"(.+?(?<!\be\.g)(?<!\bi\.e)[.;])(\s|$)", text)
    return (m.group(1) if m else text).strip().rstrip(";")


def _range(typ: str, doc: str) -> str | None:
    choices = re.search(r"\{[^}]*\}", typ)
    if choices:
        return choices.group(0)
    for rx in _RANGES:
        m = rx.search(typ) or rx.search(doc)
        if m:
            g = m.groups()
            return f"{g[0]}..{g[1]}" if len(g) == 2 else g[0].replace(" ", "")
    return None


def _sources(target: Any, op_id: str) -> list[str | None]:
    docs = [getattr(target, "__doc__", None)]
    if inspect.isclass(target):
        docs.append(getattr(target.__init__, "__doc__", None))
        mod = sys.modules.get(getattr(target, "__module__", ""), None)
        fn = getattr(mod, op_id, None) if mod else None
        if callable(fn) and not inspect.isclass(fn):
            docs.append(fn.__doc__)
    return docs


def describe_parameters(target: Any, op_id: str, explicit: Any = None) -> list[dict[str, Any]]:
    """The parameters of a registered operation: name, default, type, range, doc.

    Parameters
    ----------
    target : callable or class
        The registered function or class.
    op_id : str
        Its registry id (used to find a module-level function documenting a class).
    explicit : mapping, optional
        ``{name: {"default": ..., "range": ..., "type": ..., "doc": ...}}`` given at
        registration; its entries override and extend what the signature and docstrings say.

    Returns
    -------
    list of dict
        One dict per parameter, in signature order (explicit-only parameters last), with
        keys ``name``, ``default`` (``None`` when required or absent), ``required``,
        ``type``, ``range`` (a string such as ``"1..100"``, ``"{8, 12}"``, ``">=5"`` or
        ``None`` when the docstring states none) and ``doc``.
    """
    docs: dict[str, tuple[str, str]] = {}
    for d in _sources(target, op_id):
        for k, v in _doc_entries(d).items():
            docs.setdefault(k, v)
    try:
        fn = target.__init__ if inspect.isclass(target) else target
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        sig = None
    params: dict[str, dict[str, Any]] = {}
    if sig is not None:
        for p in sig.parameters.values():
            if p.name in _INPUTS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if p.kind is p.POSITIONAL_ONLY:
                continue
            typ, doc = docs.get(p.name, ("", ""))
            required = p.default is inspect.Parameter.empty
            params[p.name] = {
                "name": p.name,
                # JSON-friendly, as the metric options give theirs (a tuple default reads
                # back from the generated table as a list)
                "default": None if required else _jsonable(p.default),
                "required": required,
                "type": typ,
                "range": _range(typ, doc),
                "doc": _first_sentence(doc),
            }
    for name, meta in dict(explicit or {}).items():
        entry = params.setdefault(
            name,
            {"name": name, "default": None, "required": False, "type": "", "range": None},
        )
        entry.setdefault("doc", "")
        entry.update({k: v for k, v in dict(meta).items() if k != "name"})
    return list(params.values())
