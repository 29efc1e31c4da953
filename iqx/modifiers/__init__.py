"""Registered, config-serialisable degradations of lazy scenes (see ``iqx list modifiers``).

Every modifier is a value: ``jpeg(quality=70)`` is a :class:`Modifier` that can be applied
later (``m(image)``), serialised (``m.get_config()`` / :func:`from_config`), spelled on the
CLI (``jpeg:quality=70``) and used to name a modified dataset (``m.folder_name``).
``jpeg(image, quality=70)`` applies it at once. See ``docs/modifiers.md``.
"""

import iqx.accessor  # noqa: F401  (registers the .iqx DataArray accessor)
from iqx.modifiers._base import (
    Chain,
    FunctionModifier,
    Modifier,
    as_modifier,
    chain,
    from_config,
    parse_spec,
    scene_bit_depth,
)
from iqx.modifiers.blur import GaussianBlur, RERBlur, gaussian_blur, rer_blur
from iqx.modifiers.compression import JPEG, JPEG2000, data_volume, jpeg, jpeg2000
from iqx.modifiers.external import ExternalCommandError, ExternalModifier, external
from iqx.modifiers.noise import GaussianNoise, SNRNoise, gaussian_noise, snr_noise
from iqx.modifiers.quantization import Quantize, quantize
from iqx.modifiers.resampling import Resample, resample
from iqx.modifiers.sensor import Sensor, sensor

__all__ = [
    "JPEG",
    "JPEG2000",
    "Chain",
    "ExternalCommandError",
    "ExternalModifier",
    "FunctionModifier",
    "GaussianBlur",
    "GaussianNoise",
    "Modifier",
    "Quantize",
    "RERBlur",
    "Resample",
    "SNRNoise",
    "Sensor",
    "as_modifier",
    "chain",
    "data_volume",
    "external",
    "from_config",
    "gaussian_blur",
    "gaussian_noise",
    "jpeg",
    "jpeg2000",
    "parse_spec",
    "quantize",
    "rer_blur",
    "resample",
    "scene_bit_depth",
    "sensor",
    "snr_noise",
]
