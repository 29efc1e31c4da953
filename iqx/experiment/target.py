"""A study target written as one string: ``"niirs >= 5"`` -> ``("niirs", Requirement)``.

:class:`~iqx.experiment.requirement.Requirement` reads the comparison (``">= 5"``,
``"within 2% of baseline"`` ...); a target prefixes it with the metric it applies to, as
study files and reports write it. :func:`parse_target` splits the two, so
``find_cheapest(ds, "jpeg", *parse_target("niirs >= 5"))`` and
``cheapest_setting(table, dict([parse_target("niirs >= 5")]))`` read the same text.
"""

from __future__ import annotations

import re

from iqx.errors import InvalidParameterError
from iqx.experiment.requirement import Requirement

__all__ = ["parse_target"]

_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s+(.+?)\s*$")
_TARGET_OP = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*?)\s*((?:>=|<=|>|<).*?)\s*$")


def parse_target(spec: str, *, higher_is_better: bool = True) -> tuple[str, Requirement]:
    """Split ``"<metric> <requirement>"`` into the metric name and its requirement.

    Parameters
    ----------
    spec : str
        E.g. ``"niirs >= 5"``, ``"niirs>=5"``, ``"ssim within 2% of baseline"``,
        ``"mse <= 20"``.
    higher_is_better : bool
        Direction of the metric, for the ``"within ..."`` forms.

    Returns
    -------
    (str, Requirement)

    Raises
    ------
    InvalidParameterError
        When no metric name precedes a readable requirement.

    Examples
    --------
    >>> name, req = parse_target("niirs >= 5")
    >>> name, req.op, req.threshold()
    ('niirs', '>=', 5.0)
    """
    if not isinstance(spec, str):
        raise InvalidParameterError(f"target must be a string like 'niirs >= 5', got {spec!r}")
    m = _TARGET_OP.match(spec) or _TARGET.match(spec)
    if m is None or m.group(1).lower() in ("within",):
        raise InvalidParameterError(
            f"target {spec!r} not understood; write '<metric> <requirement>', e.g. "
            "'niirs >= 5' or 'ssim within 2% of baseline'"
        )
    return m.group(1), Requirement.parse(m.group(2), higher_is_better=higher_is_better)
