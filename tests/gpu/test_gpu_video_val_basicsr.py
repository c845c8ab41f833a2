"""BasicSR's video models, unchanged on the GPU, validate on dalisr's indexed val sets as on BasicSR's datasets.

The CPU twin (tests/test_video_val_basicsr.py) needs two test-only crutches
without CUDA (``torch.zeros(device='cuda')`` made a CPU tensor, a
VideoRecurrentModel subclass that copies its input); here neither is used.
"""

from __future__ import annotations

import pytest
import torch

from tests.test_video_val_basicsr import MODELS, clips, metrics_both_ways  # noqa: F401 - the fixture is used by name
from tests.video_clips import CLIP_LENGTHS

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("model_type", list(MODELS))
@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_gpu_validation_metrics_equal_basicsrs_loader(clips, model_type, backend):  # noqa: F811
    ours, theirs, model = metrics_both_ways(clips, model_type, backend)
    assert type(model).__name__ == model_type and model.device.type == "cuda"
    assert list(ours) == list(theirs) == list(CLIP_LENGTHS)
    for folder in CLIP_LENGTHS:
        assert model.metric_results[folder].is_cuda
        assert bool((ours[folder] > 0).all()) and torch.equal(ours[folder], theirs[folder]), folder
