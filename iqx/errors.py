"""The iqx exception tree.

Every error iqx raises on purpose derives from :class:`IqxError`, and most also derive from
the matching built-in (``ValueError``, ``TypeError``, ``OSError`` ...) so that code written
against the standard exceptions keeps working. Messages name the file and the problem.
"""

from __future__ import annotations

__all__ = [
    "AnnotationError",
    "DatasetLayoutError",
    "ExperimentError",
    "HaloTooLargeError",
    "IqxError",
    "InvalidParameterError",
    "ManifestConflictError",
    "MissingExtraError",
    "NotMeasurableError",
    "OutputExistsError",
    "PathNotFoundError",
    "RasterReadError",
    "RasterWriteError",
    "ShapeMismatchError",
    "TaskFailedError",
    "TrackingError",
    "UnknownOperationError",
    "UnsafeOutputError",
    "UnsupportedDtypeError",
]


class IqxError(Exception):
    """Base class of every error raised by iqx."""


class InvalidParameterError(IqxError, ValueError):
    """A parameter is outside its valid range or of the wrong kind."""


class UnsupportedDtypeError(IqxError, TypeError):
    """The array's dtype (or bit depth) is not supported by the operation."""


class PathNotFoundError(IqxError, FileNotFoundError):
    """A file or folder given to iqx does not exist."""


class RasterReadError(IqxError, OSError):
    """A raster file is corrupt, truncated, or not an image at all."""


class RasterWriteError(IqxError, OSError):
    """Writing a raster or store failed (disk full, read-only, ...); names the destination."""


class OutputExistsError(InvalidParameterError, FileExistsError):
    """The output exists and replacing it was not asked for (``overwrite=True``).

    The message names the Python argument (``overwrite=True``); the command line names its
    flag instead (:attr:`cli_option`, see :func:`iqx.cli.main.error_message`).
    """

    #: the option that replaces the output, as the Python API and the command line spell it
    api_option = "overwrite=True"
    cli_option = "--overwrite"


class UnsafeOutputError(InvalidParameterError):
    """The output would land on or inside an input (a dataset, its images folder, a file)."""


class DatasetLayoutError(IqxError, ValueError):
    """A dataset folder does not follow the IQUAFLOW layout (or is ambiguous)."""


class AnnotationError(IqxError, ValueError):
    """An annotation file is empty, malformed or inconsistent with the images."""


class ManifestConflictError(IqxError, FileExistsError):
    """A modified dataset already exists with a *different* configuration.

    Like :class:`OutputExistsError`, its message names ``overwrite=True``, and the command
    line its flag.
    """

    api_option = "overwrite=True"
    cli_option = "--overwrite"


class ShapeMismatchError(IqxError, ValueError):
    """Two images that must be compared differ in shape, CRS or file set."""


class HaloTooLargeError(IqxError, ValueError):
    """A neighbourhood operation needs a halo larger than the smallest chunk."""


class NotMeasurableError(IqxError, ValueError):
    """An image holds nothing a metric can measure (constant, all nodata, too small)."""


class UnknownOperationError(IqxError, KeyError):
    """No modifier or metric is registered under the requested identifier."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class MissingExtraError(IqxError, ImportError):
    """An optional dependency is missing; the message names the extra that installs it."""

    def __init__(self, package: str, extra: str, feature: str = "") -> None:
        what = f" for {feature}" if feature else ""
        super().__init__(
            f"{package} is required{what} but is not installed; "
            f"install it with: pip install 'iqx[{extra}]'"
        )
        self.package = package
        self.extra = extra


class ExperimentError(IqxError, RuntimeError):
    """An experiment cannot start or continue (bad set-up, another process owns it)."""


class TrackingError(ExperimentError, ConnectionError):
    """The MLflow tracking store is unreachable or refuses a request."""


class TaskFailedError(ExperimentError):
    """A training task failed; ``reason`` says why and ``detail`` holds e.g. a stderr tail."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
