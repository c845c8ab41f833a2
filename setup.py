"""Builds dalisr's one C extension (PNG row unfiltering); everything else is configured in pyproject.toml."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("dalisr._ext.pngrows", ["dalisr/_ext/pngrows.c"], extra_compile_args=["-O3"])])
