"""CPU time per training crop for each way dalisr can get a PNG window, in one process (robust to a loaded machine).

    .venv/bin/python tools/bench_png_windows.py                  # the sample set, x4, gt_size 128
    .venv/bin/python tools/bench_png_windows.py --rows-per-segment 8,16,32

Each sample is a GT window (gt_size) and its LQ window (gt_size / scale) at random places, as training cuts
them. Ways: ``cv2.imdecode`` of whole values then slicing (BasicSR, the limit), dalisr's row decoder on the
PNG values (rows from the top), and on ``png-seek`` copies (rows from the restart above the window), one
line per rows-per-segment value. CPU seconds (``time.process_time``), best of ``--repeat`` passes.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main() -> None:
    import cv2
    import numpy as np

    from dalisr.formats.inflate import BACKEND
    from dalisr.formats.png_seek import encode_png_seek
    from dalisr.sources.window_decode import decode_png_window
    from dalisr.storage import LmdbStore

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(ROOT, "datasets", "sample"))
    p.add_argument("--scale", type=int, default=4)
    p.add_argument("--gt-size", type=int, default=128)
    p.add_argument("--samples", type=int, default=400)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--rows-per-segment", default="16")
    args = p.parse_args()
    cv2.setNumThreads(1)
    gt, lq = (LmdbStore(os.path.join(args.data, name)) for name in
              ("DIV2K_train_HR_sub.lmdb", f"DIV2K_train_LR_bicubic_X{args.scale}_sub.lmdb"))
    keys = [e.key for e in gt.meta()]
    png = [(gt.get(k), lq.get(k)) for k in keys]
    rng = random.Random(0)
    draws = [(rng.random(), rng.random()) for _ in range(args.samples)]
    patch = args.gt_size // args.scale
    sizes = [cv2.imdecode(np.frombuffer(q, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] for _, q in png]

    def windows(pairs):
        for i, (fy, fx) in enumerate(draws):
            g, q = pairs[i % len(pairs)]
            h, w = sizes[i % len(pairs)]
            top, left = int(fy * (h - patch + 1)), int(fx * (w - patch + 1))
            yield g, top * args.scale, left * args.scale, args.gt_size
            yield q, top, left, patch

    def run(label, fn, pairs):
        jobs = list(windows(pairs))
        best = float("inf")
        for _ in range(args.repeat):
            start = time.process_time()
            for buf, top, left, size in jobs:
                fn(buf, top, left, size)
            best = min(best, time.process_time() - start)
        print(f"{label:<44} {1e6 * best / len(draws):8.0f} us CPU per sample", flush=True)

    def whole(buf, top, left, size):
        return cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_COLOR)[top:top + size, left:left + size]

    def rows(buf, top, left, size):
        return decode_png_window(buf, top, left, size, size)

    print(f"{len(png)} GT/LQ pairs from {args.data}, x{args.scale}, gt_size {args.gt_size}, {args.samples} samples; "
          f"inflate: {BACKEND}; load average {os.getloadavg()[0]:.2f}")
    run("cv2.imdecode whole + slice (BasicSR)", whole, png)
    run("row decoder, PNG values (rows from the top)", rows, png)
    for k in (int(v) for v in args.rows_per_segment.split(",")):
        seek = [tuple(encode_png_seek(cv2.imdecode(np.frombuffer(v, np.uint8), cv2.IMREAD_UNCHANGED), 1, k)
                      for v in pair) for pair in png]
        size = sum(len(a) + len(b) for a, b in seek) / sum(len(a) + len(b) for a, b in png)
        run(f"row decoder, png-seek k={k} ({size:.4f}x the bytes)", rows, seek)


if __name__ == "__main__":
    main()
