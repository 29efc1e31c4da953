"""A quality requirement on one metric: absolute, or relative to the unmodified baseline.

Shared by the post-hoc :func:`~iqx.experiment.image_sweep.cheapest_setting` and the search
:func:`~iqx.experiment.search.find_cheapest`. Spellings accepted by :meth:`Requirement.parse`:

- ``0.95`` or ``">= 0.95"``, ``"> 0.95"``, ``"<= 0.1"``, ``"< 0.1"``: absolute thresholds;
- ``"within 0.02 of baseline"``, ``"within 2% of baseline"``: at most that loss against the
  unmodified reference (a drop for a higher-is-better metric, a rise otherwise);
- ``">= baseline - 0.02"``, ``"<= baseline + 5%"``, ``">= 98% of baseline"``: the same,
  with the direction explicit.

Percentages are of the baseline's magnitude: ``within 2%`` of 0.80 is ``>= 0.784``.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

from iqx.errors import InvalidParameterError

__all__ = ["Requirement"]

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_ABSOLUTE = re.compile(rf"^(>=|>|<=|<)?\s*({_NUM})$")
_WITHIN = re.compile(rf"^within\s+({_NUM})\s*(%)?(?:\s+of(?:\s+the)?\s+baseline)?$")
_OFFSET = re.compile(rf"^(>=|>|<=|<)\s*baseline\s*(?:([-+])\s*({_NUM})\s*(%)?)?$")
_FRACTION = re.compile(rf"^(>=|>|<=|<)\s*({_NUM})\s*%\s*(?:of\s+)?(?:the\s+)?baseline$")


@dataclass(frozen=True)
class Requirement:
    """``metric <op> threshold``, the threshold absolute or derived from the baseline.

    Attributes
    ----------
    op : {">=", ">", "<=", "<"}
        How a measured value compares with the threshold to meet the requirement.
    value : float
        The threshold (``kind="absolute"``), or the signed offset from the baseline
        (``"delta"``: ``baseline + value``; ``"percent"``: ``baseline + value/100*|baseline|``).
    kind : {"absolute", "delta", "percent"}
    text : str
        How the user wrote it (for reports).
    """

    op: str
    value: float
    kind: str = "absolute"
    text: str = ""

    @classmethod
    def parse(cls, spec: Any, *, higher_is_better: bool = True) -> Requirement:
        """Read a requirement from a number, a string (module docstring) or a Requirement.

        Parameters
        ----------
        spec : float, str or Requirement
            A bare number means ``>= number``.
        higher_is_better : bool
            Direction of the metric, used by ``"within ..."`` forms only.

        Raises
        ------
        InvalidParameterError
            An unreadable spelling (the message lists the accepted ones).
        """
        if isinstance(spec, Requirement):
            return spec
        if isinstance(spec, bool) or not isinstance(spec, int | float | str):
            raise InvalidParameterError(f"requirement: expected a number or a string, got {spec!r}")
        if not isinstance(spec, str):
            return cls(">=", float(spec), "absolute", f">= {spec:g}")
        text = " ".join(spec.strip().lower().split())
        if m := _ABSOLUTE.match(text):
            return cls(m.group(1) or ">=", float(m.group(2)), "absolute", spec.strip())
        if m := _WITHIN.match(text):
            loss = abs(float(m.group(1)))
            op = ">=" if higher_is_better else "<="
            kind = "percent" if m.group(2) else "delta"
            return cls(op, -loss if higher_is_better else loss, kind, spec.strip())
        if m := _OFFSET.match(text):
            size = float(m.group(3) or 0.0) * (-1.0 if m.group(2) == "-" else 1.0)
            return cls(m.group(1), size, "percent" if m.group(4) else "delta", spec.strip())
        if m := _FRACTION.match(text):
            return cls(m.group(1), float(m.group(2)) - 100.0, "percent", spec.strip())
        raise InvalidParameterError(
            f"requirement {spec!r} not understood; write e.g. '>= 0.95', '<= 0.1', "
            "'within 0.02 of baseline', 'within 2% of baseline', '>= baseline - 0.02' "
            "or '>= 98% of baseline'"
        )

    @classmethod
    def fraction_of_baseline(cls, fraction: float) -> Requirement:
        """``>= fraction x baseline`` (the ``relative_to_original`` targets of a sweep)."""
        return cls(">=", (float(fraction) - 1.0) * 100.0, "percent", f">= {fraction:g} x baseline")

    @property
    def relative(self) -> bool:
        """True when the threshold depends on the baseline."""
        return self.kind != "absolute"

    @property
    def higher_is_better(self) -> bool:
        """True for ``>=``/``>`` (meeting it needs a high enough value)."""
        return self.op.startswith(">")

    def threshold(self, baseline: float | None = None) -> float:
        """The absolute threshold (``baseline`` needed when :attr:`relative`)."""
        if self.kind == "absolute":
            return float(self.value)
        if baseline is None or baseline != baseline:  # None or NaN
            raise InvalidParameterError(
                f"requirement {self.text or self.op!r} is relative to the baseline, "
                "but the baseline has no value for this metric"
            )
        if self.kind == "delta":
            return float(baseline) + self.value
        return float(baseline) + self.value / 100.0 * abs(float(baseline))

    def met(self, value: Any, threshold: float) -> Any:
        """Whether ``value`` (a number or an array) meets ``threshold``; NaN never does."""
        return _OPS[self.op](value, threshold)

    def describe(self, metric: str, threshold: float, baseline: float | None = None) -> str:
        """``"ssim >= 0.95"``, or ``"ssim within 2% of baseline (0.99), i.e. >= 0.9702"``."""
        if not self.relative:
            return f"{metric} {self.op} {threshold:.4g}"
        return f"{metric} {self.text} ({baseline:.4g}), i.e. {self.op} {threshold:.4g}"
