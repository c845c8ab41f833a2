"""traiNNer-redux's option files on the GPU path: the same items and crops as on the CPU, 16-bit kept 16-bit.

PNG (8 and 16 bits) and WebP decode to the same pixels under ``mixed`` (DALI decodes them on the CPU); JPEG
is nvJPEG's there, so JPEG pairs are compared by PSNR. Not run on this project's CPU machines.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dalisr import build_dataloader

from ..trainner_data import SCALE, make_trainner_tree

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_trainner_tree(str(tmp_path_factory.mktemp("trainner")))


def _items(section: dict, device: str, count: int) -> list[dict]:
    out = []
    with build_dataloader(dict(section, scale=SCALE), device=device, seed=2) as loader:
        while len(out) < count:
            for b in loader:
                out.append({k: v.cpu() if torch.is_tensor(v) else v for k, v in b.items()})
                if len(out) == count:
                    break
    return out


def _same(a: torch.Tensor, b: torch.Tensor, jpeg: bool) -> bool:
    if not jpeg:
        return bool((a - b).abs().max() <= 1e-6)
    mse = float(((a - b) ** 2).mean())
    return 10 * np.log10(1 / max(mse, 1e-12)) > 35


def test_gpu_val_items_equal_the_cpus(tree):
    section = tree.section("val", bit_depth=16)
    for cpu, gpu in zip(_items(section, "cpu", 7), _items(section, "gpu", 7)):
        assert cpu["gt_path"] == gpu["gt_path"]
        jpeg = cpu["lq_path"][0].endswith(".jpg")
        assert _same(cpu["gt"], gpu["gt"], False) and _same(cpu["lq"], gpu["lq"], jpeg)


def test_gpu_train_crops_equal_the_cpus(tree):
    section = tree.section("train", lq_size=12, batch_size_per_gpu=4, bit_depth=16, num_worker_per_gpu=2)
    for cpu, gpu in zip(_items(section, "cpu", 3), _items(section, "gpu", 3)):
        assert cpu["gt_path"] == gpu["gt_path"]
        for j, path in enumerate(cpu["lq_path"]):
            assert _same(cpu["gt"][j], gpu["gt"][j], False)
            assert _same(cpu["lq"][j], gpu["lq"][j], path.endswith(".jpg"))
