"""load_state_dict refuses another dataset with as many samples, and what is no loader state."""

from __future__ import annotations

import pytest

from dalisr import build_dataloader
from dalisr.errors import DalisrError


def half(sample_set, tmp_path, first: bool):
    """A meta info file listing 4 of the 8 sample images (the first or the last 4)."""
    from dalisr.storage import DiskStore

    names = DiskStore(sample_set.gt_folder).keys()
    chosen = names[:4] if first else names[4:]
    path = tmp_path / f"meta_{first}.txt"
    path.write_text("".join(f"{n} (480,480,3)\n" for n in chosen))
    return {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_folder,
            "dataroot_lq": sample_set.lq_folder(4), "meta_info_file": str(path), "io_backend": {"type": "disk"},
            "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2, "num_worker_per_gpu": 0}


def test_state_of_another_dataset_with_as_many_samples_is_refused(sample_set, tmp_path):
    first = build_dataloader(half(sample_set, tmp_path, True), device="cpu")
    other = build_dataloader(half(sample_set, tmp_path, False), device="cpu")
    same = build_dataloader(half(sample_set, tmp_path, True), device="cpu")
    try:
        assert len(first.dataset) == len(other.dataset) == 4
        state = first.state_dict()
        with pytest.raises(DalisrError, match="another dataset"):
            other.load_state_dict(state)
        same.load_state_dict(state)  # the same dataset is accepted
        assert first.dataset.fingerprint() == same.dataset.fingerprint() != other.dataset.fingerprint()
    finally:
        for loader in (first, other, same):
            loader.close()


@pytest.mark.parametrize("state", [None, {}, "state"])
def test_what_is_no_loader_state_is_a_dalisr_error(sample_set, tmp_path, state):
    loader = build_dataloader(half(sample_set, tmp_path, True), device="cpu")
    try:
        with pytest.raises(DalisrError, match="loader.state_dict"):
            loader.load_state_dict(state)
    finally:
        loader.close()
