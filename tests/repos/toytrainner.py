"""A small checkout shaped like traiNNer-redux's, written by the tests: a ``traiNNer`` package (no basicsr) and a
``train.py`` with its seams: a strict option reader that refuses unknown keys (as its msgspec schema does), its
``Config`` / ``parse_options``, ``build_dataset`` / ``build_dataloader`` / ``EnlargedSampler`` / prefetchers
imported into train.py by name, its size rule (exactly one of gt_size and lq_size), ``dataset_enlarge_ratio:
auto``, iterations per epoch as it counts them (floor, accum_iter), its auto-resume rule (the newest file ending in
``state`` under ``experiments/NAME/training_states``), ``model.resume_training`` before it reads the epoch, and a
model that saves ``{iter}.state`` and records what it trained on. Written from its code's shape, not copied."""

from __future__ import annotations

import os

from . import write_files

FILES = {
    "traiNNer/__init__.py": "",
    "traiNNer/utils/__init__.py": "",
    "traiNNer/utils/options.py": '''
import argparse
import os
import random
from types import SimpleNamespace

import yaml

TOP = {"name", "scale", "num_gpu", "manual_seed", "datasets", "path", "train", "val", "logger", "network_g"}
SECTION = {"name", "type", "dataroot_gt", "dataroot_lq", "lq_size", "gt_size", "use_hflip", "use_rot",
           "batch_size_per_gpu", "num_worker_per_gpu", "dataset_enlarge_ratio", "accum_iter", "io_backend",
           "prefetch_mode", "pin_memory", "phase", "scale"}


def _ns(value):
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _ns(v) for k, v in value.items()})
    return value


def yaml_load(file_path):
    """Strict, as its msgspec decode: an unknown key anywhere is an error."""
    with open(file_path, encoding="utf-8") as f:
        contents = f.read()
    data = yaml.safe_load(contents)
    for key in data:
        if key not in TOP:
            raise ValueError(f"Object contains unknown field `{key}` - at `$`")
    for name, sec in data.get("datasets", {}).items():
        for key in sec:
            if key not in SECTION:
                raise ValueError(f"Object contains unknown field `{key}` - at `$.datasets.{name}`")
    return data, contents


def parse_options(root_path, is_train=True):
    parser = argparse.ArgumentParser()
    parser.add_argument("-opt", type=str, required=True)
    parser.add_argument("--launcher", default="none")
    parser.add_argument("--auto_resume", action="store_true")
    args = parser.parse_args()
    data, _ = yaml_load(args.opt)
    data.setdefault("manual_seed", random.randint(1024, 10000))
    for name, sec in data["datasets"].items():
        sec["phase"] = name.split("_")[0]
        sec["scale"] = data["scale"]
        for key in ("dataroot_gt", "dataroot_lq"):
            if isinstance(sec.get(key), str):
                sec[key] = [sec[key]]
        sec.setdefault("dataset_enlarge_ratio", "auto")
        sec.setdefault("accum_iter", 1)
        sec.setdefault("prefetch_mode", None)
        sec.setdefault("gt_size", None)
        sec.setdefault("lq_size", None)
    root = os.path.join(root_path, "experiments", data["name"])
    data["path"] = dict(data.get("path") or {}, experiments_root=root, models=os.path.join(root, "models"),
                        training_states=os.path.join(root, "training_states"))
    data["path"].setdefault("resume_state", None)
    opt = _ns(data)
    opt.datasets = {k: _ns(v) for k, v in data["datasets"].items()}
    opt.rank, opt.world_size, opt.dist, opt.auto_resume = 0, 1, False, args.auto_resume
    return opt, args
''',
    "traiNNer/utils/config.py": '''
from traiNNer.utils.options import parse_options


class Config:
    _config = None
    _args = None

    @classmethod
    def load_config_from_file(cls, root_path, is_train=True):
        if cls._config is None:
            cls._config, cls._args = parse_options(root_path, is_train)
        return cls._config, cls._args
''',
    "traiNNer/data/__init__.py": '''
import torch

from traiNNer.data.paired_image_dataset import PairedImageDataset

REGISTRY = {"pairedimagedataset": PairedImageDataset}


def build_dataset(dataset_opt):
    return REGISTRY[dataset_opt.type.lower()](dataset_opt)


def build_dataloader(dataset, dataset_opt, num_gpu=1, dist=False, sampler=None, seed=None):
    if dataset_opt.phase == "train":
        return torch.utils.data.DataLoader(dataset, batch_size=dataset_opt.batch_size_per_gpu, sampler=sampler,
                                           drop_last=True, num_workers=0)
    return torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0)
''',
    "traiNNer/data/paired_image_dataset.py": '''
import os

import cv2
import numpy as np
import torch


class PairedImageDataset:
    """Its pairing by stem (one folder pair is enough here) and whole images; val only in these tests."""

    label = "image pairs"

    def __init__(self, opt):
        self.opt = opt
        gt_dir, lq_dir = opt.dataroot_gt[0], opt.dataroot_lq[0]
        gt = {os.path.splitext(n)[0]: n for n in os.listdir(gt_dir)}
        lq = {os.path.splitext(n)[0]: n for n in os.listdir(lq_dir)}
        self.pairs = [(os.path.join(gt_dir, gt[s]), os.path.join(lq_dir, lq[s])) for s in sorted(gt)]

    def __len__(self):
        return len(self.pairs)

    def __getitem__(self, i):
        def load(path):
            img = cv2.imread(path, cv2.IMREAD_COLOR)[..., ::-1]
            return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).float() / 255

        gt, lq = self.pairs[i]
        return {"gt": load(gt), "lq": load(lq), "gt_path": gt, "lq_path": lq}
''',
    "traiNNer/data/data_sampler.py": '''
import math

import torch
from torch.utils.data.sampler import Sampler


class EnlargedSampler(Sampler):
    def __init__(self, dataset, num_replicas, rank, ratio=1):
        self.dataset, self.num_replicas, self.rank, self.epoch = dataset, num_replicas, rank, 0
        self.num_samples = math.ceil(len(dataset) * ratio / num_replicas)

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.epoch)
        perm = torch.randperm(self.num_samples * self.num_replicas, generator=g).tolist()
        return iter([v % len(self.dataset) for v in perm[self.rank::self.num_replicas]])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = epoch
''',
    "traiNNer/data/prefetch_dataloader.py": '''
class CPUPrefetcher:
    def __init__(self, loader):
        self.ori_loader = loader
        self.loader = iter(loader)

    def next(self):
        try:
            return next(self.loader)
        except StopIteration:
            return None

    def reset(self):
        self.loader = iter(self.ori_loader)


class CUDAPrefetcher(CPUPrefetcher):
    def __init__(self, loader, opt):
        super().__init__(loader)
''',
    "traiNNer/models/__init__.py": '''
import json
import os

import torch


def record(**entry):
    with open(os.environ["TOYTRAINNER_RECORD"], "a") as f:
        f.write(json.dumps(entry) + "\\n")


class ToyModel:
    def __init__(self, opt):
        self.opt = opt
        self.accum_iters = opt.datasets["train"].accum_iter
        self.with_metrics = False

    def feed_data(self, data):
        self.data = data

    def optimize_parameters(self, current_iter, current_accum_iter, apply_gradient):
        d = self.data
        record(iter=current_iter, gt_path=list(d["gt_path"]), lq=float(d["lq"].double().sum()),
               lq_shape=list(d["lq"].shape), gt_shape=list(d["gt"].shape))

    def save(self, epoch, current_iter):
        if current_iter == -1:
            return
        folder = self.opt.path.training_states
        os.makedirs(folder, exist_ok=True)
        torch.save({"epoch": epoch, "iter": current_iter}, os.path.join(folder, f"{current_iter}.state"))

    def resume_training(self, resume_state):
        record(resumed=resume_state["iter"])

    def validation(self, dataloader, current_iter, tb_logger, save_img=False, multi=False):
        record(val=dataloader.dataset.opt.name, loader=type(dataloader).__name__, items=len(dataloader))


def build_model(opt):
    return ToyModel(opt)
''',
    "train.py": '''
import math
import os
from os import path as osp

import torch
from traiNNer.data import build_dataloader, build_dataset
from traiNNer.data.data_sampler import EnlargedSampler
from traiNNer.data.prefetch_dataloader import CPUPrefetcher, CUDAPrefetcher
from traiNNer.models import build_model
from traiNNer.utils.config import Config


def create_train_val_dataloader(opt) -> tuple[object, EnlargedSampler | None, list, int, int]:
    train_loader = train_sampler = None
    val_loaders = []
    for phase, dataset_opt in opt.datasets.items():
        if phase == "train":
            if (dataset_opt.gt_size is None) == (dataset_opt.lq_size is None):
                raise ValueError("Exactly one of gt_size or lq_size must be defined in the train dataset")
            if dataset_opt.gt_size is None:
                dataset_opt.gt_size = dataset_opt.lq_size * opt.scale
            train_set = build_dataset(dataset_opt)
            ratio = dataset_opt.dataset_enlarge_ratio
            if ratio == "auto":
                ratio = max(2000 * dataset_opt.batch_size_per_gpu // len(train_set), 1)
            train_sampler = EnlargedSampler(train_set, opt.world_size, opt.rank, ratio)
            train_loader = build_dataloader(train_set, dataset_opt, num_gpu=opt.num_gpu, dist=opt.dist,
                                            sampler=train_sampler, seed=opt.manual_seed)
            iter_per_epoch = len(train_set) * ratio // (dataset_opt.batch_size_per_gpu * dataset_opt.accum_iter
                                                        * opt.world_size)
            total_iters = int(opt.train.total_iter)
            total_epochs = math.ceil(total_iters / iter_per_epoch)
            print(f"label {train_set.label}; iters per epoch {iter_per_epoch}; total epochs {total_epochs}")
        elif phase.split("_")[0] == "val":
            val_set = build_dataset(dataset_opt)
            val_loaders.append(build_dataloader(val_set, dataset_opt, num_gpu=opt.num_gpu, dist=opt.dist,
                                                sampler=None, seed=opt.manual_seed))
    return train_loader, train_sampler, val_loaders, total_epochs, total_iters


def load_resume_state(opt):
    path = None
    if opt.auto_resume:
        folder = osp.join("experiments", opt.name, "training_states")
        if osp.isdir(folder):
            states = [n for n in os.listdir(folder) if n.endswith("state")]
            if states:
                best = max([int(x) for x in n.split(".state")[0].split("_")] for n in states)
                path = osp.join(folder, f"{'_'.join(str(x) for x in best)}.state")
                opt.path.resume_state = path
    elif opt.path.resume_state:
        path = opt.path.resume_state
    return None if path is None else torch.load(path, map_location="cpu", weights_only=True)


def train_pipeline(root_path):
    opt, args = Config.load_config_from_file(root_path, is_train=True)
    prefetcher: CPUPrefetcher | CUDAPrefetcher | None = None
    resume_state = load_resume_state(opt)
    train_loader, train_sampler, val_loaders, total_epochs, total_iters = create_train_val_dataloader(opt)
    model = build_model(opt)
    if resume_state:
        model.resume_training(resume_state)
        start_epoch, current_iter = resume_state["epoch"], resume_state["iter"]
    else:
        start_epoch, current_iter = 0, 0
    if opt.datasets["train"].prefetch_mode == "cuda":
        prefetcher = CUDAPrefetcher(train_loader, opt)
    else:
        prefetcher = CPUPrefetcher(train_loader)
    accum = 0
    epoch = start_epoch
    for epoch in range(start_epoch, total_epochs + 1):
        train_sampler.set_epoch(epoch)
        prefetcher.reset()
        train_data = prefetcher.next()
        while train_data is not None:
            accum += 1
            apply = accum >= model.accum_iters
            if apply:
                accum = 0
                current_iter += 1
            if current_iter > total_iters:
                break
            model.feed_data(train_data)
            model.optimize_parameters(current_iter, accum, apply)
            if current_iter % opt.logger.save_checkpoint_freq == 0 and apply:
                model.save(epoch, current_iter)
            train_data = prefetcher.next()
    model.save(epoch=-1, current_iter=-1)
    for val_loader in val_loaders:
        model.validation(val_loader, current_iter, None)


if __name__ == "__main__":
    train_pipeline(osp.abspath(osp.join(__file__, osp.pardir)))
''',
}


def write_toytrainner(root: str) -> str:
    """The checkout under ``root``; returns its train.py."""
    write_files(root, FILES)
    return os.path.join(root, "train.py")
