"""Datasets declare per-sample arrays (``extra_outputs``); the source emits them and batches carry them."""

from __future__ import annotations

import numpy as np

from dalisr.config import load_dataset_options
from dalisr.datasets.paired import PairedDataset, build_paired
from dalisr.graph.ops import GraphSpec
from dalisr.graph.pipeline import RuntimeOptions
from dalisr.loader.dali_loader import DaliLoader
from dalisr.sampling import EpochPlan
from dalisr.sources.base import extra_rng


class TaggedPairs(PairedDataset):
    """Paired samples with two extra arrays of other dtypes and shapes than the kernels'."""

    extra_outputs = {"tag": "int64", "weights": "float64"}

    def extra_arrays(self, index, rng):
        return np.array([index, int(rng.integers(1 << 30))], np.int64), rng.random((2, 3))


def test_extra_outputs_reach_the_batch_as_the_dataset_drew_them(sample_set):
    cfg = load_dataset_options({"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb,
                                "dataroot_lq": sample_set.lq_lmdb(4), "io_backend": {"type": "lmdb"},
                                "gt_size": 64, "scale": 4})
    paired, stores = build_paired(cfg)
    dataset = TaggedPairs(paired.samples)  # the same samples, with the extra outputs
    plan = EpochPlan(num_samples=len(dataset), batch_size=4, seed=9)
    loader = DaliLoader(dataset, stores, plan, GraphSpec(gt_size=64, scale=4, use_hflip=True),
                        RuntimeOptions(batch_size=4, num_threads=1, py_num_workers=1))
    try:
        batches = list(loader)
    finally:
        loader.close()
    order = plan.shard_indices(0)
    assert len(batches) == 2
    for b, batch in enumerate(batches):
        assert {"gt", "lq", "gt_path", "lq_path", "tag", "weights"} <= set(batch)
        assert tuple(batch["tag"].shape) == (4, 2) and str(batch["tag"].dtype) == "torch.int64"
        assert tuple(batch["weights"].shape) == (4, 2, 3) and str(batch["weights"].dtype) == "torch.float64"
        for j in range(4):
            position = plan.position(b, j)
            rng = extra_rng(9, 0, position)
            want_tag = [int(order[b * 4 + j]), int(rng.integers(1 << 30))]
            assert batch["tag"][j].tolist() == want_tag
            np.testing.assert_array_equal(batch["weights"][j].numpy(), rng.random((2, 3)))
