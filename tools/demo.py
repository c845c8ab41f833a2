"""The main job on the bundled sample data: load x4 training batches from the sample LMDBs.

Trains nothing: it runs the loader as a training loop would and prints batches/s.
"""

import argparse
import time

from dalisr import build_dataloader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="pipelines/div2k_x4_lmdb_sample.yml")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    args = parser.parse_args()
    with build_dataloader(args.config, device=args.device) as loader:
        print(f"{args.config}: {len(loader)} batches of {loader.batch_size} per epoch on {loader.device}")
        for epoch in range(args.epochs):
            loader.set_epoch(epoch)
            start, n, batch = time.perf_counter(), 0, None
            for batch in loader:  # noqa: B007 - a training step would use it here
                n += 1
            elapsed = time.perf_counter() - start
            print(f"epoch {epoch}: {n} batches, gt {tuple(batch['gt'].shape)}, lq {tuple(batch['lq'].shape)}, "
                  f"{n / elapsed:.1f} batches/s ({n * loader.batch_size / elapsed:.0f} samples/s)")


if __name__ == "__main__":
    main()
