"""Test-only stand-in: the names basicsr's arch modules touch at import; building them raises."""

from . import inception, vgg  # noqa: F401


def inception_v3(*args, **kwargs):
    raise RuntimeError("tests/stubs/torchvision has no Inception v3; install the real torchvision")
