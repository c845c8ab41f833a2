"""dalisr: a DALI input pipeline for image and video super-resolution training."""

from .errors import DalisrError

__version__ = "0.1.0"


def build_dataloader(*args, **kwargs):
    """See :func:`dalisr.build.build_dataloader` (imported lazily: DALI and torch load on first use)."""
    from .build import build_dataloader as build

    return build(*args, **kwargs)


__all__ = ["DalisrError", "__version__", "build_dataloader"]
