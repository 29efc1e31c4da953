"""Line numbers of TOML keys (``tomllib`` reports none for values it accepts)."""

from __future__ import annotations

import re

__all__ = ["key_lines", "line_of"]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*="""
)
_PART = re.compile(r"""\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|$)""")


def _split(dotted: str) -> tuple[str, ...]:
    return tuple(m.group(1).strip("\"'") for m in _PART.finditer(dotted.strip()) if m.group(1))


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """``{("modifiers", "jpeg", "quality"): 12, ...}``: the first line defining each key path.

    Table headers map to their own line; keys of inline tables and of multi-line values are
    not tracked (a lookup falls back to the nearest enclosing key, see :func:`line_of`).
    """
    out: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    depth = 0  # open brackets of a multi-line value
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0] if '"' not in line and "'" not in line else line
        if depth == 0:
            header = _HEADER.match(line)
            if header:
                table = _split(header.group(1))
                out.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                out.setdefault(table + _split(key.group(1)), number)
        depth = max(0, depth + stripped.count("[") - stripped.count("]"))
    return out


def line_of(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of ``path``: its own, else its first dotted sub-key's (``a.b = ...`` defines
    ``a``), else its nearest enclosing key's."""
    for n in range(len(path), 0, -1):
        prefix = path[:n]
        if prefix in lines:
            return lines[prefix]
        below = [v for k, v in lines.items() if k[:n] == prefix]
        if below:
            return min(below)
    return None
