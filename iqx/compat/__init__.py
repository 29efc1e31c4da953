"""Compatibility layers for studies written for other frameworks.

- :mod:`iqx.compat.iquaflow`: IQUAFLOW's public names (``DSWrapper``, ``DSModifier_jpg``,
  ``ExperimentSetup``, ``SNRMetric`` ...) mapped onto iqx, so that an IQUAFLOW study runs
  with only its imports changed. See ``docs/migration.md``.

Nothing in iqx imports this package.
"""

__all__ = ["iquaflow"]
