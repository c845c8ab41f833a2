#!/usr/bin/env bash
# Make .venv with everything dalisr and its tests need, on a fresh machine. Idempotent:
# a second run only re-installs when pyproject.toml, setup.py, this script or the C extension's sources changed
# (the editable install compiles dalisr/_ext/*.c in place: gcc and the Python headers are needed).
#   DALISR_CUDA_TORCH=1  keep pip's default (CUDA) torch instead of the CPU build 2.13.0
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
fi
stamp=.venv/.dalisr-installed
want=$(cat pyproject.toml setup.py tools/setup.sh dalisr/_ext/*.c | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  if [ "${DALISR_CUDA_TORCH:-0}" != 1 ] && ! .venv/bin/python -c 'import torch' 2>/dev/null; then
    # the CPU build; a bare `torch` requirement would pull a multi-GB CUDA build
    .venv/bin/python -m pip install -q torch==2.13.0
  fi
  # --no-warn-conflicts here and below: on a re-run basicsr is installed, and pip's resolver would print an
  # "ERROR" about the requirements it declares and this script leaves out on purpose (see below)
  .venv/bin/python -m pip install -q --no-warn-conflicts -e '.[dev]'
  # BasicSR for `dalisr train` and its tests, without its declared requirements: they would pull a CUDA torch
  # (via torchvision) and opencv-python over opencv-python-headless. Only what basicsr imports is added; the
  # tests stand in for torchvision where no CPU build exists (tests/stubs/torchvision/README.md).
  .venv/bin/python -m pip install -q 'setuptools>=70.1' wheel  # basicsr is an sdist: built here, not isolated
  # what basicsr imports, before basicsr itself
  .venv/bin/python -m pip install -q --no-warn-conflicts addict future yapf requests scipy
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation 'basicsr==1.4.2'
  # the oldest supported basicsr, side by side, for the launcher tests that run against each version
  # (tests/test_basicsr_versions.py puts it first on PYTHONPATH); many repositories (HAT...) pin it
  rm -rf .venv/basicsr-1.3.4.9
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation --target .venv/basicsr-1.3.4.9 'basicsr==1.3.4.9'
  # Real-ESRGAN's own models (its feed_data degradation) for tools/benchmodes/degrade.py, the yardstick of the in-loader one
  .venv/bin/python -m pip install -q --no-deps 'realesrgan==0.3.0'
  echo "$want" > "$stamp"
fi
# memcached: the tests start their own server on loopback
if ! command -v memcached >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq memcached >/dev/null
  else
    echo "warning: memcached is not installed and apt-get is missing; memcached tests will be skipped" >&2
  fi
fi
