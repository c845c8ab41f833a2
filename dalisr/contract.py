"""What crosses the stage boundaries, declared once: source -> graph -> loader.

A source emits, per sample, :meth:`Contract.source_fields`: every frame of
every role (in the dataset's ``roles`` order), then :data:`SAMPLE_FIELDS`,
then the dataset's extra outputs. The graph returns
:meth:`Contract.batch_names`: its image tensors (the roles, or the images a
dataset's graph makes, e.g. Real-ESRGAN's degradation), the sample fields
marked ``batch``, then the extras it passes on. Source, pipeline and loader
all ask this module; none of them counts positions itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Field:
    """One per-sample output: its name, numpy dtype, DALI layout, and whether it reaches the batch."""

    name: str
    dtype: str
    layout: str = ""
    batch: bool = False


@dataclass(frozen=True)
class SkipRecord:
    """What the source did to one sample: the index of the first unreadable sample it replaced (-1: none), how
    many it replaced (``on_error: skip``), and the png-seek values whose restart index did not fit their data."""

    first_bad: int = -1
    replaced: int = 0
    seek_mismatches: int = 0

    def array(self) -> np.ndarray:
        # spelled out: dataclasses.astuple deep-copies, a cost on every sample
        return np.array((self.first_bad, self.replaced, self.seek_mismatches), dtype=np.int64)

    @classmethod
    def rows(cls, batch: Any) -> list[SkipRecord]:
        """The records of a batch (a tensor or array of ``batch_size`` records)."""
        return [cls(*row) for row in np.asarray(batch).reshape(-1, len(fields(cls))).tolist()]


#: after the frames, in this order, for every sample
SAMPLE_FIELDS: tuple[Field, ...] = (
    Field("idx", "int64", batch=True),  # the sample's index in the dataset (the loader checks the order with it)
    Field("skipped", "int64", batch=True),  # a SkipRecord
    Field("fractions", "float32"),  # crop draws in [0, 1): top, left
    Field("flips", "int32"),  # hflip, vflip, transpose bits
)


@dataclass(frozen=True)
class SourceOutputs:
    """A source's outputs as the graph sees them, by name: frames per role, sample fields, extras."""

    frames: dict[str, list]
    sample: dict[str, Any]
    extras: tuple
    extra_names: tuple[str, ...] = ()

    def extra(self, name: str) -> Any:
        """The extra output ``name`` (one of the dataset's ``extra_outputs``)."""
        return self.extras[self.extra_names.index(name)]


