"""Assemble a DALI pipeline from a source (bytes) and a graph spec (what to do to them)."""

from __future__ import annotations

from dataclasses import dataclass

from .graph import (
    GraphSpec,
    augment,
    crop_anchor,
    decode,
    paired_crop,
    single_crop,
    to_tensor,
    val_crop_gt,
)
from .source import SampleSource


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


def output_names(roles: dict[str, int]) -> list[str]:
    return [*roles, "idx", "skipped"]


def build_pipeline(source: SampleSource, spec: GraphSpec, rt: RuntimeOptions):
    """A DALI pipeline returning one tensor per role (video LQ stacked as T x C x H x W), ``idx`` and ``skipped``."""
    from nvidia.dali import fn, pipeline_def, types

    roles = source.dataset.roles
    parallel = rt.py_num_workers > 0

    @pipeline_def(enable_conditionals=spec.use_rot)
    def sr_pipeline():
        dtypes = [types.UINT8] * sum(roles.values()) + [types.INT64, types.INT64, types.FLOAT, types.INT32]
        es_kwargs = {"parallel": True, "prefetch_queue_depth": 2} if parallel else {}
        outs = fn.external_source(source, num_outputs=source.num_outputs, batch=False, dtype=dtypes, **es_kwargs)
        encoded, (idx, skipped, fractions, flips) = outs[:-4], outs[-4:]
        frames, at = {}, 0
        for role, count in roles.items():
            frames[role] = list(encoded[at:at + count])
            at += count
        decoded = {role: [decode(e, spec.device) for e in enc] for role, enc in frames.items()}
        if "lq" in roles:
            gt = decoded["gt"][0]
            lqs = decoded["lq"]
            if spec.train:
                anchor = crop_anchor(frames["lq"][0], fractions, spec.gt_size // spec.scale)
                gt, lqs = paired_crop(gt, lqs, anchor, spec.gt_size, spec.scale)
                gt, *lqs = augment([gt, *lqs], flips, spec.use_hflip, spec.use_rot)
            else:
                gt = val_crop_gt(gt, frames["lq"][0], spec.scale)
            gt = to_tensor(gt, spec)
            lqs = [to_tensor(x, spec) for x in lqs]
            lq = fn.stack(*lqs) if roles["lq"] > 1 else lqs[0]
            return gt, lq, idx, skipped
        gt = decoded["gt"][0]
        if spec.train and spec.gt_size:
            gt = single_crop(gt, crop_anchor(frames["gt"][0], fractions, spec.gt_size), spec.gt_size)
        (gt,) = augment([gt], flips, spec.use_hflip, spec.use_rot)
        return to_tensor(gt, spec), idx, skipped

    kwargs = dict(batch_size=rt.batch_size, num_threads=rt.num_threads, device_id=rt.device_id,
                  prefetch_queue_depth=rt.prefetch_queue_depth, exec_dynamic=True)
    if parallel:
        kwargs.update(py_num_workers=rt.py_num_workers, py_start_method=rt.py_start_method)
    return sr_pipeline(**kwargs)
