"""traiNNer-redux's paired training data path: its own PairedImageDataset and DataLoader vs dalisr on the same data.

    .venv/bin/python tools/bench.py --modes trainner-paired,trainner-dalisr,trainner-dalisr-seek,\
trainner-paired-16,trainner-dalisr-16 --iters 20 --warmup 3 --workers 2 --repeat 2

Options as traiNNer-redux's SPAN_S template (options/_templates/train/SPAN/SPAN_S_fidelity.yml):
``pairedimagedataset``, x4, ``lq_size: 64`` (gt_size 256), use_hflip/use_rot true, batch 16 (tools/bench.py's
--batch, --gt-size and --scale do not apply), ``num_worker_per_gpu`` = --workers. The data: the sample set's
DIV2K GT folder (480 x 480 PNGs) and its x4 LQ folder (120 x 120), read as traiNNer-redux folders (pairs by stem).

* ``trainner-paired``: traiNNer-redux's own code, imported from a checkout (``DALISR_TRAINNER_SRC``, default
  /tmp/trainner/src where it exists): its options built with msgspec as its ``ReduxOptions`` (train.py's size rule
  applied: gt_size = lq_size * scale), its ``Config`` singleton holding them and ``set_random_seed`` as its train.py
  does before building, ``build_dataset`` (its ``PairedImageDataset``, pyvips), its ``EnlargedSampler`` and its
  ``build_dataloader`` (batch 16, drop_last, persistent workers, prefetch_factor 2, its ``worker_init_fn`` seeding
  ``random``, numpy and its ``RNG`` per worker), read through its ``CPUPrefetcher`` (the template's prefetch_mode
  ~); where CUDA is available each batch is then copied to the GPU as its ``SRModel.feed_data`` does. The result's
  ``source`` names the class, its file and the pyvips/libvips versions, so a slow figure can be checked to be its
  own pyvips path.
* ``trainner-dalisr``: dalisr's ``build_dataloader`` on the same folders and options (dialect recognised from the
  lower-case type), through dalisr's profiler; ``trainner-dalisr-seek``: on png-seek LMDB copies of the folders,
  made on first use with ``dalisr create-lmdb IN OUT.lmdb --dataset folder --codec png-seek`` (keys: file names
  without extension; GT and LQ pair by key) under --work-dir/trainner.
* ``-16``: the same on 16-bit PNG copies (value * 257 plus a little noise, so the low byte is real), made under
  --work-dir/trainner with OpenCV; dalisr with ``bit_depth: 16``. ``-gpu``: dalisr under DALI's GPU path.

The copies and LMDBs are remade when older than their source files.

How its dataset was run here (a CPU machine, torch's CPU build): its requirements that its data path imports were
installed into the venv (``pip install msgspec rich tensorboard safetensors``; pyvips and pyvips-binary were there;
these are not dalisr's dependencies). torch's CPU build has no torchvision on PyPI, so where ``import torchvision``
fails the child puts tests/stubs first on sys.path (as ``common.basicsr_importable`` does): traiNNer-redux's data
modules import only ``torchvision.utils.make_grid`` and ``transforms.functional.normalize`` /
``rgb_to_grayscale`` from it, which the stand-in has; ``source`` says which torchvision was used. A missing
module ends the child with a message naming it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import zlib

from .common import ROOT, device_of, enlarge_ratio, measure, profile_dalisr

SCALE, LQ_SIZE, BATCH, SEED = 4, 64, 16, 1024
GT_SIZE = LQ_SIZE * SCALE
DEFAULT_SRC = "/tmp/trainner/src"
#: what its data path imports that a bare venv lacks: module -> the distribution to install
NEEDS = {"msgspec": "msgspec", "rich": "rich", "tensorboard": "tensorboard", "pyvips": "pyvips pyvips-binary",
         "cv2": "opencv-python", "safetensors": "safetensors"}


# -- the data ----------------------------------------------------------------------------------------------------------
def sample_folders(data: str) -> tuple[str, str]:
    """(GT folder, x4 LQ folder) of the sample set: DIV2K_train_HR_sub and DIV2K_train_LR_bicubic/X4_sub."""
    gt = os.path.join(data, "DIV2K_train_HR_sub")
    lq = os.path.join(data, "DIV2K_train_LR_bicubic", f"X{SCALE}_sub")
    for folder in (gt, lq):
        if not os.path.isdir(folder):
            raise SystemExit(f"{folder} is missing: the trainner-* modes read the sample set's PNG folders. Make them "
                             f"with: dalisr make-sample {data}")
    return gt, lq


def _images(folder: str) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.lower().endswith(".png") and not n.startswith("."))


def _newest(folder: str) -> float:
    """The newest mtime of the folder and its images (a removed file changes the folder's)."""
    return max([os.path.getmtime(folder)] + [os.path.getmtime(os.path.join(folder, n)) for n in _images(folder)])


def ensure_16bit(src: str, dst: str) -> str:
    """A 16-bit PNG copy of every PNG of ``src`` in ``dst`` (value * 257 plus noise in [-96, 96]), each remade when
    older than its source; files of ``dst`` without a source are removed."""
    import cv2
    import numpy as np

    os.makedirs(dst, exist_ok=True)
    names = _images(src)
    for stale in set(os.listdir(dst)) - set(names):
        os.remove(os.path.join(dst, stale))
    made = 0
    for name in names:
        s, d = os.path.join(src, name), os.path.join(dst, name)
        if os.path.isfile(d) and os.path.getmtime(d) >= os.path.getmtime(s):
            continue
        img = cv2.imread(s, cv2.IMREAD_UNCHANGED)
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        wide = img.astype(np.int32) * 257 + rng.integers(-96, 97, img.shape, dtype=np.int32)
        ok, buf = cv2.imencode(".png", np.clip(wide, 0, 65535).astype(np.uint16))
        assert ok, s
        part = os.path.join(os.path.dirname(dst), ".part16.png")  # outside the folder: no stray file if stopped
        with open(part, "wb") as f:
            f.write(buf.tobytes())
        os.replace(part, d)
        made += 1
    if made:
        print(f"wrote {made} 16-bit PNG copies in {dst}", file=sys.stderr)
    return dst


def ensure_seek_lmdb(src: str, dst: str) -> str:
    """``dalisr create-lmdb src dst --dataset folder --codec png-seek``, remade when older than ``src``'s files."""
    mdb = os.path.join(dst, "data.mdb")
    if os.path.isfile(mdb) and os.path.getmtime(mdb) >= _newest(src):
        return dst
    cmd = [sys.executable, "-m", "dalisr", "create-lmdb", src, dst, "--dataset", "folder", "--codec", "png-seek",
           "--overwrite"]
    print(f"making {dst}: {' '.join(cmd[2:])}", file=sys.stderr)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    if subprocess.run(cmd, cwd=ROOT, stdout=sys.stderr).returncode != 0:  # stdout is the bench's JSON line
        raise SystemExit(f"dalisr create-lmdb failed on {src} (its message above)")
    return dst


def folders_of(mode: str, args: argparse.Namespace) -> tuple[str, str]:
    """(GT, LQ) roots ``mode`` reads: the sample folders, their 16-bit copies, or png-seek LMDBs of either."""
    gt, lq = sample_folders(args.data)
    work = os.path.join(args.work_dir, "trainner")
    wide = "-16" in mode
    if wide:
        gt = ensure_16bit(gt, os.path.join(work, "gt16"))
        lq = ensure_16bit(lq, os.path.join(work, f"lq16_x{SCALE}"))
    if "-seek" in mode:
        tag = "16" if wide else ""
        gt = ensure_seek_lmdb(gt, os.path.join(work, f"gt{tag}_png-seek.lmdb"))
        lq = ensure_seek_lmdb(lq, os.path.join(work, f"lq{tag}_x{SCALE}_png-seek.lmdb"))
    return gt, lq


def pair_count(gt: str) -> int:
    if gt.endswith(".lmdb"):
        with open(os.path.join(gt, "meta_info.txt"), encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    return len(_images(gt))


# -- traiNNer-redux's own data path ------------------------------------------------------------------------------------
def trainner_checkout() -> str:
    """The traiNNer-redux checkout to import: ``DALISR_TRAINNER_SRC``, else /tmp/trainner/src where it exists."""
    src = os.environ.get("DALISR_TRAINNER_SRC") or (DEFAULT_SRC if os.path.isdir(DEFAULT_SRC) else None)
    if not src:
        raise SystemExit("trainner-paired runs traiNNer-redux's own PairedImageDataset, from a checkout: set "
                         "DALISR_TRAINNER_SRC to a clone of github.com/the-database/traiNNer-redux (the folder holding "
                         f"train.py and traiNNer/); {DEFAULT_SRC} does not exist")
    if not os.path.isfile(os.path.join(src, "traiNNer", "data", "paired_image_dataset.py")):
        raise SystemExit(f"DALISR_TRAINNER_SRC={src} holds no traiNNer/data/paired_image_dataset.py: point it at the "
                         "traiNNer-redux checkout's root (the folder with train.py)")
    return os.path.abspath(src)


def torchvision_in_use() -> str:
    """The real torchvision where it imports, else tests/stubs first on sys.path; says which."""
    try:
        import torchvision

        return f"torchvision {torchvision.__version__}"
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        sys.path.insert(0, os.path.join(ROOT, "tests", "stubs"))
        return "torchvision: dalisr's tests/stubs stand-in (make_grid, normalize, rgb_to_grayscale)"


def import_trainner(src: str) -> dict:
    """Its modules the bench uses, from ``src``; a missing requirement ends the child naming it."""
    if src not in sys.path:
        sys.path.insert(0, src)
    try:
        import msgspec
        from traiNNer.data import build_dataloader, build_dataset
        from traiNNer.data.data_sampler import EnlargedSampler
        from traiNNer.data.prefetch_dataloader import CPUPrefetcher
        from traiNNer.utils.config import Config
        from traiNNer.utils.misc import set_random_seed
        from traiNNer.utils.redux_options import ReduxOptions
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        root = (missing or "").split(".")[0]
        hint = f"pip install {NEEDS[root]}" if root in NEEDS else "install the checkout's requirements (pyproject.toml)"
        raise SystemExit(f"traiNNer-redux's data modules in {src} do not import: {exc} (missing: {missing}). Fix: "
                         f"{hint} into this venv (they are traiNNer-redux's requirements, not dalisr's)") from None
    import traiNNer

    if not os.path.abspath(traiNNer.__file__).startswith(src + os.sep):
        raise SystemExit(f"'traiNNer' imported from {traiNNer.__file__}, not from {src}: another copy is installed")
    return {"msgspec": msgspec, "build_dataloader": build_dataloader, "build_dataset": build_dataset,
            "EnlargedSampler": EnlargedSampler, "CPUPrefetcher": CPUPrefetcher, "Config": Config,
            "set_random_seed": set_random_seed, "ReduxOptions": ReduxOptions}


def commit_of(src: str) -> str:
    try:
        out = subprocess.run(["git", "-C", src, "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown commit"
    except (OSError, subprocess.SubprocessError):
        return "unknown commit"


def run_trainner(mode: str, args: argparse.Namespace) -> dict:
    """traiNNer-redux's PairedImageDataset in its own DataLoader, as its train.py builds the train loader."""
    import inspect

    import torch

    from dalisr.diagnose.proc_monitor import ProcessMonitor, children
    from dalisr.diagnose.profile import GpuMemory

    src = trainner_checkout()
    tv = torchvision_in_use()
    t = import_trainner(src)
    gt, lq = folders_of(mode, args)
    cuda = torch.cuda.is_available()
    size = pair_count(gt)
    ratio = enlarge_ratio(size, args.warmup + args.iters + 2 + 2 * args.workers, BATCH)  # + what its workers queue
    workers = args.workers
    train = {"name": "Train Dataset", "type": "pairedimagedataset", "dataroot_gt": [gt], "dataroot_lq": [lq],
             "lq_size": LQ_SIZE, "use_hflip": True, "use_rot": True, "num_worker_per_gpu": workers,
             "batch_size_per_gpu": BATCH, "accum_iter": 1, "dataset_enlarge_ratio": ratio}
    if workers == 0:  # PyTorch refuses prefetch_factor / persistent_workers without workers
        train.update(prefetch_factor=None, persistent_workers=False)
    opts = t["msgspec"].convert({"name": "bench", "scale": SCALE, "num_gpu": 1 if cuda else 0, "manual_seed": SEED,
                                 "path": {}, "datasets": {"train": train}}, t["ReduxOptions"], strict=True)
    dataset_opt = opts.datasets["train"]
    # what its parse_options and train.py do before the dataset is built
    dataset_opt.phase, dataset_opt.scale = "train", opts.scale
    dataset_opt.gt_size = dataset_opt.lq_size * opts.scale
    opts.rank, opts.world_size, opts.dist = 0, 1, False
    t["Config"]._config, t["Config"]._args = opts, argparse.Namespace(auto_resume=False)
    t["set_random_seed"](opts.manual_seed + opts.rank)

    gpu = GpuMemory(0 if cuda else None)
    with contextlib.redirect_stdout(sys.stderr):  # its rich logger: stdout carries the bench's JSON line
        dataset = t["build_dataset"](dataset_opt)
    sampler = t["EnlargedSampler"](dataset, opts.world_size, opts.rank, ratio)
    loader = t["build_dataloader"](dataset, dataset_opt, num_gpu=opts.num_gpu, dist=opts.dist, sampler=sampler,
                                   seed=opts.manual_seed)
    prefetcher = t["CPUPrefetcher"](loader)
    sampler.set_epoch(0)
    prefetcher.reset()  # as its loop does at the epoch's start

    def next_batch() -> dict:
        batch = prefetcher.next()
        if batch is None:
            raise RuntimeError("traiNNer-redux's loader ran out within one epoch: raise the enlarge ratio")
        if cuda:  # its SRModel.feed_data
            batch = {k: v.to("cuda", non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
        return batch

    monitor = ProcessMonitor(lambda: children())
    for _ in range(args.warmup):
        first = next_batch()
    result = {**measure(next_batch, monitor, iters=args.iters, batch=BATCH, gt_size=GT_SIZE,
                        device="cuda" if cuda else "cpu", gpu=gpu), **gpu.report()}
    import pyvips

    cls = type(dataset)
    libvips = ".".join(str(pyvips.version(i)) for i in range(3))
    result["source"] = (f"traiNNer-redux {commit_of(src)}: {cls.__module__}.{cls.__qualname__} from "
                        f"{inspect.getfile(cls)}, in its {type(loader).__module__}.{type(loader).__name__} via "
                        f"{t['build_dataloader'].__module__}.build_dataloader ({len(dataset)} pairs, ratio {ratio}); "
                        f"pyvips {pyvips.__version__}, libvips {libvips}; "
                        f"{tv}")
    if args.warmup:
        result["gt_dtype_range"] = [str(first["gt"].dtype), float(first["gt"].max())]
    return result


# -- dalisr ------------------------------------------------------------------------------------------------------------
def run_dalisr(mode: str, args: argparse.Namespace) -> dict:
    """dalisr's build_dataloader on the same options (traiNNer-redux's dialect), through dalisr's profiler."""
    gt, lq = folders_of(mode, args)
    size = pair_count(gt)
    opt = {"name": "Train Dataset", "type": "pairedimagedataset", "dataroot_gt": [gt], "dataroot_lq": [lq],
           "scale": SCALE, "lq_size": LQ_SIZE, "use_hflip": True, "use_rot": True, "batch_size_per_gpu": BATCH,
           "num_worker_per_gpu": args.workers, "accum_iter": 1,
           "dataset_enlarge_ratio": enlarge_ratio(size, args.warmup + args.iters + 2, BATCH), "phase": "train"}
    if "-seek" in mode:
        opt["io_backend"] = {"type": "lmdb"}
    if "-16" in mode:
        opt["bit_depth"] = 16
    runtime = {}
    if args.num_threads:
        runtime["num_threads"] = args.num_threads
    if args.prefetch:
        runtime["prefetch_queue_depth"] = args.prefetch
    return profile_dalisr(opt, iters=args.iters, warmup=args.warmup, device=device_of(mode), runtime=runtime or None)


def run(mode: str, args: argparse.Namespace) -> dict:
    """One ``trainner-*`` mode: ``trainner-paired[-16]`` (its own code) or ``trainner-dalisr[-seek][-16][-gpu]``."""
    if mode.startswith("trainner-paired"):
        return run_trainner(mode, args)
    return run_dalisr(mode, args)
