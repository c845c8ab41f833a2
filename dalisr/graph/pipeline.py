"""Assemble a DALI pipeline from a source (its outputs: :mod:`dalisr.contract`) and a graph spec (what to do
to them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import GT_CROPS_OUTPUT, GT_WINDOW_OUTPUT
from ..sources.base import SampleSource
from .bicubic import gt_lq_from_window
from .ops import (
    GraphSpec,
    augment,
    crop_anchor,
    decode,
    decode_window,
    paired_crop,
    to_tensor,
    val_crop_gt,
)


@dataclass(frozen=True)
class RuntimeOptions:
    """How DALI runs: batch, threads, workers, queues, device."""

    batch_size: int
    num_threads: int = 2
    py_num_workers: int = 2
    py_start_method: str = "fork"
    prefetch_queue_depth: int = 2
    device_id: int | None = None
    bytes_per_sample_hint: int = 4 << 20
    #: training crops of PNG values: decode only the rows down to the window, in the source (bit-identical);
    #: used where the Python workers can carry the decoding (:func:`dalisr.sources.choose.workers_decode_png`)
    png_window: bool = True
    #: where the source writes per-process timings and byte counts (the profiler sets it), else None
    stats_dir: str | None = None


def _paired(frames: dict, decoded: dict | None, fractions, flips, spec: GraphSpec,
            pixels: bool) -> tuple[list, list]:
    """GT and LQ frames of a paired sample: one crop window and one augmentation for all of them.

    Training: every LQ frame gets the LQ window, every GT frame the GT window
    (``scale`` x, aligned). Val: whole frames, each GT cut to ``lq * scale``.
    """
    if spec.train and spec.gt_size:
        if pixels:  # the source has cut the windows already
            gts, lqs = decoded["gt"], decoded["lq"]
        else:
            gts, lqs = paired_crop(frames["gt"], frames["lq"], fractions, spec.gt_size, spec.scale, spec.device,
                                   spec.depth)
        both = augment([*gts, *lqs], flips, spec.use_hflip, spec.use_rot)
        return both[:len(gts)], both[len(gts):]
    gts, lqs = decoded["gt"], decoded["lq"]
    if not pixels:
        gts = [val_crop_gt(g, frames["lq"][0], spec.scale) for g in gts]
    return gts, lqs


def _stack(tensors: list, sequence: bool, mirror: bool):
    """One role's frames as the batch holds them: T x C x H x W for a sequence, else C x H x W."""
    from nvidia.dali import fn

    if mirror:
        tensors = [*tensors, *tensors[::-1]]
    return fn.stack(*tensors) if sequence or mirror else tensors[0]


def build_pipeline(source: SampleSource, spec: GraphSpec, rt: RuntimeOptions, seed: int = -1,
                   checkpoint: bytes | None = None):
    """A DALI pipeline returning :meth:`dalisr.contract.Contract.batch_names`: one tensor per role (video
    stacked as T x C x H x W) or the images the dataset's graph makes, ``idx``, ``skipped`` and the dataset's
    extra outputs (CPU tensors, as the source made them).

    ``seed``: of DALI's own generators (:func:`dalisr.sampling.graph_seed`), which only a dataset whose graph
    draws (``graph_draws``) uses; such a pipeline keeps checkpoints of their state, and ``checkpoint`` (one it
    gave) restores it, with the source's epoch and iteration counters.

    A source that emits pixels (``emits_pixels``: raw LMDBs, PNG windows) has
    already decoded and cropped: the graph then only augments and converts.
    """
    from nvidia.dali import fn, pipeline_def, types

    dataset, contract = source.dataset, source.contract
    roles = dataset.roles
    pixels = source.emits_pixels
    fields = contract.source_fields(pixels)
    parallel = rt.py_num_workers > 0

    @pipeline_def(enable_conditionals=spec.use_rot or dataset.degradation is not None or dataset.bicubic_lq)
    def sr_pipeline():
        es_kwargs = {"parallel": True, "prefetch_queue_depth": 2} if parallel else {}
        if pixels:
            es_kwargs["layout"] = [f.layout for f in fields]
        outs = fn.external_source(source, num_outputs=len(fields), batch=False,
                                  dtype=[types.to_dali_type(np.dtype(f.dtype)) for f in fields], **es_kwargs)
        got = contract.unpack(outs)
        frames, fractions, flips = got.frames, got.sample["fractions"], got.sample["flips"]
        if dataset.bicubic_lq:  # GT only: the LQ made from a window of it, both cropped there
            window, crops = got.extra(GT_WINDOW_OUTPUT), got.extra(GT_CROPS_OUTPUT)
            return contract.batch_outputs(gt_lq_from_window(frames["gt"][0], window, crops, spec), got)
        if pixels:  # decoded and cropped by the source
            decoded = {role: [x.gpu() if spec.device == "gpu" else x for x in xs] for role, xs in frames.items()}
        elif spec.train and spec.gt_size:  # decode only the crop windows
            decoded = None
        else:
            decoded = {role: [decode(e, spec.device, spec.depth) for e in enc] for role, enc in frames.items()}
        if "lq" in roles and "gt" in roles:
            gts, lqs = _paired(frames, decoded, fractions, flips, spec, pixels)
            out = {"gt": gts, "lq": lqs}
        else:  # one role: GT only (faces) or LQ only (single images)
            (role,) = roles
            if decoded is None:
                anchor = crop_anchor(frames[role][0], fractions, spec.gt_size)
                imgs = [decode_window(e, anchor, spec.gt_size, spec.device, spec.depth) for e in frames[role]]
            else:
                imgs = decoded[role]
            out = {role: augment(imgs, flips, spec.use_hflip, spec.use_rot)}
            if dataset.degradation is not None:  # GT only: Real-ESRGAN's LQ made from it here
                from ..degrade.graph import degraded_outputs

                images = degraded_outputs(out[role][0], got, dataset.degradation, spec.device)
                return contract.batch_outputs(images, got)
        images = {role: _stack([to_tensor(x, spec) for x in out[role]], roles[role] > 1 or role in dataset.sequences,
                               spec.mirror_sequence) for role in roles}
        return contract.batch_outputs(images, got)

    kwargs = dict(batch_size=rt.batch_size, num_threads=rt.num_threads, device_id=rt.device_id,
                  prefetch_queue_depth=rt.prefetch_queue_depth, exec_dynamic=True, seed=seed)
    if dataset.graph_draws:
        kwargs.update(enable_checkpointing=True, checkpoint=checkpoint)
    if parallel:
        kwargs.update(py_num_workers=rt.py_num_workers, py_start_method=rt.py_start_method)
    return sr_pipeline(**kwargs)
