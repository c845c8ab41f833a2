"""What a loader's source is told of its graph: the crop, the flips, who decodes PNG crops, what values must be."""

from __future__ import annotations

from ..graph.ops import GraphSpec
from ..graph.pipeline import RuntimeOptions
from ..sources.choose import ReadOptions, workers_decode_png
from ..sources.value_rules import ValueRules


def read_options(spec: GraphSpec, rt: RuntimeOptions, png_values: bool, check_pairs: bool,
                 on_error: str) -> ReadOptions:
    """The source's :class:`ReadOptions` for a graph ``spec`` run by ``rt`` over PNG values or not."""
    train_crop = bool(spec.train and spec.gt_size)
    decode_png = rt.png_window and workers_decode_png(png_values, train_crop, rt.py_num_workers, rt.num_threads)
    return ReadOptions(train=spec.train, gt_size=spec.gt_size, scale=spec.scale, use_hflip=spec.use_hflip,
                       use_rot=spec.use_rot, decode_png=decode_png, check_pairs=check_pairs, on_error=on_error,
                       rules=ValueRules(srgb_only=spec.colour_profiles == "srgb", depth=spec.depth))
