"""Test-only stand-in: deformable convolution is not available (no torchvision C ops here)."""


def deform_conv2d(*args, **kwargs):
    raise RuntimeError("tests/stubs/torchvision has no deform_conv2d; install the real torchvision")
