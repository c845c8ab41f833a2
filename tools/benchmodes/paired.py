"""Paired LMDB modes: the decode limit, BasicSR's PairedImageDataset path (baseline), dalisr on the same LMDBs.

``limit`` decodes every GT + LQ pair whole with ``cv2.imdecode`` on one core,
times the cores; ``baseline`` is BasicSR's training path re-implemented (not
copied) in a torch DataLoader; ``dalisr-png``, ``-png-seek``, ``-png-dali``,
``-raw``, ``-jp2`` (and ``-gpu``) are dalisr's loader on the PNG LMDBs or on
copies in another codec, made with ``dalisr.prep.convert`` on first use.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

from .common import DEFAULT_DATA, device_of, enlarge_ratio, profile_dalisr, run_torch_loader

#: converted copies of the sample LMDBs the codec modes read: mode prefix -> codec
CODEC_MODES = {"dalisr-raw": "raw", "dalisr-jp2": "jp2", "dalisr-png-seek": "png-seek"}


# -- the data ----------------------------------------------------------------------------------------------------------
def lmdb_paths(data: str, scale: int) -> tuple[str, str]:
    return (os.path.join(data, "DIV2K_train_HR_sub.lmdb"),
            os.path.join(data, f"DIV2K_train_LR_bicubic_X{scale}_sub.lmdb"))


def ensure_sample(data: str) -> None:
    """The sample set made in the default place when absent; another folder without LMDBs ends the run."""
    if os.path.isfile(os.path.join(data, "DIV2K_train_HR_sub.lmdb", "data.mdb")):
        return
    if os.path.abspath(data) != DEFAULT_DATA:
        sys.exit(f"{data} holds no DIV2K_train_HR_sub.lmdb. Make it with: dalisr make-sample {data}")
    print(f"making the sample set in {data} (dalisr make-sample)", file=sys.stderr)
    from dalisr.prep.sample_images import make_sample_set

    make_sample_set(data)


def ensure_codec(data: str, scale: int, work: str, codec: str) -> tuple[str, str]:
    """``codec`` copies of the GT and LQ LMDBs under ``work``, remade when the PNG ones are newer."""
    from dalisr.prep.convert import convert_lmdb

    os.makedirs(work, exist_ok=True)
    out = []
    for src, name in zip(lmdb_paths(data, scale), (f"gt_{codec}.lmdb", f"lq_x{scale}_{codec}.lmdb")):
        dst = os.path.join(work, name)
        fresh = os.path.isfile(os.path.join(dst, "data.mdb")) and \
            os.path.getmtime(os.path.join(dst, "data.mdb")) >= os.path.getmtime(os.path.join(src, "data.mdb"))
        if not fresh:
            print(f"converting {src} -> {dst} ({codec} codec)", file=sys.stderr)
            convert_lmdb(src, dst, codec, workers=os.cpu_count() or 1, overwrite=True)
        out.append(dst)
    return out[0], out[1]


def keys_of(lmdb_path: str) -> list[str]:
    """Keys as BasicSR's paired_paths_from_lmdb takes them: meta_info.txt's first token before the dot."""
    with open(os.path.join(lmdb_path, "meta_info.txt"), encoding="utf-8") as f:
        return [line.split(".")[0] for line in f if line.strip()]


# -- limit -------------------------------------------------------------------------------------------------------------
def run_limit(args: argparse.Namespace) -> dict:
    """Whole-image decodes of every pair on one core, repeated for ``--limit-seconds``; the median pass, x cores."""
    import cv2
    import lmdb
    import numpy as np

    cv2.setNumThreads(1)
    gt_path, lq_path = lmdb_paths(args.data, args.scale)
    keys = keys_of(lq_path)
    pairs = []
    envs = [lmdb.open(p, readonly=True, lock=False, readahead=False) for p in (gt_path, lq_path)]
    with envs[0].begin() as tg, envs[1].begin() as tl:
        for k in keys:
            pairs.append((bytes(tg.get(k.encode())), bytes(tl.get(k.encode()))))
    for g, _ in pairs[:4]:  # warm up
        cv2.imdecode(np.frombuffer(g, np.uint8), cv2.IMREAD_COLOR)
    times = []
    deadline = time.perf_counter() + args.limit_seconds
    while time.perf_counter() < deadline or len(times) < 3:
        start = time.perf_counter()
        for g, q in pairs:
            cv2.imdecode(np.frombuffer(g, np.uint8), cv2.IMREAD_COLOR)
            cv2.imdecode(np.frombuffer(q, np.uint8), cv2.IMREAD_COLOR)
        times.append(time.perf_counter() - start)
    per_pair = statistics.median(times) / len(pairs)
    cores = os.cpu_count() or 1
    return {"samples_per_s": cores / per_pair, "one_core_samples_per_s": 1 / per_pair,
            "cpu_ms_per_sample": 1000 * per_pair, "cores": cores, "passes": len(times), "pairs": len(pairs)}


# -- baseline: BasicSR's training data path ----------------------------------------------------------------------------
class PairedLmdbDataset:
    """BasicSR's PairedImageDataset (lmdb backend, train phase), re-implemented from its documented behaviour."""

    def __init__(self, gt_path: str, lq_path: str, scale: int, gt_size: int) -> None:
        self.gt_path, self.lq_path, self.scale, self.gt_size = gt_path, lq_path, scale, gt_size
        gt_keys, self.keys = keys_of(gt_path), keys_of(lq_path)
        assert gt_keys == self.keys, "GT and LQ LMDBs list different keys"
        self.envs = None  # opened lazily in each worker, as BasicSR's FileClient

    def __len__(self) -> int:
        return len(self.keys)

    def _get(self, role: str, key: str) -> bytes:
        import lmdb

        if self.envs is None:
            self.envs = {r: lmdb.open(p, readonly=True, lock=False, readahead=False)
                         for r, p in (("gt", self.gt_path), ("lq", self.lq_path))}
        with self.envs[role].begin(write=False) as txn:
            return txn.get(key.encode("ascii"))

    @staticmethod
    def imfrombytes(content: bytes):
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
        return img.astype(np.float32) / 255.0

    def paired_random_crop(self, img_gt, img_lq, key: str) -> tuple:
        scale, gt_size = self.scale, self.gt_size
        h_lq, w_lq = img_lq.shape[:2]
        h_gt, w_gt = img_gt.shape[:2]
        lq_patch = gt_size // scale
        if h_gt != h_lq * scale or w_gt != w_lq * scale:
            raise ValueError(f"Scale mismatches. GT ({h_gt}, {w_gt}) is not {scale}x multiplication of LQ "
                             f"({h_lq}, {w_lq}).")
        if h_lq < lq_patch or w_lq < lq_patch:
            raise ValueError(f"LQ ({h_lq}, {w_lq}) is smaller than patch size ({lq_patch}, {lq_patch}). "
                             f"Please remove {key}.")
        top = random.randint(0, h_lq - lq_patch)
        left = random.randint(0, w_lq - lq_patch)
        img_lq = img_lq[top:top + lq_patch, left:left + lq_patch, ...]
        top_gt, left_gt = int(top * scale), int(left * scale)
        img_gt = img_gt[top_gt:top_gt + gt_size, left_gt:left_gt + gt_size, ...]
        return img_gt, img_lq

    @staticmethod
    def augment(imgs: list, hflip: bool = True, rotation: bool = True) -> list:
        import cv2

        hflip = hflip and random.random() < 0.5
        vflip = rotation and random.random() < 0.5
        rot90 = rotation and random.random() < 0.5

        def _augment(img):
            if hflip:
                cv2.flip(img, 1, img)
            if vflip:
                cv2.flip(img, 0, img)
            if rot90:
                img = img.transpose(1, 0, 2)
            return img

        return [_augment(img) for img in imgs]

    @staticmethod
    def img2tensor(img):
        import cv2
        import torch

        if img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        return torch.from_numpy(img.transpose(2, 0, 1)).float()

    def __getitem__(self, index: int) -> dict:
        key = self.keys[index]
        img_gt = self.imfrombytes(self._get("gt", key))
        img_lq = self.imfrombytes(self._get("lq", key))
        img_gt, img_lq = self.paired_random_crop(img_gt, img_lq, key)
        img_gt, img_lq = self.augment([img_gt, img_lq], True, True)
        return {"lq": self.img2tensor(img_lq), "gt": self.img2tensor(img_gt), "lq_path": key, "gt_path": key}


