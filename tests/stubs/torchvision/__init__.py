"""TEST-ONLY stand-in for torchvision (see README.md beside this file).

This machine has torch's CPU build and no CPU build of torchvision (the PyPI wheels link CUDA
libraries), so ``import torchvision`` fails. basicsr imports a handful of torchvision names when it
is imported; this package provides only those, so the tests can run BasicSR's real code.
tests/conftest.py puts it on sys.path only when the real torchvision cannot be imported.
"""

__version__ = "0.0.0+dalisr-test-stub"

from . import models, ops, transforms, utils  # noqa: E402,F401
