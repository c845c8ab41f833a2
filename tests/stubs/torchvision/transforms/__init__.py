"""Test-only stand-in: see tests/stubs/torchvision/README.md."""

from . import functional  # noqa: F401
