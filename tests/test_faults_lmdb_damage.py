"""A damaged data.mdb: a corrupt page is a DalisrError that skip covers; one truncated while training
stops the trainer with a message, never by SIGBUS."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import textwrap

import cv2
import numpy as np
import pytest

from dalisr import build_dataloader
from dalisr.errors import DalisrError
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.storage import LmdbStore
from tests.conftest import default_sigint

PAGE = 4096
P_LEAF = 0x02
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def small_pair_lmdbs(tmp_path, count: int = 64) -> tuple[str, str]:
    """GT 16x16 / LQ 4x4 noise PNGs, small enough to sit inside LMDB's leaf pages (several per page)."""
    rng = np.random.default_rng(0)
    paths = []
    for name, size in (("gt", 16), ("lq", 4)):
        out = str(tmp_path / f"{name}.lmdb")
        with LmdbWriter(out) as writer:
            for i in range(count):
                img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                writer.put(f"{i:04d}", cv2.imencode(".png", img)[1].tobytes(), f"{i:04d}.png", (size, size, 3), 1)
        paths.append(out)
    return paths[0], paths[1]


def zero_one_leaf_page(lmdb_path: str) -> None:
    """Overwrite one leaf page (not the first) of data.mdb with zeros: LMDB reports MDB_CORRUPTED there."""
    path = os.path.join(lmdb_path, "data.mdb")
    with open(path, "r+b") as f:
        data = f.read()
        leaves = [p for p in range(2, len(data) // PAGE)
                  if struct.unpack_from("<QHH", data, p * PAGE)[0] == p
                  and struct.unpack_from("<QHH", data, p * PAGE)[2] & P_LEAF]
        assert len(leaves) > 2
        f.seek(leaves[1] * PAGE)
        f.write(bytes(PAGE))


def opt(gt, lq, **extra):
    o = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "lmdb"},
         "gt_size": 16, "scale": 4, "batch_size_per_gpu": 4, "num_worker_per_gpu": 1}
    o.update(extra)
    return o


def test_a_corrupt_page_is_a_dalisr_error_and_skip_covers_it(tmp_path):
    gt, lq = small_pair_lmdbs(tmp_path)
    zero_one_leaf_page(gt)
    store = LmdbStore(gt)
    bad = []
    for key in store.keys():
        try:
            store.get(key)
        except DalisrError as exc:
            bad.append(key)
            assert "damaged" in str(exc) and "re-create" in str(exc) and gt in str(exc)
    store.close()
    assert 0 < len(bad) < 64
    with build_dataloader(opt(gt, lq), device="cpu") as loader, pytest.raises(DalisrError, match="damaged"):
        list(loader)
    with build_dataloader(opt(gt, lq, on_error="skip"), device="cpu") as loader:
        assert len(list(loader)) == 16
        assert loader.stats["skipped"] >= 1


TRAINER = textwrap.dedent("""
    import os, sys
    from dalisr import build_dataloader
    opt = {"type": "PairedImageDataset", "dataroot_gt": sys.argv[1], "dataroot_lq": sys.argv[2],
           "io_backend": {"type": "lmdb"}, "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2,
           "num_worker_per_gpu": 2, "dataset_enlarge_ratio": 1000}
    loader = build_dataloader(opt, device="cpu")
    for i, batch in enumerate(loader):
        if i == 1:
            os.truncate(os.path.join(sys.argv[1], "data.mdb"), 3 * 4096)  # as a careless re-copy would
            print("TRUNCATED", flush=True)
""")


def test_data_mdb_truncated_while_training_stops_the_trainer_with_a_message(sample_set, tmp_path):
    import shutil

    gt = str(tmp_path / "gt.lmdb")
    shutil.copytree(sample_set.gt_lmdb, gt)
    script = tmp_path / "train.py"
    script.write_text(TRAINER)
    proc = subprocess.Popen([sys.executable, str(script), gt, sample_set.lq_lmdb(4)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint, start_new_session=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "TRUNCATED" in out
    assert proc.returncode == 1, err  # an exception, not SIGBUS (-7)
    assert "DalisrError" in err and "re-create or re-copy" in err and "changed" in err
