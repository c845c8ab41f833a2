"""A small repository shaped like HAT, written by the tests: a package registering its own arch, model and
dataset types in BasicSR's registries, a train.py calling basicsr's train_pipeline, and a train_own_loop.py
carrying its own compact copy of the loop (build_dataset, build_dataloader, EnlargedSampler, prefetcher)."""

from __future__ import annotations

import os

from . import write_files

FILES = {
    "toyhat/__init__.py": "",
    "toyhat/archs/__init__.py": '''
from torch import nn
from basicsr.utils.registry import ARCH_REGISTRY


@ARCH_REGISTRY.register()
class ToyNet(nn.Module):
    def __init__(self, num_in_ch=3, num_out_ch=3, num_feat=8, upscale=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), nn.ReLU(),
                                  nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1),
                                  nn.PixelShuffle(upscale))

    def forward(self, x):
        return self.body(x)
''',
    "toyhat/models/__init__.py": '''
import json
import os

import basicsr
from basicsr.models.sr_model import SRModel
from basicsr.utils.registry import MODEL_REGISTRY


def record(**entry):
    with open(os.environ["TOYHAT_RECORD"], "a") as f:
        f.write(json.dumps(entry) + "\\n")


@MODEL_REGISTRY.register()
class ToyHATModel(SRModel):
    """Notes which class trained, on which GT paths, and which loader each val section came from."""

    def feed_data(self, data):
        super().feed_data(data)
        self._paths = list(data.get("gt_path", []))

    def optimize_parameters(self, current_iter):
        super().optimize_parameters(current_iter)
        record(iter=current_iter, paths=self._paths, model=type(self).__module__ + "." + type(self).__name__,
               basicsr=getattr(basicsr, "__version__", None), basicsr_at=os.path.dirname(basicsr.__file__))

    def validation(self, dataloader, current_iter, tb_logger, save_img=False):
        record(val=dataloader.dataset.opt["name"], loader=type(dataloader).__name__,
               dataset=type(dataloader.dataset).__name__)
        super().validation(dataloader, current_iter, tb_logger, save_img)
''',
    "toyhat/data/__init__.py": '''
from torch.utils.data import Dataset
from basicsr.data.paired_image_dataset import PairedImageDataset
from basicsr.utils.registry import DATASET_REGISTRY


@DATASET_REGISTRY.register()
class ToyPairedDataset(PairedImageDataset):
    """The repository's own dataset type: dalisr has no pipeline for it."""


@DATASET_REGISTRY.register()
class RealESRGANDataset(Dataset):
    """A class of the name of one dalisr serves, as HAT registers its own RealESRGANDataset."""
''',
    "toyhat/train.py": '''
import os.path as osp

import toyhat.archs  # noqa: F401
import toyhat.data  # noqa: F401
import toyhat.models  # noqa: F401
from basicsr.train import train_pipeline

if __name__ == "__main__":
    root_path = osp.abspath(osp.join(__file__, osp.pardir, osp.pardir))
    train_pipeline(root_path)
''',
    "toyhat/train_own_loop.py": '''
import math
import os
import os.path as osp

import torch

import toyhat.archs  # noqa: F401
import toyhat.data  # noqa: F401
import toyhat.models  # noqa: F401
from basicsr.data import build_dataloader, build_dataset
from basicsr.data.data_sampler import EnlargedSampler
from basicsr.data.prefetch_dataloader import CPUPrefetcher
from basicsr.models import build_model
from basicsr.utils import check_resume, get_root_logger, make_exp_dirs
from basicsr.utils.options import parse_options


def main(root_path):
    opt, _ = parse_options(root_path, is_train=True)
    states, resume_state = opt["path"]["training_states"], None
    if opt["auto_resume"] and osp.isdir(states) and os.listdir(states):
        last = max(int(f.split(".")[0]) for f in os.listdir(states))
        resume_state = torch.load(osp.join(states, f"{last}.state"), map_location="cpu", weights_only=False)
        check_resume(opt, resume_state["iter"])
    else:
        make_exp_dirs(opt)
    logger = get_root_logger(logger_name="basicsr", log_file=osp.join(opt["path"]["log"], "train.log"))
    val_loaders = []
    for phase, dataset_opt in opt["datasets"].items():
        dataset = build_dataset(dataset_opt)
        if phase == "train":
            sampler = EnlargedSampler(dataset, opt["world_size"], opt["rank"], 1)
            train_loader = build_dataloader(dataset, dataset_opt, num_gpu=opt["num_gpu"], dist=opt["dist"],
                                            sampler=sampler, seed=opt["manual_seed"])
            logger.info("own loop: %d iterations per epoch",
                        math.ceil(len(dataset) / dataset_opt["batch_size_per_gpu"]))
        else:
            val_loaders.append(build_dataloader(dataset, dataset_opt, num_gpu=opt["num_gpu"], dist=opt["dist"],
                                                sampler=None, seed=opt["manual_seed"]))
    model = build_model(opt)
    epoch, current_iter = 0, 0
    if resume_state:
        model.resume_training(resume_state)
        epoch, current_iter = resume_state["epoch"], resume_state["iter"]
        logger.info("own loop: resuming from epoch %d, iter %d", epoch, current_iter)
    prefetcher = CPUPrefetcher(train_loader)
    while current_iter < opt["train"]["total_iter"]:
        sampler.set_epoch(epoch)
        prefetcher.reset()
        data = prefetcher.next()
        while data is not None and current_iter < opt["train"]["total_iter"]:
            current_iter += 1
            model.feed_data(data)
            model.optimize_parameters(current_iter)
            if current_iter % opt["logger"]["save_checkpoint_freq"] == 0:
                model.save(epoch, current_iter)
            if current_iter % opt["val"]["val_freq"] == 0:
                for loader in val_loaders:
                    model.validation(loader, current_iter, None, False)
            data = prefetcher.next()
        epoch += 1


if __name__ == "__main__":
    main(osp.abspath(osp.join(__file__, osp.pardir, osp.pardir)))
''',
}


def make_toyhat(root: str) -> str:
    """Write the repository under ``root``; returns ``root``."""
    write_files(root, FILES)
    return root


def toyhat_with_data(root, sample_set) -> str:
    """The repository under ``root`` with datasets/sample -> the sample set (the options' relative data paths)."""
    make_toyhat(str(root))
    os.makedirs(os.path.join(root, "datasets"))
    os.symlink(sample_set.root, os.path.join(root, "datasets", "sample"))
    return root
