"""IQUAFLOW's public names on iqx: change the imports, keep the study.

::

    # from iquaflow.datasets import DSWrapper, DSModifier_jpg
    # from iquaflow.experiments import ExperimentSetup, ExperimentInfo
    # from iquaflow.experiments.task_execution import PythonScriptTaskExecution
    # from iquaflow.metrics import SNRMetric
    from iqx.compat.iquaflow import (
        DSWrapper, DSModifier_jpg, ExperimentSetup, ExperimentInfo,
        PythonScriptTaskExecution, SNRMetric,
    )

Folder naming (``ds#jpg85_modifier``, chains ``ds#child#self``) and run params
(``{"ds_name", "modifier", **params}``) are IQUAFLOW's; the engine is iqx's (parallel,
atomic, resumable, seeded). ``docs/migration.md`` lists every name and every difference.
"""

from __future__ import annotations

from iqx.compat._datasets import (
    DUPL_ESC_KEY,
    INITIAL_RER,
    INITIAL_SNR,
    DSAnnotationsNotFound,
    DSModifier,
    DSModifier_dir,
    DSNotFound,
    DSWrapper,
    IquaflowStep,
)
from iqx.compat._experiments import ExperimentInfo, ExperimentSetup, PythonScriptTaskExecution
from iqx.compat._metrics import (
    BBDetectionMetrics,
    DsStats,
    Metric,
    SanityCheck,
    SharpnessMetric,
    SNRMetric,
    read_like_iquaflow,
)
from iqx.compat._modifiers import (
    DSModifier_blur,
    DSModifier_gsd,
    DSModifier_jpg,
    DSModifier_quant,
    DSModifier_rer,
    DSModifier_snr,
)
from iqx.experiment.sagemaker import SageMakerEstimatorFactory, SageMakerTaskExecution
from iqx.experiment.visual import ExperimentVisual

__all__ = [
    "DUPL_ESC_KEY",
    "INITIAL_RER",
    "INITIAL_SNR",
    "BBDetectionMetrics",
    "DSAnnotationsNotFound",
    "DSModifier",
    "DSModifier_blur",
    "DSModifier_dir",
    "DSModifier_gsd",
    "DSModifier_jpg",
    "DSModifier_quant",
    "DSModifier_rer",
    "DSModifier_snr",
    "DSNotFound",
    "DSWrapper",
    "DsStats",
    "ExperimentInfo",
    "ExperimentSetup",
    "ExperimentVisual",
    "IquaflowStep",
    "Metric",
    "PythonScriptTaskExecution",
    "SNRMetric",
    "SageMakerEstimatorFactory",
    "SageMakerTaskExecution",
    "SanityCheck",
    "SharpnessMetric",
    "read_like_iquaflow",
]
