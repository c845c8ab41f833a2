"""Real-ESRGAN's degradation: dalisr's loader (degraded in the DALI graph) vs BasicSR's ``feed_data`` on the CPU.

    .venv/bin/python tools/bench.py --modes degrade-basicsr,degrade-dalisr --workers 2

Both sides use Real-ESRNet x4plus's options (``pipelines/realesrnet_x4plus_sample.yml``: gt_size 256,
batch 12 as Real-ESRGAN's files, scale 4) on the same GT images (the sample set's GT LMDB, crop-or-pad 400).

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
* ``python tools/bench_degrade.py strength [DATA]``: not a speed figure; both sides degrade the same GT
  squares (96 samples) and the distributions of PSNR(LQ, area-downscaled GT) are compared.
* ``degrade-dalisr``: dalisr's loader with ``degradation: true`` (reading, crop-or-pad, kernels, the whole
  degradation and the crop) with ``workers`` DALI Python workers and as many DALI threads.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIONS = os.path.join(ROOT, "pipelines", "realesrnet_x4plus_sample.yml")
GT_SIZE, BATCH = 256, 12


def options(data: str, workers: int, degrade: bool, enlarge: int) -> dict:
    """The Real-ESRNet sample option file pointed at ``data``'s GT LMDB, train section only."""
    import yaml

    with open(OPTIONS, encoding="utf-8") as f:
        opt = yaml.safe_load(f)
    train = opt["datasets"]["train"]
    train.update(dataroot_gt=os.path.join(data, "DIV2K_train_HR_sub.lmdb"), batch_size_per_gpu=BATCH,
                 num_worker_per_gpu=workers, num_threads=max(1, workers), dataset_enlarge_ratio=enlarge)
    if degrade:
        train["degradation"] = True
    opt["datasets"] = {"train": train}
    opt["gt_size"] = GT_SIZE
    return opt


def _basicsr_importable() -> None:
    """torchvision from tests/stubs where the real one does not import; dalisr's functional_tensor alias."""
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.path.insert(0, os.path.join(ROOT, "tests", "stubs"))
    from dalisr.integrations.basicsr.importing import register_functional_tensor_alias

    register_functional_tensor_alias()


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


def run_basicsr(data: str, workers: int, iters: int, warmup: int, device: str = "cpu") -> dict:
    """``feed_data`` timed alone; ``device`` "gpu": on CUDA, as in Real-ESRGAN's training (batches moved first)."""
    import torch

    from dalisr import build_dataloader
    from dalisr.diagnose.profile import GpuMemory

    _basicsr_importable()
    from basicsr.utils import DiffJPEG, USMSharp

    cuda = device == "gpu"
    torch.set_num_threads(max(1, workers))
    feed_data = _feed_data()
    opt = options(data, workers, degrade=False, enlarge=4)
    loader = build_dataloader(opt, device="cpu")
    batches = []
    for b in loader:  # a few distinct GT + kernel batches, reused
        batches.append({k: b[k] for k in ("gt", "kernel1", "kernel2", "sinc_kernel")})
        if len(batches) == 4:
            break
    loader.close()
    model_opt = {k: v for k, v in opt.items() if k != "datasets"}
    target = torch.device("cuda" if cuda else "cpu")
    gpu = GpuMemory(0 if cuda else None)
    if cuda:
        batches = [{k: v.to(target) for k, v in b.items()} for b in batches]
    me = types.SimpleNamespace(opt=model_opt, device=target, is_train=True,
                               jpeger=DiffJPEG(differentiable=False).to(target), usm_sharpener=USMSharp().to(target),
                               _dequeue_and_enqueue=lambda: None)

    def sync():
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


def run_dalisr(data: str, workers: int, iters: int, warmup: int, device: str = "cpu") -> dict:
    from dalisr.diagnose.profile import profile_loader

    opt = options(data, workers, degrade=True, enlarge=(iters + warmup + 2) * BATCH // 8 + 1)
    r = profile_loader(opt, iters=iters, warmup=warmup, device=device).to_dict()
    return {"samples_per_s": r["samples_per_s"], "wall_s": r["wall_s"],
            "cpu_ms_per_sample": r["stages"]["cpu_ms_per_sample"], "peak_rss_mb": r["memory"]["peak_rss_mb"],
            "device": device, "workers": r["cpu"]["workers"], "gpu_used_mb": r["memory"]["gpu_used_mb"],
            "gpu_torch_peak_mb": r["memory"]["gpu_torch_peak_mb"]}


def run_mode(mode: str, data: str, workers: int, iters: int, warmup: int) -> dict:
    device = "gpu" if mode.endswith("-gpu") else "cpu"
    if mode.startswith("degrade-basicsr"):
        return run_basicsr(data, workers, iters, warmup, device=device)
    return run_dalisr(data, workers, iters, warmup, device=device)


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
    import statistics

    import torch

    from dalisr import build_dataloader

    _basicsr_importable()
    from basicsr.utils import DiffJPEG, USMSharp

    feed_data = _feed_data()
    opt = options(data, 0, degrade=False, enlarge=batches * BATCH // 8 + 2)
    me = types.SimpleNamespace(opt={k: v for k, v in opt.items() if k != "datasets"}, device=torch.device("cpu"),
                               is_train=True, jpeger=DiffJPEG(differentiable=False), usm_sharpener=USMSharp(),
                               _dequeue_and_enqueue=lambda: None)
    theirs, ours = [], []
    with build_dataloader(opt, device="cpu") as loader:  # the same seed: the same 400 px GT squares
        for _, b in zip(range(batches), loader):
            feed_data(me, {k: b[k] for k in ("gt", "kernel1", "kernel2", "sinc_kernel")})
            theirs += _psnr_to_downscale(me.lq, me.gt)
    with build_dataloader(options(data, 2, degrade=True, enlarge=batches * BATCH // 8 + 2), device="cpu") as loader:
        for _, b in zip(range(batches), loader):
            ours += _psnr_to_downscale(b["lq"], b["gt"])

    def summary(v):
        return {"n": len(v), "mean_db": round(statistics.mean(v), 2), "sd_db": round(statistics.stdev(v), 2),
                "quartiles_db": [round(q, 2) for q in statistics.quantiles(v, n=4)]}

    return {"basicsr_feed_data": summary(theirs), "dalisr": summary(ours)}


if __name__ == "__main__":
    import json

    data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "datasets", "sample")
    if sys.argv[1] == "strength":  # python tools/bench_degrade.py strength [DATA]
        print(json.dumps(strength(data)))
    else:
        print(json.dumps(run_mode(sys.argv[1], data, int(os.environ.get("WORKERS", "2")), 5, 1)))
