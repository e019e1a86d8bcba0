"""The exceptions a user can cause.

Every error the library raises on purpose derives from :class:`GarmentStyleError` *and* from the matching builtin,
so callers may catch either. Messages say what was expected, what came, and the fix; the CLI prints them as one line
(exit code 2) and the UI shows them as a ``gr.Error``.
"""
from __future__ import annotations


class GarmentStyleError(Exception):
    """Base of every error garmentstyle raises for something the user can fix."""


class InputError(GarmentStyleError, ValueError):
    """A file, image, mask, swatch or option is not what was expected."""


class ImageReadError(InputError):
    """An image file is missing, unreadable, truncated, empty or too large."""


class MaskError(InputError):
    """A region mask is empty, full, of the wrong size or otherwise unusable."""


class OptionsError(InputError):
    """An option is out of range or not one of the known choices."""


class OutputError(GarmentStyleError, OSError):
    """An output path cannot be written: missing or read-only folder, a folder where a file is expected, a name too
    long, the same file as an input or another output, or the disk refused the write."""


class WeightsNotFoundError(GarmentStyleError, FileNotFoundError):
    """A pretrained checkpoint was asked for but is not on disk."""


class WeightsDownloadError(GarmentStyleError, OSError):
    """A download failed, was interrupted, or the file's hash did not match."""


class SegmentationError(GarmentStyleError, RuntimeError):
    """Segmentation found nothing usable (blank page, no closed region, …)."""


class Cancelled(Exception):
    """Long work was stopped on request (a :class:`~garmentstyle.progress.CancelToken`, or raised by a progress
    callback). Not a :class:`GarmentStyleError`: nothing went wrong, so the CLI says "cancelled" (exit 130) rather
    than printing an error. A render raises it only before its start image exists; after that it returns the image
    so far with ``report.cancelled`` set (the contract: :mod:`garmentstyle.progress`).

    Attributes:
        checkpoint: the named checkpoint where the work stopped ("prepare", "targets", "optimise", "finish", a
            segmentation stage, "download"), or None when raised outside one.
    """

    def __init__(self, message: str = "cancelled", *, checkpoint: str | None = None) -> None:
        super().__init__(message)
        self.checkpoint = checkpoint
