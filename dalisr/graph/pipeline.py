"""Assemble a DALI pipeline from a source (bytes) and a graph spec (what to do to them)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass

import numpy as np

from ..sources.base import SampleSource
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
    #: used where the Python workers can carry the decoding (see :func:`png_window_pays`)
    png_window: bool = True
    #: where the source writes per-process timings and byte counts (the profiler sets it), else None
    stats_dir: str | None = None


def output_names(roles: dict[str, int], extras=()) -> list[str]:
    """The pipeline's outputs: one tensor per role, ``idx``, ``skipped``, then the dataset's extra outputs."""
    return [*roles, "idx", "skipped", *extras]


def png_window_pays(rt: RuntimeOptions) -> bool:
    """Whether PNG windows should be decoded in the source rather than by DALI.

    The source decodes in DALI's Python workers, DALI in its ``num_threads``
    threads. Row-wise windows cost ~15% less CPU than DALI's ROI decoding
    (BENCHMARKS.md), so they win unless fewer workers than threads (or cores)
    would carry the work: then DALI's threads are kept busy instead.
    """
    cores = os.cpu_count() or 1
    return rt.png_window and rt.py_num_workers >= max(1, min(rt.num_threads, cores))


def pipeline_source(source: SampleSource, spec: GraphSpec, rt: RuntimeOptions) -> SampleSource:
    """The source the pipeline runs: one that crops while reading where that applies (raw LMDBs, PNG windows,
    a dataset's crop-or-pad)."""
    from ..sources.windows import patch_source

    if source.dataset.crop_pad_size:
        from ..sources.crop_pad import CropPadSource

        source = CropPadSource.wrap(source, spec.use_hflip, spec.use_rot)
    else:
        source = patch_source(source, train=spec.train, crop=bool(spec.train and spec.gt_size),
                              png_window=png_window_pays(rt))
    if rt.stats_dir is not None:
        from ..sources.stats import SourceStats

        source = copy.copy(source)
        source.stats = SourceStats(rt.stats_dir)
    return source


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
            gts, lqs = paired_crop(frames["gt"], frames["lq"], fractions, spec.gt_size, spec.scale, spec.device)
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


def build_pipeline(source: SampleSource, spec: GraphSpec, rt: RuntimeOptions):
    """A DALI pipeline returning one tensor per role (video LQ stacked as T x C x H x W), ``idx``, ``skipped``
    and the dataset's extra outputs (CPU tensors, as the source made them).

    A source that emits pixels (``emits_pixels``: raw LMDBs, PNG windows) has
    already decoded and cropped: the graph then only augments and converts.
    """
    from nvidia.dali import fn, pipeline_def, types

    source = pipeline_source(source, spec, rt)
    roles = source.dataset.roles
    extra_types = [types.to_dali_type(np.dtype(d)) for d in source.dataset.extra_outputs.values()]
    parallel = rt.py_num_workers > 0
    pixels = source.emits_pixels
    degradation = getattr(source.dataset, "degradation", None)  # Real-ESRGAN's LQ made in the graph

    @pipeline_def(enable_conditionals=spec.use_rot or degradation is not None)
    def sr_pipeline():
        nframes = sum(roles.values())
        dtypes = [types.UINT8] * nframes + [types.INT64, types.INT64, types.FLOAT, types.INT32] + extra_types
        es_kwargs = {"parallel": True, "prefetch_queue_depth": 2} if parallel else {}
        if pixels:
            es_kwargs["layout"] = ["HWC"] * nframes + [""] * (4 + len(extra_types))
        outs = fn.external_source(source, num_outputs=source.num_outputs, batch=False, dtype=dtypes, **es_kwargs)
        encoded, (idx, skipped, fractions, flips) = outs[:nframes], outs[nframes:nframes + 4]
        extras = tuple(outs[nframes + 4:])
        frames, at = {}, 0
        for role, count in roles.items():
            frames[role] = list(encoded[at:at + count])
            at += count
        if pixels:  # decoded and cropped by the source
            decoded = {role: [x.gpu() if spec.device == "gpu" else x for x in xs] for role, xs in frames.items()}
        elif spec.train and spec.gt_size:  # decode only the crop windows
            decoded = None
        else:
            decoded = {role: [decode(e, spec.device) for e in enc] for role, enc in frames.items()}
        if "lq" in roles and "gt" in roles:
            gts, lqs = _paired(frames, decoded, fractions, flips, spec, pixels)
            out = {"gt": gts, "lq": lqs}
        else:  # one role: GT only (faces) or LQ only (single images)
            (role,) = roles
            if decoded is None:
                anchor = crop_anchor(frames[role][0], fractions, spec.gt_size)
                imgs = [decode_window(e, anchor, spec.gt_size, spec.device) for e in frames[role]]
            else:
                imgs = decoded[role]
            out = {role: augment(imgs, flips, spec.use_hflip, spec.use_rot)}
            if degradation is not None:  # GT only: Real-ESRGAN's LQ made from it here
                from ..degrade.graph import degraded_outputs

                return (*degraded_outputs(out[role][0], extras, degradation, spec.device), idx, skipped)
        sequences = getattr(source.dataset, "sequences", frozenset())
        tensors = [_stack([to_tensor(x, spec) for x in out[role]], roles[role] > 1 or role in sequences,
                          spec.mirror_sequence) for role in roles]
        return (*tensors, idx, skipped, *extras)

    kwargs = dict(batch_size=rt.batch_size, num_threads=rt.num_threads, device_id=rt.device_id,
                  prefetch_queue_depth=rt.prefetch_queue_depth, exec_dynamic=True)
    if parallel:
        kwargs.update(py_num_workers=rt.py_num_workers, py_start_method=rt.py_start_method)
    pipe = sr_pipeline(**kwargs)
    pipe.dalisr_source = source  # which source runs (the profiler reports it)
    return pipe
