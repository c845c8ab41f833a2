"""VideoTestDataset and VideoRecurrentTestDataset on clips made from the sample photos.

The clips of tests/video_clips.py, as folders of clip folders and as LMDBs. Batches
are checked frame by frame against BasicSR's read_img_seq (cv2.imread,
RGB, CHW, /255) and its frame-index rules.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import os

import numpy as np
import pytest
import torch

from dalisr import DalisrError, build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.datasets.video_val import PADDINGS, frame_indices
from tests import reference as ref
from tests.video_clips import CLIP_LENGTHS, make_clips, val_options


@pytest.fixture(scope="module")
def clips(sample_set, tmp_path_factory):
    root = tmp_path_factory.mktemp("vid")
    make_clips(sample_set, root)
    return root


def frame(root, role, clip, f):
    """BasicSR's read_img_seq of one frame: cv2.imread, BGR->RGB, CHW, float32 / 255."""
    return ref.img2tensor(ref.imdecode(open(os.path.join(root, role, clip, f"{f:08d}.png"), "rb").read()))


def same(actual, expected) -> None:
    """Equal pixels: DALI scales by 1/255 where BasicSR divides, so floats differ in the last bit only."""
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-6)


opt = val_options


def run(o) -> list[dict]:
    loader = build_dataloader(o, device="cpu", seed=0)
    batches = list(loader)
    loader.close()
    return batches


# -- frame indices -----------------------------------------------------------------------------------------------
# independent of BasicSR's code: its docstring's examples and hand-worked ends of a 7-frame clip
EXPECTED = {
    ("replicate", 0, 7, 5): [0, 0, 0, 1, 2], ("reflection", 0, 7, 5): [2, 1, 0, 1, 2],
    ("reflection_circle", 0, 7, 5): [4, 3, 0, 1, 2], ("circle", 0, 7, 5): [3, 4, 0, 1, 2],
    ("replicate", 6, 7, 5): [4, 5, 6, 6, 6], ("reflection", 6, 7, 5): [4, 5, 6, 5, 4],
    ("reflection_circle", 6, 7, 5): [4, 5, 6, 3, 2], ("circle", 6, 7, 5): [4, 5, 6, 2, 3],
    ("reflection", 1, 7, 7): [2, 1, 0, 1, 2, 3, 4], ("reflection_circle", 1, 7, 7): [6, 5, 0, 1, 2, 3, 4],
    ("circle", 5, 7, 7): [2, 3, 4, 5, 6, 0, 1], ("replicate", 3, 7, 3): [2, 3, 4],
}


