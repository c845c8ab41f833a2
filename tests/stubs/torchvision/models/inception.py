"""Test-only stand-in: classes basicsr/archs/inception.py subclasses at import."""

from torch import nn


class _Unavailable(nn.Module):
    def __init__(self, *args, **kwargs):
        raise RuntimeError("tests/stubs/torchvision has no Inception blocks; install the real torchvision")


class InceptionA(_Unavailable):
    pass


class InceptionC(_Unavailable):
    pass


class InceptionE(_Unavailable):
    pass
