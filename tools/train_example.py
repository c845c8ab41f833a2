"""A tiny SR training loop on dalisr, for one process or many (torchrun, DDP).

    torchrun --nproc_per_node 2 tools/train_example.py --config pipelines/div2k_x4_lmdb_sample.yml

Each rank builds the loader (its shard comes from torch.distributed), trains
a small ESPCN-style model, and can checkpoint and resume mid-epoch: the model,
the optimizer and every rank's loader position. ``--log-samples`` records
which samples each rank saw, which the tests use to check the sharding.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
import torch.distributed as dist
from torch import nn

from dalisr import build_dataloader


class TinySR(nn.Module):
    """Three convolutions and a pixel shuffle: enough to show the loop, small enough for a CPU."""

    def __init__(self, scale: int, channels: int = 3, width: int = 16) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 5, padding=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="pipelines/div2k_x4_lmdb_sample.yml", help="BasicSR dataset options (YAML)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "gpu"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint", default=None, help="where to save at the end (or at --stop-after)")
    p.add_argument("--resume", default=None, help="a checkpoint to resume from, mid-epoch")
    p.add_argument("--stop-after", type=int, default=None, help="stop (and checkpoint) after this many iterations")
    p.add_argument("--log-samples", default=None, help="append each rank's batches as JSON lines to this file")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    distributed = "WORLD_SIZE" in os.environ  # under torchrun, even with one process (NCCL on one GPU)
    use_cuda = args.device == "gpu" or (args.device == "auto" and torch.cuda.is_available())
    if distributed:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    rank = dist.get_rank() if distributed else 0
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if use_cuda:
        torch.cuda.set_device(local_rank)
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    torch.manual_seed(args.seed)

    loader = build_dataloader(args.config, device="gpu" if use_cuda else "cpu", seed=args.seed)
    scale = loader.spec.scale
    model = TinySR(scale).to(device)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None)
    optim = torch.optim.Adam(model.parameters(), lr=2e-4)
    if args.resume:
        state = torch.load(args.resume, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        loader.load_state_dict(state["loaders"][rank])
    log = open(f"{args.log_samples}.rank{rank}", "a") if args.log_samples else None

    iters, start = 0, time.perf_counter()
    stopped = False
    while loader.epoch < args.epochs and not stopped:
        epoch = loader.epoch
        for batch in loader:
            lq, gt = batch["lq"].to(device, non_blocking=True), batch["gt"].to(device, non_blocking=True)
            loss = nn.functional.l1_loss(model(lq), gt)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            iters += 1
            if log:
                log.write(json.dumps({"rank": rank, "epoch": epoch, "batch": loader.batch - 1,
                                      "paths": batch["gt_path"]}) + "\n")
            if rank == 0 and iters % 10 == 0:
                print(f"epoch {epoch} iter {iters} loss {loss.item():.4f}", flush=True)
            if args.stop_after is not None and iters >= args.stop_after:
                stopped = True
                break
    elapsed = time.perf_counter() - start
    if log:
        log.close()
    if args.checkpoint:
        states = [None] * (dist.get_world_size() if distributed else 1)
        if distributed:
            dist.all_gather_object(states, loader.state_dict())
        else:
            states[0] = loader.state_dict()
        if rank == 0:
            torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "loaders": states}, args.checkpoint)
    if rank == 0:
        print(f"done: {iters} iterations in {elapsed:.1f}s on rank 0 ({iters / max(elapsed, 1e-9):.1f} it/s)",
              flush=True)
    loader.close()
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