def basicsr_generate_frame_indices():
    """BasicSR's own generate_frame_indices: imported, or (where its torchvision imports fail) its source run alone."""
    try:
        from basicsr.data.data_util import generate_frame_indices

        return generate_frame_indices
    except ImportError:
        pass
    spec = importlib.util.find_spec("basicsr")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("basicsr is not installed")
    path = os.path.join(list(spec.submodule_search_locations)[0], "data", "data_util.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "generate_frame_indices")
    namespace: dict = {}
    exec(compile(ast.Module(body=[node], type_ignores=[]), path, "exec"), namespace)
    return namespace["generate_frame_indices"]


def test_frame_indices_independent_table():
    for (padding, centre, count, num), expected in EXPECTED.items():
        assert frame_indices(centre, count, num, padding) == expected, (padding, centre, count, num)


def test_frame_indices_equal_basicsrs_for_every_centre_and_mode():
    generate = basicsr_generate_frame_indices()
    for padding in PADDINGS:
        for num in (1, 3, 5, 7):
            for count in range(num, 12):
                for centre in range(count):
                    assert frame_indices(centre, count, num, padding) == generate(centre, count, num, padding)


# -- VideoTestDataset --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["reflection_circle", "replicate"])
def test_video_test_batches_per_frame(clips, padding):
    batches = run(opt(clips, padding=padding))
    assert len(batches) == sum(CLIP_LENGTHS.values())
    at = 0
    for clip, n in CLIP_LENGTHS.items():
        for f in range(n):
            batch = batches[at]
            at += 1
            assert batch["folder"] == [clip] and batch["idx"] == [f"{f}/{n}"]
            assert batch["border"] == [int(f < 1 or f >= n - 1)]
            assert batch["lq_path"] == [os.path.join(str(clips / "BIx4"), clip, f"{f:08d}.png")]
            assert tuple(batch["gt"].shape) == (1, 3, 480, 480) and tuple(batch["lq"].shape) == (1, 3, 3, 120, 120)
            same(batch["gt"][0].numpy(), frame(clips, "GT", clip, f))
            for t, j in enumerate(frame_indices(f, n, 3, padding)):
                same(batch["lq"][0, t].numpy(), frame(clips, "BIx4", clip, j))


def test_video_test_lmdb_and_memcached_give_the_disk_batches(clips, memcached):
    disk = run(opt(clips))
    lmdb = run(opt(clips, backend="lmdb"))
    server = memcached()
    cached = run(opt(clips, io_backend={"type": "memcached", "servers": [server.address]}))
    for a, b, c in zip(disk, lmdb, cached):
        assert torch.equal(a["lq"], b["lq"]) and torch.equal(a["gt"], b["gt"])
        assert torch.equal(a["lq"], c["lq"]) and torch.equal(a["gt"], c["gt"])
        assert a["folder"] == b["folder"] == c["folder"] and a["idx"] == b["idx"] and a["border"] == b["border"]
        assert b["lq_path"] == [a["folder"][0] + "/" + os.path.basename(a["lq_path"][0])[:-4]]  # LMDB: the key
        assert c["lq_path"] == a["lq_path"]


def test_video_test_clip_list_and_errors(clips, tmp_path):
    meta = tmp_path / "meta.txt"
    meta.write_text("b 3 (480,480,3)\n")
    dataset = build_dataset(load_dataset_options(opt(clips, meta_info_file=str(meta))))[0]
    assert len(dataset) == 3 and dataset.name(0) == "b/0"
    with pytest.raises(DalisrError, match="too few for num_frame 5"):
        build_dataset(load_dataset_options(opt(clips, num_frame=5)))
    with pytest.raises(DalisrError, match="padding"):
        load_dataset_options(opt(clips, padding="zeros"))
    with pytest.raises(DalisrError, match="odd"):
        build_dataset(load_dataset_options(opt(clips, num_frame=4)))
    (tmp_path / "GT" / "a").mkdir(parents=True)
    with pytest.raises(DalisrError, match="different number of images"):
        build_dataset(load_dataset_options(opt(clips, dataroot_gt=str(tmp_path / "GT"))))


# -- VideoRecurrentTestDataset -----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["disk", "lmdb"])
def test_video_recurrent_test_whole_clips(clips, backend, caplog):
    with caplog.at_level(logging.INFO, logger="dalisr"):
        batches = run(opt(clips, "VideoRecurrentTestDataset", backend=backend, num_frame=-1))
    assert "cache_data is ignored" in caplog.text
    assert [b["folder"] for b in batches] == [["a"], ["b"]]
    for batch, (clip, n) in zip(batches, CLIP_LENGTHS.items()):
        assert set(batch) == {"lq", "gt", "folder"}
        assert tuple(batch["lq"].shape) == (1, n, 3, 120, 120) and tuple(batch["gt"].shape) == (1, n, 3, 480, 480)
        assert batch["lq"].is_contiguous()
        for f in range(n):
            same(batch["gt"][0, f].numpy(), frame(clips, "GT", clip, f))
            same(batch["lq"][0, f].numpy(), frame(clips, "BIx4", clip, f))


def test_video_recurrent_test_batch_of_unequal_clips_is_refused(clips):
    with pytest.raises(DalisrError, match="batch_size_per_gpu.*different lengths"):
        build_dataset(load_dataset_options(opt(clips, "VideoRecurrentTestDataset", batch_size_per_gpu=2)))


def test_one_frame_windows_stay_sequences(clips):
    """num_frame 1: LQ is still T x C x H x W (T = 1), as BasicSR's read_img_seq stacks it."""
    batch = run(opt(clips, num_frame=1))[0]
    assert tuple(batch["lq"].shape) == (1, 1, 3, 120, 120) and tuple(batch["gt"].shape) == (1, 3, 480, 480)
    same(batch["lq"][0, 0], frame(clips, "BIx4", "a", 0))
