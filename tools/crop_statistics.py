"""Where do the training crops really come from? Crop positions and flips recovered from the batches.

    python tools/crop_statistics.py --sample datasets/sample --iters 150 --seeds 0 1 2

For each loader (dalisr, BasicSR's own) and seed it takes the first --iters
batches of PairedImageDataset x4 crops (the setup of
tools/learning_equivalence.py) and finds each LQ patch in its LQ image (exact
match over the 8 flips/transposes), so the figures describe what the pipeline
delivered, not what it meant to draw. It reports, per loader and seed: the crop
offsets' mean and std (uniform: (room-1)/2 and about room/sqrt(12)), the
Kolmogorov-Smirnov distance from uniform, the 8 orientations' chi-square (7
degrees of freedom: 14.1 is the 5 % level), the lag-1 correlation of offsets
between consecutive samples and between one image's crops in consecutive
epochs, the share of draws (offsets and orientation) equal to the draw at the same
slot of the epoch before, the share of exact crops (the LQ patch found with no differing
value, the GT patch equal to the GT image at scale x the offset in the same
orientation), and how evenly the images were visited. Same prerequisites as
tools/learning_equivalence.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import learning_equivalence as le  # noqa: E402

from dalisr.integrations.basicsr.importing import import_basicsr  # noqa: E402
from dalisr.prep.sample_images import SampleSet  # noqa: E402


def undo(patch: np.ndarray, k: int) -> np.ndarray:
    """Invert BasicSR's augment (hflip, then vflip, then transpose) for orientation
    ``k = hflip + 2 * vflip + 4 * transpose``."""
    if k & 4:
        patch = patch.transpose(1, 0, 2)
    if k & 2:
        patch = patch[::-1, :]
    if k & 1:
        patch = patch[:, ::-1]
    return np.ascontiguousarray(patch)


def locate(patch: np.ndarray, image: np.ndarray) -> tuple[int, int, int, float]:
    """(top, left, orientation, squared difference) of an augmented LQ ``patch`` in its LQ ``image``."""
    best = None
    for k in range(8):
        res = cv2.matchTemplate(image, undo(patch, k), cv2.TM_SQDIFF)
        val, _, loc, _ = cv2.minMaxLoc(res)
        if best is None or val < best[0]:
            best = (val, loc[1], loc[0], k)
    return best[1], best[2], best[3], best[0]


def to_bgr255(x) -> np.ndarray:
    return (x.numpy().transpose(0, 2, 3, 1)[..., ::-1] * 255).round().astype(np.float32)


def crops(loader_name: str, seed: int, args, section: dict, lq_images: dict, gt_images: dict) -> tuple[list, float]:
    """The crops' (image, top, left, orientation), and the share that is exact: the LQ patch found without a
    single differing value and the GT patch equal to the GT image at 4x the offset, in the same orientation."""
    batches = (le.dalisr_batches if loader_name == "dalisr" else le.basicsr_batches)(section, seed)
    found, exact = [], 0
    size = args.gt_size
    for it, batch in enumerate(batches, start=1):
        lq, gt = to_bgr255(batch["lq"]), to_bgr255(batch["gt"])
        for j, path in enumerate(batch["lq_path"]):
            name = os.path.basename(path)
            top, left, k, _ = locate(np.ascontiguousarray(lq[j]), lq_images[name])
            lq_window = lq_images[name][top:top + size // 4, left:left + size // 4]
            gt_window = gt_images[name][top * 4:top * 4 + size, left * 4:left * 4 + size]
            exact += any(np.array_equal(undo(lq[j], o), lq_window) and np.array_equal(undo(gt[j], o), gt_window)
                         for o in range(8))
            found.append((name, top, left, k))
        if it >= args.iters:
            break
    batches.close()
    return found, exact / len(found)


def ks_uniform(values: np.ndarray, room: int) -> float:
    x = np.sort(values)
    cdf = (x + 1) / room
    emp = np.arange(1, len(x) + 1) / len(x)
    return float(np.max(np.abs(emp - cdf)))


def report(name: str, seed: int, found, exact: float, room: int, per_epoch: int) -> None:
    tops = np.array([f[1] for f in found], float)
    lefts = np.array([f[2] for f in found], float)
    orient = Counter(f[3] for f in found)
    expected = len(found) / 8
    chi2 = sum((orient.get(k, 0) - expected) ** 2 / expected for k in range(8))
    lag1 = float(np.corrcoef(tops[:-1], tops[1:])[0, 1])
    # one image's crops in consecutive epochs
    by_epoch: dict[tuple[int, str], float] = {}
    for i, (img, top, _, _) in enumerate(found):
        by_epoch.setdefault((i // per_epoch, img), top)
    pairs = [(t, by_epoch[(e + 1, img)]) for (e, img), t in by_epoch.items() if (e + 1, img) in by_epoch]
    epoch_corr = float(np.corrcoef(*zip(*pairs))[0, 1]) if len(pairs) > 2 else float("nan")
    visits = Counter(f[0] for f in found)
    # the same draw (offsets and orientation) at the same slot of the previous epoch
    draws = [f[1:] for f in found]
    repeats = [draws[i] == draws[i - per_epoch] for i in range(per_epoch, len(draws))]
    repeat = float(np.mean(repeats)) if repeats else float("nan")
    print(f"{name:8} {seed:>4} {len(found):>6} {tops.mean():>6.1f} {tops.std():>5.1f} {lefts.mean():>6.1f} "
          f"{lefts.std():>5.1f} {max(ks_uniform(tops, room), ks_uniform(lefts, room)):>6.3f} {chi2:>7.1f} "
          f"{lag1:>+7.3f} {epoch_corr:>+7.3f} {repeat:>7.1%} {exact:>6.1%} "
          f"{min(visits.values()):>4}..{max(visits.values()):<4}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sample", required=True)
    p.add_argument("--iters", type=int, default=150)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--gt-size", type=int, default=96)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    import_basicsr()
    sample = SampleSet(os.path.abspath(args.sample))
    section = le.train_section(sample, args)
    lq_images = {n: cv2.imread(os.path.join(sample.lq_folder(4), n), cv2.IMREAD_COLOR).astype(np.float32)
                 for n in sorted(os.listdir(sample.lq_folder(4)))}
    gt_images = {n: cv2.imread(os.path.join(sample.gt_folder, n), cv2.IMREAD_COLOR).astype(np.float32)
                 for n in lq_images}
    h = next(iter(lq_images.values())).shape[0]
    room = h - args.gt_size // 4 + 1
    per_epoch = len(lq_images) // args.batch * args.batch
    print(f"{len(lq_images)} images, LQ {h}px, patch {args.gt_size // 4}px: offsets uniform on 0..{room - 1} "
          f"(mean {(room - 1) / 2:.1f}, std {np.sqrt((room ** 2 - 1) / 12):.1f})")
    print(f"{'loader':8} {'seed':>4} {'crops':>6} {'top':>6} {'sd':>5} {'left':>6} {'sd':>5} {'KS':>6} "
          f"{'chi2(8)':>7} {'lag1':>7} {'epoch':>7} {'repeat':>7} {'exact':>6} visits")
    for seed in args.seeds:
        for name in ("dalisr", "basicsr"):
            found, exact = crops(name, seed, args, section, lq_images, gt_images)
            report(name, seed, found, exact, room, per_epoch)


if __name__ == "__main__":
    main()
