"""ImageNetPairedDataset on the GPU path (``mixed``): the window's decode (nvJPEG), flips, upscale, MATLAB
downscale and crops on the GPU equal HAT's whole-image reference, as on the CPU.

PNG values are decoded on the CPU under ``mixed`` too (DALI has no GPU PNG decoder), so their items equal the
reference built on OpenCV's decode. nvJPEG's JPEG pixels are not libjpeg's: JPEG items are compared with the
reference built on the GPU's own whole-image decode (what the window must reproduce), and the distance
between nvJPEG's and OpenCV's pixels is printed for the record.
"""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import torch

from dalisr import build_dataloader
from dalisr.formats.codec import shape_if_dali_decodes_as_opencv
from dalisr.prep.sample_imagenet import make_imagenet_sample
from dalisr.sampling import sample_draws, window_anchor
from tests.bicubic_reference import hat_item
from tests.bicubic_support import GT_SIZES, SEED, imagenet_opt, lq_size, max_diff, pairs_beside_reference

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    return make_imagenet_sample(str(tmp_path_factory.mktemp("imagenet")), count=12)


@pytest.fixture(scope="module")
def imagenet_png(imagenet, tmp_path_factory):
    """The same images as 8-bit PNG files (decoded by the CPU under mixed), listed by a meta info file."""
    root = tmp_path_factory.mktemp("imagenet_png")
    lines = []
    with open(imagenet.meta_info_file, encoding="utf-8") as f:
        for line in f:
            rel = line.split()[0]
            img = cv2.imread(os.path.join(imagenet.gt_folder, rel), cv2.IMREAD_COLOR)
            out = root / rel.replace("/", "_").replace(".JPEG", ".png")
            cv2.imwrite(str(out), img)
            lines.append(f"{out.name}\n")
    (root / "meta.txt").write_text("".join(lines))
    return root


def gpu_whole_decode(paths: list[str]) -> dict[str, np.ndarray]:
    """Each file decoded whole by DALI's ``mixed`` decoder (nvJPEG for JPEG), BGR uint8 on the host."""
    from nvidia.dali import fn, pipeline_def, types

    data = [np.fromfile(p, np.uint8) for p in paths]

    @pipeline_def(batch_size=len(data), num_threads=2, device_id=0)
    def pipe():
        return fn.decoders.image(fn.external_source(source=lambda: data, batch=True), device="mixed",
                                 output_type=types.BGR)

    p = pipe()
    p.build()
    (out,) = p.run()
    return {path: np.array(out.as_cpu()[i]) for i, path in enumerate(paths)}


@pytest.mark.parametrize("scale, phase", [(4, "train"), (3, "val"), (2, "train"), (4, "val"), (3, "train")])
def test_png_items_on_the_gpu_equal_hat_reference(imagenet_png, scale, phase):
    class Png:  # the ImageNet sample's layout, over the PNG copies
        gt_folder, meta_info_file = str(imagenet_png), str(imagenet_png / "meta.txt")

    seen = 0
    for path, ours, ref in pairs_beside_reference(imagenet_opt(Png, scale, phase=phase), device="gpu"):
        assert max_diff(ours, ref) <= 1e-5, path
        seen += 1
    assert seen >= 8


def test_jpeg_items_on_the_gpu_equal_the_reference_on_nvjpegs_decode(imagenet):
    opt = imagenet_opt(imagenet, 4)
    batches = []
    with build_dataloader(opt, device="gpu", seed=SEED) as loader:
        for b, batch in enumerate(loader):
            assert batch["gt"].is_cuda and batch["lq"].is_cuda
            batches.append((b, {k: batch[k].cpu().numpy() for k in ("gt", "lq")}, batch["gt_path"]))
        plan = loader.plan
    paths = sorted({p for _, _, ps in batches for p in ps})
    decoded = gpu_whole_decode(paths)
    worst_decode = 0
    for b, tensors, gt_paths in batches:
        for j, path in enumerate(gt_paths):
            data = np.fromfile(path, np.uint8)
            opencv = cv2.imdecode(data, cv2.IMREAD_COLOR)
            img = decoded[path] if shape_if_dali_decodes_as_opencv(data) else opencv  # else dalisr hands on a PNG
            worst_decode = max(worst_decode, int(np.abs(img.astype(int) - opencv).max()))
            fractions, flips = sample_draws(SEED, 0, plan.position(b, j))
            top_left = window_anchor(fractions, *lq_size(*img.shape[:2], 4, GT_SIZES[4]), GT_SIZES[4] // 4)
            ref = hat_item(cv2.imencode(".png", img)[1].tobytes(), scale=4, gt_size=GT_SIZES[4], train=True,
                           top_left=top_left, flips=tuple(int(f) for f in flips))
            assert max_diff({k: tensors[k][j] for k in ("gt", "lq")}, ref) <= 1e-5, path
    print(f"nvJPEG vs OpenCV (libjpeg) decode: max |diff| {worst_decode} levels over {len(paths)} JPEG files")


def test_gpu_batches_hold_cuda_tensors_of_the_cpu_shapes(imagenet):
    with build_dataloader(imagenet_opt(imagenet, 4, color="y"), device="gpu") as loader:
        batch = next(iter(loader))
    assert batch["gt"].device.type == "cuda" and batch["gt"].shape == (4, 1, 256, 256)
    assert batch["lq"].shape == (4, 1, 64, 64) and torch.isfinite(batch["lq"]).all()
