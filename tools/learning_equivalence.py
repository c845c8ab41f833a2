"""Does a model learn the same from dalisr batches as from BasicSR's own loader? Measured, per seed.

    python tools/learning_equivalence.py                     # sample set x4, 300 iterations, seeds 0 1 2
    python tools/learning_equivalence.py --iters 600 --seeds 0 1 2 3 4

For each seed and each loader it trains BasicSR's MSRResNet (2 blocks, 16
features) with L1 and Adam on the CPU, from the same initial weights, on
``PairedImageDataset`` x4 crops of the sample set (``dalisr make-sample``, made
in a temporary folder unless --sample names one), and reports the validation
PSNR (BasicSR's calculate_psnr, crop_border 4, RGB) on the first --val images
at the start, half-way and at the end. The data seed is the loader's seed
(dalisr's ``seed``; for BasicSR's loader ``set_random_seed`` plus its
``worker_init_fn``, as basicsr/train.py does with ``manual_seed``); the model's
initial weights come from ``--init-seed`` (default: the same as the data seed).

``--init-seed N`` fixes the initial weights for every run, separating what the
data does from what the initialisation does. Needs basicsr (pip install -e
'.[basicsr]'); where no torchvision imports (CPU torch), put tests/stubs on
PYTHONPATH (a test-only stand-in for the few names basicsr imports).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch
from torch import nn

from dalisr import build_dataloader
from dalisr.integrations.basicsr.importing import import_basicsr
from dalisr.prep.sample_images import SampleSet, make_sample_set


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", default=None, help="sample set folder (default: make one in a temporary folder)")
    p.add_argument("--iters", type=int, default=300)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--init-seed", type=int, default=None, help="same initial weights for every run")
    p.add_argument("--loaders", nargs="+", default=["dalisr", "basicsr"], choices=["dalisr", "basicsr"])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--gt-size", type=int, default=96)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--num-feat", type=int, default=16)
    p.add_argument("--val", type=int, default=8, help="validate on the first N sample images (whole)")
    p.add_argument("--workers", type=int, default=1)
    return p.parse_args()


def train_section(sample: SampleSet, args: argparse.Namespace) -> dict:
    return {"name": "sample", "type": "PairedImageDataset", "phase": "train", "scale": 4,
            "dataroot_gt": sample.gt_folder, "dataroot_lq": sample.lq_folder(4), "filename_tmpl": "{}",
            "io_backend": {"type": "disk"}, "gt_size": args.gt_size, "use_hflip": True, "use_rot": True,
            "use_shuffle": True, "num_worker_per_gpu": args.workers, "batch_size_per_gpu": args.batch,
            "dataset_enlarge_ratio": 1}


def val_pairs(sample: SampleSet, count: int) -> list[tuple[torch.Tensor, np.ndarray]]:
    import cv2

    names = sorted(os.listdir(sample.gt_folder))[:count]
    pairs = []
    for name in names:
        gt = cv2.imread(os.path.join(sample.gt_folder, name), cv2.IMREAD_COLOR)
        lq = cv2.imread(os.path.join(sample.lq_folder(4), name), cv2.IMREAD_COLOR)
        lq_t = torch.from_numpy(lq[:, :, ::-1].transpose(2, 0, 1).copy()).float().div(255).unsqueeze(0)
        pairs.append((lq_t, gt))
    return pairs


@torch.no_grad()
def validate(model: nn.Module, pairs) -> float:
    from basicsr.metrics import calculate_psnr
    from basicsr.utils import tensor2img

    model.eval()
    psnrs = [calculate_psnr(tensor2img(model(lq)), gt, crop_border=4) for lq, gt in pairs]
    model.train()
    return float(np.mean(psnrs))


def basicsr_batches(section: dict, seed: int):
    """BasicSR's own PairedImageDataset, EnlargedSampler and DataLoader, epoch after epoch."""
    from basicsr.data import build_dataloader as basicsr_dataloader
    from basicsr.data import build_dataset
    from basicsr.data.data_sampler import EnlargedSampler
    from basicsr.utils import set_random_seed

    set_random_seed(seed)
    dataset = build_dataset(section)
    sampler = EnlargedSampler(dataset, 1, 0, section["dataset_enlarge_ratio"])
    loader = basicsr_dataloader(dataset, section, num_gpu=0, dist=False, sampler=sampler, seed=seed)
    epoch = 0
    while True:
        sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


def dalisr_batches(section: dict, seed: int):
    loader = build_dataloader(section, device="cpu", seed=seed)
    try:
        while True:
            yield from loader
    finally:
        loader.close()


def run(loader_name: str, seed: int, args, section, pairs) -> list[float]:
    from basicsr.archs.srresnet_arch import MSRResNet

    torch.manual_seed(seed if args.init_seed is None else args.init_seed)
    model = MSRResNet(num_feat=args.num_feat, num_block=2, upscale=4)
    optim = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    batches = (dalisr_batches if loader_name == "dalisr" else basicsr_batches)(section, seed)
    checkpoints = {0, args.iters // 2, args.iters}
    psnrs = [validate(model, pairs)]
    for it, batch in enumerate(batches, start=1):
        loss = nn.functional.l1_loss(model(batch["lq"]), batch["gt"])
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if it in checkpoints:
            psnrs.append(validate(model, pairs))
        if it >= args.iters:
            break
    batches.close()
    return psnrs


def main() -> None:
    args = parse_args()
    import_basicsr()
    torch.set_num_threads(max(1, (os.cpu_count() or 2)))
    with tempfile.TemporaryDirectory() as tmp:
        if args.sample:
            sample = SampleSet(os.path.abspath(args.sample))
        else:
            print("making the sample set ...", file=sys.stderr, flush=True)
            sample = make_sample_set(os.path.join(tmp, "sample"))
        section = train_section(sample, args)
        pairs = val_pairs(sample, args.val)
        print(f"MSRResNet nf={args.num_feat} nb=2 x4, batch {args.batch} of {args.gt_size}px, lr {args.lr}, "
              f"{args.iters} iterations, val on {len(pairs)} images; init seed "
              f"{'= data seed' if args.init_seed is None else args.init_seed}")
        print(f"{'loader':8} {'seed':>4} {'PSNR start':>10} {'half':>8} {'end':>8} {'gain':>7} {'time s':>7}")
        finals: dict[str, list[float]] = {name: [] for name in args.loaders}
        for seed in args.seeds:
            for name in args.loaders:
                start = time.perf_counter()
                p = run(name, seed, args, section, pairs)
                finals[name].append(p[-1])
                print(f"{name:8} {seed:>4} {p[0]:>10.3f} {p[1]:>8.3f} {p[-1]:>8.3f} {p[-1] - p[0]:>+7.3f} "
                      f"{time.perf_counter() - start:>7.1f}", flush=True)
        for name, values in finals.items():
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            print(f"{name}: final PSNR mean {statistics.mean(values):.3f} dB, std {spread:.3f} dB, "
                  f"range {min(values):.3f}..{max(values):.3f} over seeds {args.seeds}")
        if len(finals) == 2:
            a, b = (finals[n] for n in args.loaders)
            pooled = statistics.stdev(a + b) if len(a + b) > 2 else 0.0
            print(f"difference of means ({args.loaders[0]} - {args.loaders[1]}): "
                  f"{statistics.mean(a) - statistics.mean(b):+.3f} dB; pooled std across seeds {pooled:.3f} dB")


if __name__ == "__main__":
    main()
