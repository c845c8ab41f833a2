"""Video val clips made from the sample photos, shared by the video val tests.

Two clips of the sample set's GT sub-images and their x4 LQ (clip ``a``: 5
frames, ``b``: 3, every frame a different photo crop), as folders of clip
folders (``GT``, ``BIx4``) and as LMDBs made by ``dalisr create-lmdb --dataset reds``.
"""

from __future__ import annotations

import os
import shutil

from click.testing import CliRunner

from dalisr.cli import main

CLIP_LENGTHS = {"a": 5, "b": 3}


def make_clips(sample_set, root) -> None:
    """Write the clips under ``root`` (a pathlib folder): GT/, BIx4/, GT.lmdb, BIx4.lmdb."""
    names = sorted(os.listdir(sample_set.gt_folder))
    at = 0
    for clip, n in CLIP_LENGTHS.items():
        for f in range(n):
            for role, src in (("GT", sample_set.gt_folder), ("BIx4", sample_set.lq_folder(4))):
                os.makedirs(root / role / clip, exist_ok=True)
                shutil.copy(os.path.join(src, names[at]), root / role / clip / f"{f:08d}.png")
            at += 1
    for role in ("GT", "BIx4"):
        result = CliRunner().invoke(main, ["create-lmdb", str(root / role), str(root / f"{role}.lmdb"),
                                           "--dataset", "reds", "-j", "1"], catch_exceptions=False)
        assert result.exit_code == 0, result.output


def val_options(root, dtype="VideoTestDataset", backend="disk", **extra) -> dict:
    """A Vid4-style val section on the clips (what BasicSR's parse_options hands build_dataset)."""
    suffix = ".lmdb" if backend == "lmdb" else ""
    o = {"name": "Vid4", "type": dtype, "dataroot_gt": str(root / "GT") + suffix,
         "dataroot_lq": str(root / "BIx4") + suffix, "io_backend": {"type": backend}, "cache_data": True,
         "num_frame": 3, "padding": "reflection_circle", "scale": 4, "phase": "val", "num_worker_per_gpu": 1}
    o.update(extra)
    return o
