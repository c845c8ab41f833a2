"""HAT's ImageNet pretraining data path: HAT's ImageNetPairedDataset in a torch DataLoader vs dalisr's loader.

    .venv/bin/python tools/bench.py --modes imagenet-hat,imagenet-dalisr --repeat 3

Both read the plain ImageNet-like JPEGs of ``dalisr make-sample DATA --imagenet`` (DATA/ImageNet: ImageNet's
sizes, ~45 KB JPEGs; 2 of the 19 shorter than 256 on a side), x4, gt_size 256, batch 16, hflip + rot, on the same
cores (tools/bench.py's --batch, --gt-size and --scale do not apply).

* ``imagenet-hat``: HAT's class semantics, step for step with basicsr's own functions (``imfrombytes``,
  modcrop, ``cv2.resize``, ``matlab_functions.imresize`` of the whole image, ``paired_random_crop``, ``augment``,
  ``img2tensor``), in a DataLoader with ``workers`` workers, drop_last, BasicSR's EnlargedSampler and
  worker seeding; pin_memory and BasicSR's CUDA prefetcher where CUDA is available. The crops are copied
  before ``augment`` (OpenCV 5 refuses basicsr's in-place flip of a view; same pixels, a negligible cost).
* ``imagenet-dalisr``: ``build_dataloader`` on the same options, type ImageNetPairedDataset (the LQ made in the
  DALI graph from the crop window), ``workers`` DALI Python workers; ``imagenet-dalisr-gpu`` under ``mixed``.
"""

from __future__ import annotations

import argparse
import os

from .common import basicsr_importable, device_of, enlarge_ratio, profile_dalisr, run_torch_loader

SCALE, GT_SIZE, BATCH = 4, 256, 16


def sample_paths(data: str) -> tuple[str, str]:
    """(GT folder, meta_info file of its plain JPEGs) of the ImageNet-like sample under ``data``, made on first use.

    The sample holds one of each odd encoding (gray, CMYK, PNG, ...) for the tests; ImageNet holds a few dozen
    in 1.28M (22 CMYK JPEGs, which dalisr re-encodes), so the bench lists the plain JPEGs only.
    """
    from dalisr.prep.sample_imagenet import ODD, ImageNetSample, make_imagenet_sample

    sample = ImageNetSample(os.path.join(data, "ImageNet"))
    if not sample.exists():
        make_imagenet_sample(sample.root)
    plain = os.path.join(sample.root, "meta_info_plain.txt")
    with open(sample.meta_info_file, encoding="utf-8") as f:
        lines = [line for k, line in enumerate(f) if k not in ODD]
    with open(plain, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return sample.gt_folder, plain


class HATImageNetPairs:
    """HAT's ``ImageNetPairedDataset.__getitem__`` (train phase, disk, meta_info_file), with basicsr's functions."""

    def __init__(self, gt_folder: str, meta_info_file: str) -> None:
        with open(meta_info_file, encoding="utf-8") as f:
            self.paths = [os.path.join(gt_folder, line.split(" ")[0].strip()) for line in f if line.strip()]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        import cv2
        import numpy as np
        from basicsr.data.transforms import augment, paired_random_crop
        from basicsr.utils import imfrombytes, img2tensor
        from basicsr.utils.matlab_functions import imresize

        with open(self.paths[index], "rb") as f:
            img_gt = imfrombytes(f.read(), float32=True)
        size_h, size_w, _ = img_gt.shape
        size_h, size_w = size_h - size_h % SCALE, size_w - size_w % SCALE
        img_gt = img_gt[0:size_h, 0:size_w, :]
        img_gt = cv2.resize(img_gt, (max(size_w, GT_SIZE), max(size_h, GT_SIZE)))
        img_lq = imresize(img_gt, 1 / SCALE)
        img_gt = np.ascontiguousarray(img_gt, dtype=np.float32)
        img_lq = np.ascontiguousarray(img_lq, dtype=np.float32)
        img_gt, img_lq = paired_random_crop(img_gt, img_lq, GT_SIZE, SCALE, self.paths[index])
        img_gt, img_lq = augment([img_gt.copy(), img_lq.copy()], True, True)
        img_gt, img_lq = img2tensor([img_gt, img_lq], bgr2rgb=True, float32=True)
        return {"lq": img_lq, "gt": img_gt, "gt_path": self.paths[index]}


def run_hat(args: argparse.Namespace) -> dict:
    basicsr_importable()
    dataset = HATImageNetPairs(*sample_paths(args.data))
    ratio = enlarge_ratio(len(dataset), args.iters + args.warmup + 2, BATCH)
    return run_torch_loader(dataset, batch=BATCH, gt_size=GT_SIZE, workers=args.workers, iters=args.iters,
                            warmup=args.warmup, ratio=ratio)


def run_dalisr(args: argparse.Namespace, device: str) -> dict:
    gt_folder, meta = sample_paths(args.data)
    with open(meta, encoding="utf-8") as f:
        size = sum(1 for line in f if line.strip())
    opt = {"name": "bench", "type": "ImageNetPairedDataset", "dataroot_gt": gt_folder, "meta_info_file": meta,
           "io_backend": {"type": "disk"}, "gt_size": GT_SIZE, "scale": SCALE, "use_hflip": True, "use_rot": True,
           "use_shuffle": True, "batch_size_per_gpu": BATCH, "num_worker_per_gpu": args.workers,
           "dataset_enlarge_ratio": enlarge_ratio(size, args.iters + args.warmup + 2, BATCH), "phase": "train"}
    return profile_dalisr(opt, iters=args.iters, warmup=args.warmup, device=device)


def run(mode: str, args: argparse.Namespace) -> dict:
    """One ``imagenet-*`` mode: ``imagenet-hat``, ``imagenet-dalisr`` or ``imagenet-dalisr-gpu``."""
    if mode == "imagenet-hat":
        return run_hat(args)
    return run_dalisr(args, device_of(mode))
