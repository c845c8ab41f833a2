"""Test-only stand-in: basicsr/archs/vgg_arch.py imports this module; using it raises."""


def __getattr__(name: str):
    raise RuntimeError(f"tests/stubs/torchvision has no models.vgg.{name}; install the real torchvision")
