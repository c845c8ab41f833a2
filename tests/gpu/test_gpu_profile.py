"""dalisr profile on the GPU: the same report, with the device memory the pipeline uses."""

from __future__ import annotations

import pytest

from dalisr.diagnose.profile import profile_loader
from tests.test_profile import _check, _config

pytestmark = pytest.mark.gpu


def test_gpu_profile_reports_device_memory(sample_set, tmp_path):
    report = profile_loader(_config(sample_set, tmp_path), iters=3, warmup=1, device="gpu").to_dict()
    assert report["device"] == "gpu"
    _check(report, iters=3, batch_size=4)
