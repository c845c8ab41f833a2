"""dalisr: a DALI input pipeline for image and video super-resolution training."""

from .errors import DalisrError

__version__ = "0.1.0"

__all__ = ["DalisrError", "__version__"]