@dataclass(frozen=True)
class Contract:
    """The outputs of one dataset's pipeline.

    ``images``: the graph's image outputs where they are not the roles (a
    dataset that makes its LQ in the graph); ``extras_to_batch``: False where
    the graph consumes the dataset's extra outputs instead of passing them on.
    """

    roles: Mapping[str, int]
    extras: Mapping[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()
    extras_to_batch: bool = True
    depth: int = 8  # bits per channel of frames a source decodes (8: uint8, 16: uint16)

    @classmethod
    def of(cls, dataset: Any) -> Contract:
        """The contract of a dataset index (:class:`dalisr.datasets.base.DatasetIndex`)."""
        return cls(dict(dataset.roles), dict(dataset.extra_outputs), tuple(dataset.graph_images),
                   dataset.extras_to_batch, dataset.pixel_depth)

    @property
    def num_frames(self) -> int:
        return sum(self.roles.values())

    # -- source -> graph ---------------------------------------------------------------------------------------------
    def source_fields(self, pixels: bool = False) -> list[Field]:
        """Every output of the source, in order (frames are HWC uint8 or uint16 where the source decoded them,
        encoded bytes otherwise)."""
        dtype = "uint16" if pixels and self.depth == 16 else "uint8"
        frames = [Field(f"{role}{i}", dtype, "HWC" if pixels else "")
                  for role, count in self.roles.items() for i in range(count)]
        return [*frames, *SAMPLE_FIELDS, *(Field(n, d) for n, d in self.extras.items())]

    def pack(self, frames: Sequence, sample: Mapping[str, Any], extras: Sequence = ()) -> tuple:
        """A source's outputs for one sample: ``sample`` holds a value for each of :data:`SAMPLE_FIELDS`."""
        return (*frames, *(sample[f.name] for f in SAMPLE_FIELDS), *extras)

    def unpack(self, outputs: Sequence) -> SourceOutputs:
        """The graph's view of :meth:`pack`'s tuple (DALI nodes in place of arrays)."""
        frames, at = {}, 0
        for role, count in self.roles.items():
            frames[role] = list(outputs[at:at + count])
            at += count
        sample = {f.name: outputs[at + i] for i, f in enumerate(SAMPLE_FIELDS)}
        return SourceOutputs(frames, sample, tuple(outputs[at + len(SAMPLE_FIELDS):]), tuple(self.extras))

    # -- graph -> loader ---------------------------------------------------------------------------------------------
    @property
    def image_names(self) -> tuple[str, ...]:
        return self.images or tuple(self.roles)

    def batch_names(self) -> list[str]:
        """The graph's outputs, in order: what DALIGenericIterator names and the batch dict holds."""
        extras = list(self.extras) if self.extras_to_batch else []
        return [*self.image_names, *(f.name for f in SAMPLE_FIELDS if f.batch), *extras]

    def batch_outputs(self, images: Mapping[str, Any], got: SourceOutputs) -> tuple:
        """The graph's outputs in :meth:`batch_names` order, from its images (by name) and the source's fields."""
        extras = tuple(got.extras) if self.extras_to_batch else ()
        return (*(images[n] for n in self.image_names), *(got.sample[f.name] for f in SAMPLE_FIELDS if f.batch),
                *extras)


#: the extra outputs in which a GT-only dataset's reader hands the graph its :class:`GTWindow`: the fields, and
#: the crops as :meth:`GTWindow.crop_positions` gives them (in :data:`CROP_FIELDS` order)
GT_WINDOW_OUTPUT = "window"
GT_CROPS_OUTPUT = "window_crops"
CROP_FIELDS = tuple(f"{name}_{k}" for name in ("gt", "lq") for k in ("height", "width", "pos_y", "pos_x"))


@dataclass(frozen=True)
class GTWindow:
    """Where a GT-only sample's pieces lie, for a graph that makes its LQ from a window of the GT (int32 fields).

    ``box_*``: the part of the image to decode (coordinates of the image as decoded, EXIF orientation applied);
    ``vflip``: the decoded box is flipped upside down first; ``upscaled``: 1 where it is then resized to
    ``window_*`` (the image upscaled to ``gt_size`` on an axis it is shorter on), else 0 and ``window_*`` is its
    size; ``interior``: the window holds the whole margin on every side (it nowhere meets the image's edge), so a
    resize that clamps at the window's edge gives the LQ exactly; ``gt_*``: the GT crop inside the window;
    ``lq_*``: the LQ crop inside the window's downscale; ``mirror`` and ``transpose``: the crops are then
    flipped left-right and transposed (``crop_mirror_normalize``'s mirror and layout).
    """

    box_top: int
    box_left: int
    box_height: int
    box_width: int
    vflip: int
    upscaled: int
    window_height: int
    window_width: int
    interior: int
    gt_top: int
    gt_left: int
    gt_height: int
    gt_width: int
    lq_top: int
    lq_left: int
    lq_height: int
    lq_width: int
    mirror: int
    transpose: int

    def array(self) -> np.ndarray:
        return np.array([getattr(self, f.name) for f in fields(self)], dtype=np.int32)

    @classmethod
    def slot(cls, name: str) -> int:
        """The position of field ``name`` in :meth:`array` (the graph reads the fields by it)."""
        return [f.name for f in fields(cls)].index(name)

    def crop_positions(self, scale: int) -> np.ndarray:
        """The crops as ``crop_mirror_normalize`` takes them (float32, :data:`CROP_FIELDS` order): sizes, and
        positions ``top / (extent - size)`` (that operator places a crop at ``round(pos * (extent - size))``, so
        these give the tops back exactly). Made here, not in the graph: a DALI operator per division costs more
        than the division."""
        out = []
        for name, (height, width) in (("gt", (self.window_height, self.window_width)),
                                      ("lq", (self.window_height // scale, self.window_width // scale))):
            top, left, h, w = (getattr(self, f"{name}_{k}") for k in ("top", "left", "height", "width"))
            out += [h, w, top / max(height - h, 1), left / max(width - w, 1)]
        return np.array(out, dtype=np.float32)
