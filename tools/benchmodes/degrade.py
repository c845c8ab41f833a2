"""Real-ESRGAN's degradation: dalisr's loader (degraded in the DALI graph) vs BasicSR's ``feed_data``.

    .venv/bin/python tools/bench.py --modes realesrgan-dalisr,degrade-dalisr,degrade-basicsr --workers 2

Every side uses Real-ESRNet x4plus's options (``pipelines/realesrnet_x4plus_sample.yml``: gt_size 256,
batch 12 as Real-ESRGAN's files, scale 4) on the same GT images (the sample set's GT LMDB, crop-or-pad 400);
tools/bench.py's --batch and --gt-size do not apply.

* ``degrade-basicsr``: ``RealESRNetModel.feed_data`` of Real-ESRGAN (its real code, the synthesis branch:
  USM, two orders of blur / resize / noise / DiffJPEG, final sinc + resize + JPEG, clamp / round, paired
  crop) run with torch on the CPU with ``torch.set_num_threads(workers)``, on GT + kernel batches made
  beforehand by dalisr's RealESRGANDataset loader (loading is not timed: this is the degradation alone).
  It is called on a stand-in ``self`` (device cpu, its DiffJPEG and USMSharp; the 180-pair pool is left
  out, as it allocates on CUDA and only copies tensors; ``filter2D`` gets contiguous input, see
  ``_feed_data``). Real-ESRGAN's ``realesrnet_model.py`` comes from the ``realesrgan`` package when
  installed (tools/setup.sh installs it), else from a checkout named by $DALISR_REALESRGAN_SRC; torchvision from
  tests/stubs where the real one does not import (CPU torch).
  ``degrade-basicsr-gpu``: the same on CUDA, where Real-ESRGAN's training runs it (the batches are moved to the
  GPU beforehand; the figure is GPU time, synchronised before and after the timed batches).
* ``degrade-dalisr``: dalisr's loader with ``degradation:`` on (reading, crop-or-pad, kernels, the whole
  degradation and the crop) with ``workers`` DALI Python workers and as many DALI threads; the noise fields
  where dalisr puts them by default (``noise: auto``: the graph on a GPU, the source on a CPU).
  ``degrade-dalisr-graph``: ``noise: graph`` forced (the GPU's choice, measured on the CPU);
  ``degrade-dalisr-source-gpu``: ``noise: source`` forced on the GPU (the behaviour before the graph drew them).
* ``realesrgan-dalisr``: dalisr's loader on the same options without degradation (RealESRGANDataset: the GT
  crop-or-pad and three kernels): the "degradation off" reference of the workers' CPU per sample.
* ``tools/bench.py --strength [--data DATA]``: not a speed figure; both sides degrade the same GT
  squares (96 samples) and the distributions of PSNR(LQ, area-downscaled GT) are compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
import types

from .common import ROOT, basicsr_importable, device_of, enlarge_ratio, profile_dalisr
from .paired import keys_of

OPTIONS = os.path.join(ROOT, "pipelines", "realesrnet_x4plus_sample.yml")
GT_SIZE, BATCH = 256, 12
#: dalisr modes of this family: mode without ``-gpu`` -> the ``noise`` placement (None: no degradation)
DALISR_NOISE = {"realesrgan-dalisr": None, "degrade-dalisr": "auto", "degrade-dalisr-graph": "graph",
                "degrade-dalisr-source": "source"}


def options(data: str, workers: int, noise: str | None, enlarge: int) -> dict:
    """The Real-ESRNet sample option file pointed at ``data``'s GT LMDB, train section only.

    ``noise`` None: RealESRGANDataset alone (GT and kernels); else ``degradation:`` on, the noise fields drawn
    where ``noise`` says (``auto``, ``graph`` or ``source``).
    """
    import yaml

    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    train = opt["datasets"]["train"]
    train.update(dataroot_gt=os.path.join(data, "DIV2K_train_HR_sub.lmdb"), batch_size_per_gpu=BATCH,
                 num_worker_per_gpu=workers, num_threads=max(1, workers), dataset_enlarge_ratio=enlarge)
    if noise is not None:
        train["degradation"] = True if noise == "auto" else {"noise": noise}
    opt["datasets"] = {"train": train}
    opt["gt_size"] = GT_SIZE
    return opt


def _feed_data():
    """Real-ESRGAN's ``RealESRNetModel.feed_data`` (the function, unbound).

    On the CPU, torch's reflect padding keeps DiffJPEG's non-contiguous
    output layout and BasicSR's ``filter2D`` then fails on ``.view``; the
    module's ``filter2D`` is wrapped to pass a contiguous tensor (same values).
    """
    try:
        from realesrgan.models import realesrnet_model as mod
    except ImportError:
        src = os.environ.get("DALISR_REALESRGAN_SRC", "")
        path = os.path.join(src, "realesrgan", "models", "realesrnet_model.py")
        if not os.path.exists(path):
            raise SystemExit(f"degrade-basicsr needs Real-ESRGAN: pip install realesrgan, or set "
                             f"DALISR_REALESRGAN_SRC to a checkout ({path} is absent)") from None
        spec = importlib.util.spec_from_file_location("_realesrnet_model", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    filter2d = mod.filter2D
    mod.filter2D = lambda img, kernel: filter2d(img.contiguous(), kernel)
    return mod.RealESRNetModel.feed_data


def _model_self(opt: dict, device) -> types.SimpleNamespace:
    """A stand-in ``self`` for ``feed_data``: its options, device, DiffJPEG and USMSharp; no pair pool."""
    from basicsr.utils import DiffJPEG, USMSharp

    return types.SimpleNamespace(opt={k: v for k, v in opt.items() if k != "datasets"}, device=device, is_train=True,
                                 jpeger=DiffJPEG(differentiable=False).to(device), usm_sharpener=USMSharp().to(device),
                                 _dequeue_and_enqueue=lambda: None)


def run_basicsr(data: str, workers: int, iters: int, warmup: int, device: str = "cpu") -> dict:
    """``feed_data`` timed alone; ``device`` "gpu": on CUDA, as in Real-ESRGAN's training (batches moved first)."""
    import torch

    from dalisr import build_dataloader
    from dalisr.diagnose.profile import GpuMemory

    basicsr_importable()
    cuda = device == "gpu"
    torch.set_num_threads(max(1, workers))
    feed_data = _feed_data()
    opt = options(data, workers, noise=None, enlarge=4)
    loader = build_dataloader(opt, device="cpu")
    batches = []
    for b in loader:  # a few distinct GT + kernel batches, reused
        batches.append({k: b[k] for k in ("gt", "kernel1", "kernel2", "sinc_kernel")})
        if len(batches) == 4:
            break
    loader.close()
    target = torch.device("cuda" if cuda else "cpu")
    gpu = GpuMemory(0 if cuda else None)
    if cuda:
        batches = [{k: v.to(target) for k, v in b.items()} for b in batches]
    me = _model_self(opt, target)

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    for i in range(warmup):
        feed_data(me, batches[i % len(batches)])
    sync()
    cpu0, start = time.process_time(), time.perf_counter()
    for i in range(iters):
        feed_data(me, batches[i % len(batches)])
        gpu.sample()
    sync()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    assert tuple(me.lq.shape) == (BATCH, 3, GT_SIZE // 4, GT_SIZE // 4)
    samples = iters * BATCH
    return {"samples_per_s": samples / wall, "wall_s": wall, "cpu_ms_per_sample": 1000 * cpu / samples,
            "device": device, "workers": workers, "torch_threads": torch.get_num_threads(), **gpu.report()}


def run_dalisr(data: str, workers: int, iters: int, warmup: int, noise: str | None, device: str = "cpu") -> dict:
    """dalisr's loader on the Real-ESRNet options, degradation off (``noise`` None) or on with that noise placement."""
    size = len(keys_of(os.path.join(data, "DIV2K_train_HR_sub.lmdb")))
    opt = options(data, workers, noise=noise, enlarge=enlarge_ratio(size, iters + warmup + 2, BATCH))
    return profile_dalisr(opt, iters=iters, warmup=warmup, device=device)


def run(mode: str, args: argparse.Namespace) -> dict:
    """One mode of this family (``degrade-*``, ``realesrgan-*``) with tools/bench.py's --data, --workers, --iters."""
    device = device_of(mode)
    base = mode.removesuffix("-gpu")
    if base == "degrade-basicsr":
        return run_basicsr(args.data, args.workers, args.iters, args.warmup, device=device)
    return run_dalisr(args.data, args.workers, args.iters, args.warmup, DALISR_NOISE[base], device=device)


def _psnr_to_downscale(lq, gt) -> list[float]:
    """Per sample: PSNR of the LQ against the area downscale of its GT patch (how strong the degradation is)."""
    import torch

    down = torch.nn.functional.interpolate(gt.float(), size=lq.shape[-2:], mode="area")
    mse = ((lq.float() - down) ** 2).flatten(1).mean(1).clamp_min(1e-10)
    return (10 * torch.log10(1 / mse)).tolist()


def strength(data: str, batches: int = 8) -> dict:
    """The same GT images degraded by both sides: the distribution of PSNR(LQ, downscaled GT).

    Different random numbers on each side, the same distributions: the means and spreads should agree
    if every step is wired as Real-ESRGAN's (a wrong noise scale, order or resize would shift them).
    """
    import torch

    from dalisr import build_dataloader

    basicsr_importable()
    feed_data = _feed_data()
    torch.manual_seed(0)  # feed_data draws with torch's and numpy's global generators: a reproducible figure
    import numpy as np

    np.random.seed(0)
    enlarge = batches * BATCH // 8 + 2  # every side alike: the same seed, the same 400 px GT squares
    opt = options(data, 0, noise=None, enlarge=enlarge)
    me = _model_self(opt, torch.device("cpu"))
    theirs: list[float] = []
    with build_dataloader(opt, device="cpu") as loader:
        for _, b in zip(range(batches), loader):
            feed_data(me, {k: b[k] for k in ("gt", "kernel1", "kernel2", "sinc_kernel")})
            theirs += _psnr_to_downscale(me.lq, me.gt)
    ours: dict[str, list[float]] = {}
    for noise in ("source", "graph"):  # the CPU's placement of the noise fields and the GPU's
        ours[noise] = []
        with build_dataloader(options(data, 2, noise=noise, enlarge=enlarge), device="cpu") as loader:
            for _, b in zip(range(batches), loader):
                ours[noise] += _psnr_to_downscale(b["lq"], b["gt"])

    def summary(v: list[float]) -> dict:
        return {"n": len(v), "mean_db": round(statistics.mean(v), 2), "sd_db": round(statistics.stdev(v), 2),
                "quartiles_db": [round(q, 2) for q in statistics.quantiles(v, n=4)]}

    return {"basicsr_feed_data": summary(theirs), **{f"dalisr_noise_{k}": summary(v) for k, v in ours.items()}}
