"""Unreadable files and folders (permission denied: the same path as an I/O error) are DalisrErrors; skip covers them.

The checks run in a child without the capabilities that let root read anything (setpriv), so chmod 000 bites.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DROP = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]

SCRIPT = textwrap.dedent("""
    import json, sys
    from dalisr import build_dataloader
    from dalisr.errors import DalisrError
    gt, lq, gt_lmdb, lq_lmdb = sys.argv[1:5]
    out = {}
    def opt(**extra):
        o = {"type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq, "io_backend": {"type": "disk"},
             "gt_size": 64, "scale": 4, "batch_size_per_gpu": 2, "num_worker_per_gpu": 1}
        o.update(extra)
        return o
    for mode in ("raise", "skip"):
        try:
            with build_dataloader(opt(on_error=mode), device="cpu") as loader:
                n = len(list(loader))
                out[mode] = {"batches": n, "skipped": loader.stats["skipped_samples"]}
        except DalisrError as exc:
            out[mode] = {"error": str(exc)}
    try:
        build_dataloader(opt(dataroot_gt=gt_lmdb, dataroot_lq=lq_lmdb, io_backend={"type": "lmdb"}), device="cpu")
        out["lmdb"] = {}
    except DalisrError as exc:
        out["lmdb"] = {"error": str(exc)}
    print(json.dumps(out))
""")


def test_unreadable_image_and_lmdb_folder(sample_set, tmp_path):
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        pytest.skip("setpriv is missing: root reads any file")
    gt = tmp_path / "gt"
    shutil.copytree(sample_set.gt_folder, gt)
    gt_lmdb = tmp_path / "gt.lmdb"
    shutil.copytree(sample_set.gt_lmdb, gt_lmdb)
    locked = sorted(os.listdir(gt))[0]
    os.chmod(gt / locked, 0)
    os.chmod(gt_lmdb, 0)
    script = tmp_path / "check.py"
    script.write_text(SCRIPT)
    cmd = [sys.executable, str(script), str(gt), sample_set.lq_folder(4), str(gt_lmdb), sample_set.lq_lmdb(4)]
    try:
        done = subprocess.run((DROP if os.geteuid() == 0 else []) + cmd, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, PYTHONPATH=ROOT))
    finally:
        os.chmod(gt_lmdb, 0o755)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    error = out["raise"]["error"]
    assert locked in error and "cannot be read" in error and "Permission denied" in error and "Fix:" in error
    assert out["skip"]["batches"] == 4 and os.path.splitext(locked)[0] in out["skip"]["skipped"][0]
    assert "cannot be read" in out["lmdb"]["error"] and "no data.mdb" not in out["lmdb"]["error"]


def test_make_lr_over_an_unreadable_sub_folder_is_a_clean_error(tmp_path):
    src = tmp_path / "hr"
    (src / "clip").mkdir(parents=True)
    (src / "a.png").write_bytes(b"")
    os.chmod(src / "clip", 0)
    cmd = [sys.executable, "-m", "dalisr", "make-lr", str(src), str(tmp_path / "lr")]
    try:
        done = subprocess.run((DROP if os.geteuid() == 0 else []) + cmd, capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)
    finally:
        os.chmod(src / "clip", 0o755)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "Permission denied" in done.stderr and "clip" in done.stderr