def run_baseline(args: argparse.Namespace) -> dict:
    dataset = PairedLmdbDataset(*lmdb_paths(args.data, args.scale), args.scale, args.gt_size)
    return run_torch_loader(dataset, batch=args.batch, gt_size=args.gt_size, workers=args.workers, iters=args.iters,
                            warmup=args.warmup, ratio=enlarge_ratio(len(dataset), args.warmup + args.iters + 2,
                                                                    args.batch))


# -- dalisr ------------------------------------------------------------------------------------------------------------
def run_dalisr(args: argparse.Namespace, mode: str) -> dict:
    """dalisr's PairedImageDataset on the PNG LMDBs, or on the codec copy that ``mode`` names."""
    codec = next((c for prefix, c in CODEC_MODES.items() if mode.startswith(prefix)), None)
    if codec:
        gt, lq = ensure_codec(args.data, args.scale, args.work_dir, codec)
    else:
        gt, lq = lmdb_paths(args.data, args.scale)
    size = len(keys_of(lq))
    opt = {"name": "bench", "type": "PairedImageDataset", "dataroot_gt": gt, "dataroot_lq": lq,
           "io_backend": {"type": "lmdb"}, "gt_size": args.gt_size, "scale": args.scale, "use_hflip": True,
           "use_rot": True, "use_shuffle": True, "batch_size_per_gpu": args.batch, "num_worker_per_gpu": args.workers,
           "dataset_enlarge_ratio": enlarge_ratio(size, args.warmup + args.iters + 2, args.batch), "phase": "train"}
    runtime = {"png_window": not mode.startswith("dalisr-png-dali")}
    if args.num_threads:
        runtime["num_threads"] = args.num_threads
    elif not runtime["png_window"]:  # DALI decodes here: give it the threads build.runtime_options gives DALI decoding
        runtime["num_threads"] = max(1, min(4, os.cpu_count() or 2))
    if args.prefetch:
        runtime["prefetch_queue_depth"] = args.prefetch
    return profile_dalisr(opt, iters=args.iters, warmup=args.warmup, device=device_of(mode), runtime=runtime)


def run(mode: str, args: argparse.Namespace) -> dict:
    """One paired mode, with tools/bench.py's --scale, --gt-size, --batch, --workers, --iters, --warmup."""
    if mode == "limit":
        return run_limit(args)
    if mode == "baseline":
        return run_baseline(args)
    return run_dalisr(args, mode)
