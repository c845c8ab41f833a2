"""The source -> graph -> loader contract is declared once (dalisr/contract.py): a change there reaches the batch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dalisr import build_dataloader
from dalisr.contract import SAMPLE_FIELDS, Contract, SkipRecord
from dalisr.errors import DalisrError
from dalisr.loader.explain import source_message
from dalisr.loader.lifecycle import shutdown_pipeline
from dalisr.sampling import sample_draws


def _opt(sample_set, **extra):
    return {"type": "PairedImageDataset", "dataroot_gt": sample_set.gt_lmdb, "dataroot_lq": sample_set.lq_lmdb(4),
            "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 4,
            "num_worker_per_gpu": 1, "num_threads": 1, "phase": "train", **extra}


def test_a_sample_field_declared_for_the_batch_reaches_it(sample_set, monkeypatch):
    """One edit, in the contract: the crop fractions go on to the batch, as the source drew them."""
    fields = tuple(dataclasses.replace(f, batch=True) if f.name == "fractions" else f for f in SAMPLE_FIELDS)
    monkeypatch.setattr("dalisr.contract.SAMPLE_FIELDS", fields)
    loader = build_dataloader(_opt(sample_set), device="cpu", seed=5)
    try:
        batches = list(loader)
    finally:
        loader.close()
    assert len(batches) == 2
    for b, batch in enumerate(batches):
        assert batch["fractions"].dtype == torch.float32 and tuple(batch["fractions"].shape) == (4, 2)
        for j in range(4):
            want, _ = sample_draws(5, 0, loader.plan.position(b, j))
            np.testing.assert_array_equal(batch["fractions"][j].numpy(), want)
        assert "flips" not in batch and batch["gt"].shape == (4, 3, 64, 64)


def test_the_contract_orders_source_and_batch_outputs_by_name():
    contract = Contract({"lq": 3, "gt": 1}, {"kernel": "float32"})
    names = [f.name for f in contract.source_fields(pixels=True)]
    assert names == ["lq0", "lq1", "lq2", "gt0", "idx", "skipped", "fractions", "flips", "kernel"]
    assert [f.layout for f in contract.source_fields(pixels=True)][:4] == ["HWC"] * 4
    assert contract.batch_names() == ["lq", "gt", "idx", "skipped", "kernel"]
    packed = contract.pack(["a", "b", "c", "g"], {"idx": 1, "skipped": 2, "fractions": 3, "flips": 4}, ["k"])
    got = contract.unpack(packed)
    assert got.frames == {"lq": ["a", "b", "c"], "gt": ["g"]} and got.extras == ("k",)
    assert contract.batch_outputs({"gt": "G", "lq": "L"}, got) == ("L", "G", 1, 2, "k")
    made = Contract({"gt": 1}, {"kernel": "float32"}, images=("gt", "lq", "gt_plain"), extras_to_batch=False)
    assert made.batch_names() == ["gt", "lq", "gt_plain", "idx", "skipped"]


def test_skip_record_has_names_and_round_trips_a_batch():
    records = [SkipRecord(), SkipRecord(first_bad=7, replaced=2), SkipRecord(seek_mismatches=1)]
    batch = torch.from_numpy(np.stack([r.array() for r in records]))
    assert SkipRecord.rows(batch) == records and SkipRecord.rows(batch.view(-1)) == records


@pytest.mark.parametrize("workers", [1, 0])
def test_a_source_message_is_recovered_from_the_error_dali_raises(workers):
    """Where DALI re-raises a source's DalisrError as text, source_message finds it; this fails the day DALI's
    wording changes (then dalisr.loader.explain.source_message needs updating)."""
    from nvidia.dali import fn, pipeline_def, types

    message = "key 'x/0001.png' in lmdb store /data/gt.lmdb is empty (0 bytes). Fix: re-create it"

    def source(info):
        raise DalisrError(message)

    kwargs = {"py_num_workers": workers, "py_start_method": "fork"} if workers else {}

    @pipeline_def(batch_size=2, num_threads=1, device_id=None, exec_dynamic=True, **kwargs)
    def pipe():
        return fn.external_source(source, batch=False, parallel=bool(workers), dtype=types.UINT8)

    p = pipe()
    try:
        p.build()
        with pytest.raises(Exception) as err:
            p.run()
    finally:
        shutdown_pipeline(p)  # its worker must not outlive the test
    if isinstance(err.value, DalisrError):  # in-process sources may raise it as it is
        assert str(err.value) == message
    else:
        assert source_message(err.value) == message
