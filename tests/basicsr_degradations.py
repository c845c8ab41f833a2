"""BasicSR's own ``basicsr/data/degradations.py``, loaded as a single file, as the yardstick for dalisr's kernels.

``import basicsr`` pulls in torchvision (basicsr/utils/img_util.py), which this
machine lacks. The file itself needs only numpy, scipy, cv2, torch (all real
here) and ``torchvision.transforms.functional(_tensor).rgb_to_grayscale`` (used
by its noise functions, not by the kernels). So the file is loaded with
importlib from the installed basicsr package (the ``basicsr`` extra) after
putting a stand-in for that ONE torchvision name into ``sys.modules`` for the
duration of the import only; every kernel function run is BasicSR's real code.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

import pytest


def _source_file() -> str | None:
    spec = importlib.util.find_spec("basicsr")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "degradations.py")
    return path if os.path.exists(path) else None


def load_degradations():
    """BasicSR's degradations module, or skip the test where basicsr is not installed."""
    pytest.importorskip("scipy")
    pytest.importorskip("torch")
    path = _source_file()
    if path is None:
        pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')")

    def rgb_to_grayscale(*args, **kwargs):  # pragma: no cover - noise functions are not run
        raise NotImplementedError("torchvision stand-in: only the kernel functions are used")

    names = ["torchvision", "torchvision.transforms", "torchvision.transforms.functional",
             "torchvision.transforms.functional_tensor"]
    saved = {n: sys.modules.get(n) for n in names}
    stubs = {n: types.ModuleType(n) for n in names}
    stubs["torchvision.transforms.functional"].rgb_to_grayscale = rgb_to_grayscale
    stubs["torchvision.transforms.functional_tensor"].rgb_to_grayscale = rgb_to_grayscale
    try:
        import torchvision  # noqa: F401  - a real one wins
        stubs = {}
    except ImportError:
        sys.modules.update(stubs)
    try:
        spec = importlib.util.spec_from_file_location("basicsr_degradations_ref", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for n in stubs:
            if saved[n] is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = saved[n]
    return module
