"""The val set of BasicSR's video models, indexed as they index it, read through dalisr's stores.

BasicSR's video models (``VideoBaseModel`` and its subclasses EDVRModel,
VideoGANModel, VideoRecurrentModel, VideoRecurrentGANModel) do not iterate
their val loader: ``dist_validation`` reads ``len(dataset)``, ``dataset[i]``
for ``i in range(rank, len, world_size)``, ``dataset.opt['name']`` and
``Counter(dataset.data_info['folder'])`` (frames per clip, for its metric
tables). A DALI loader streams batches in order, so for these models dalisr
hands BasicSR a :class:`IndexedVideoVal` instead: the same clip listing as
dalisr's loader (:mod:`dalisr.datasets.video_val`, disk folders, LMDB or
memcached), each item read from the store and decoded as BasicSR's
``read_img_seq`` does (OpenCV, BGR -> RGB, CHW float32 / 255), so the
tensors are BasicSR's bit for bit. ``VideoTestDataset`` items: ``lq``
(T x C x H x W), ``gt`` (C x H x W), ``folder``, ``idx`` (``'i/n'``),
``border``, ``lq_path``; ``VideoRecurrentTestDataset`` items: whole clips
``lq``, ``gt`` (T x C x H x W) and ``folder``, clips sorted by name;
``VideoTestVimeo90KDataset`` items: as VideoTestDataset's for each sequence of
``meta_info_file`` (the ``num_frame`` middle LQ frames, GT ``im4``, folder
``vimeo90k``, border 0), on dalisr's Vimeo90KDataset index.

Options as BasicSR's: ``num_frame``, ``padding`` and ``meta_info_file`` choose
frames and clips; ``cache_data: true`` keeps decoded frames in memory after
their first read (BasicSR reads them all up front; the values are the same);
``dataset_enlarge_ratio`` has no effect on val sets, as in BasicSR. Unlike
BasicSR, LMDB val sets work, VideoRecurrentTestDataset works without
``cache_data`` and VideoTestVimeo90KDataset with it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ...config import load_dataset_options
from ...datasets import build_dataset
from ...datasets.video_clips import Clip, frame_path, list_clips
from ...datasets.video_val import VideoRecurrentTestDataset, VideoTestDataset
from ...datasets.vimeo90k import Vimeo90KDataset
from ...errors import DalisrError
from ...formats.codec import decode_image
from ...formats.meta_info import RAW
from ...formats.raw import as_color, raw_pixels
from ...storage import Store

if TYPE_CHECKING:
    import torch

log = logging.getLogger("basicsr.dalisr")

#: val dataset types that :class:`IndexedVideoVal` serves; video models' other val types stay on BasicSR's loader
INDEXED_TYPES = ("VideoTestDataset", "VideoRecurrentTestDataset", "VideoTestVimeo90KDataset")
#: BasicSR's VideoTestVimeo90KDataset reads what dalisr's Vimeo90KDataset index lists (without random_reverse)
VIMEO_TEST = "VideoTestVimeo90KDataset"


def read_frame(store: Store, key: str, raw: bool = False) -> torch.Tensor:
    """One stored frame as BasicSR's ``read_img_seq`` makes it: RGB, C x H x W, float32 in [0, 1].

    The same operations in the same order as BasicSR's ``imfrombytes(float32=True)``
    and ``img2tensor``, so the values are identical. ``raw``: the store holds raw-codec
    values (``store.codec()``), whose pixels need no decoding.
    """
    import torch

    buf = store.get(key)
    bgr = as_color(raw_pixels(buf, key, store.describe())) if raw else decode_image(buf, key, store.describe())
    img = bgr.astype(np.float32) / 255.0
    return torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1].transpose(2, 0, 1)))


def data_info(clips: list[Clip], paths: dict[str, Any], num_frame: int) -> dict[str, list]:
    """BasicSR's ``VideoTestDataset.data_info``: one entry per frame of every clip, in listing order.

    ``paths[role](key)`` gives a frame's reported path; ``border`` marks the
    ``num_frame // 2`` frames at each end of a clip.
    """
    info: dict[str, list] = {"lq_path": [], "gt_path": [], "folder": [], "idx": [], "border": []}
    half = num_frame // 2
    for clip in clips:
        n = len(clip)
        info["lq_path"].extend(paths["lq"](k) for k in clip.lq)
        info["gt_path"].extend(paths["gt"](k) for k in clip.gt)
        info["folder"].extend([clip.folder] * n)
        info["idx"].extend(f"{i}/{n}" for i in range(n))
        info["border"].extend(int(i < half or i >= n - half) for i in range(n))
    return info


def vimeo_data_info(index: Vimeo90KDataset, paths: dict[str, Any]) -> dict[str, list]:
    """BasicSR's ``VideoTestVimeo90KDataset.data_info``: per sequence its LQ paths (a list), GT path, folder
    ``vimeo90k``, ``idx`` ``'i/n'`` and border 0."""
    info: dict[str, list] = {"lq_path": [], "gt_path": [], "folder": [], "idx": [], "border": []}
    rng = np.random.default_rng(0)  # unused: no random_reverse
    for i in range(len(index)):
        keys = index.keys_for(i, rng)
        info["lq_path"].append([paths["lq"](k) for k in keys["lq"]])
        info["gt_path"].append(paths["gt"](keys["gt"][0]))
        info["folder"].append("vimeo90k")
        info["idx"].append(f"{i}/{len(index)}")
        info["border"].append(0)
    return info


class IndexedVideoVal:
    """``len``, ``[i]``, ``opt`` and ``data_info`` of BasicSR's VideoTestDataset, VideoRecurrentTestDataset,
    VideoTestVimeo90KDataset.

    Holds the dalisr index (which keys make item ``i``) and the stores;
    nothing else of BasicSR's. Stores open their handles lazily per process.
    """

    def __init__(self, opt: Mapping, index: VideoTestDataset | VideoRecurrentTestDataset | Vimeo90KDataset,
                 stores: dict[str, Store], info: dict[str, list], cache: bool) -> None:
        self.opt = opt
        self.index = index
        self.stores = stores
        self.data_info = info
        self.raw = {role: store.codec() == RAW for role, store in stores.items()}
        self.cache: dict[tuple[str, str], torch.Tensor] | None = {} if cache else None

    def __len__(self) -> int:
        return len(self.index)

    def _frames(self, role: str, keys: tuple[str, ...]) -> torch.Tensor:
        """The frames of ``keys`` stacked T x C x H x W (a new tensor: BasicSR's models reshape items in place)."""
        import torch

        frames = []
        for key in keys:
            frame = None if self.cache is None else self.cache.get((role, key))
            if frame is None:
                frame = read_frame(self.stores[role], key, self.raw[role])
                if self.cache is not None:
                    self.cache[(role, key)] = frame
            frames.append(frame)
        return torch.stack(frames, dim=0)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} is outside the val set of {len(self)} items")
        if isinstance(self.index, VideoRecurrentTestDataset):
            clip = self.index.clips[index]
            return {"lq": self._frames("lq", clip.lq), "gt": self._frames("gt", clip.gt), "folder": clip.folder}
        keys = self.index.keys_for(index, np.random.default_rng(0))  # no draws: the window is fixed
        lq_path = self.data_info["lq_path"][index]
        return {"lq": self._frames("lq", keys["lq"]), "gt": self._frames("gt", keys["gt"])[0],
                "folder": self.data_info["folder"][index], "idx": self.data_info["idx"][index],
                "border": self.data_info["border"][index],
                "lq_path": lq_path[len(lq_path) // 2] if isinstance(lq_path, list) else lq_path}

    def close(self) -> None:
        for store in self.stores.values():
            store.close()


def indexed_video_val(dataset_opt: Mapping, origin: str) -> IndexedVideoVal | None:
    """The indexed val set for a video model's val section, or None where its type is not one dalisr indexes."""
    if dataset_opt.get("type") not in INDEXED_TYPES:
        return None
    options = {k: v for k, v in dataset_opt.items() if k != "cache_data"}  # honoured here, not by the loader
    options["batch_size_per_gpu"] = 1  # one item at a time, as the models read it
    if options["type"] == VIMEO_TEST:
        options.update(type="Vimeo90KDataset", random_reverse=False)
    cfg = load_dataset_options(options, origin=origin)
    index, stores = build_dataset(cfg)
    if not isinstance(index, (VideoTestDataset, VideoRecurrentTestDataset, Vimeo90KDataset)):
        raise DalisrError(f"{cfg.where('degradation')}: a video model's val set reads its LQ frames from "
                          f"dataroot_lq, it cannot make them. Fix: remove degradation from that section")
    paths = {role: (lambda key, role=role: frame_path(cfg, stores[role], role, key)) for role in ("gt", "lq")}
    if isinstance(index, Vimeo90KDataset):
        info = vimeo_data_info(index, paths)
    else:  # data_info lists clips in BasicSR's listing order; the recurrent index holds them sorted by name
        clips = index.clips if isinstance(index, VideoTestDataset) else list_clips(cfg, stores)
        info = data_info(clips, paths, int(cfg.get("num_frame", 1)))
    log.info("dalisr: %s (%s, %d items) is read by index from %s, as the video model's validation reads it",
             origin, dataset_opt["type"], len(index), stores["lq"].describe())
    return IndexedVideoVal(dataset_opt, index, stores, info, bool(dataset_opt.get("cache_data", False)))
