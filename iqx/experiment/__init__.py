"""Studies: sweep modifiers over a dataset, measure, and find the cheapest acceptable setting."""

from iqx.experiment.sweep import cheapest_setting, sweep

__all__ = ["cheapest_setting", "sweep"]
