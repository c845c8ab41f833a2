"""What every dataset index gives the pipeline: samples of store keys and display paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass

import numpy as np

from ..errors import DalisrError
from ..formats.meta_info import read_first_tokens
from ..storage import Store


@dataclass(frozen=True)
class Sample:
    """One training sample: per role (``gt``, ``lq``, ...) the store keys it reads.

    ``keys[role]`` is a tuple (one key for images, several for a video stack);
    ``paths[role]`` is what BasicSR reports as ``{role}_path``; ``shapes[role]``
    holds (h, w, c) per key where the index already knows it (LMDB meta info).
    """

    keys: dict[str, tuple[str, ...]]
    paths: dict[str, str]
    shapes: dict[str, tuple] | None = None
    name: str = ""


class DatasetIndex:
    """A dataset type's list of samples and how one becomes store keys.

    Picklable and free of open handles: it travels to DALI's workers. Video
    datasets override :meth:`keys_for` to draw frames per sample. This base
    keeps a list of :class:`Sample` objects, fine for small sets; the built-in
    types keep compact arrays instead (:mod:`.keytable`, :mod:`.shared`), which
    spawned workers map from one shared file rather than unpickle.
    """

    #: frames per role in one sample, in the order the source emits them
    roles: dict[str, int] = {"gt": 1, "lq": 1}
    #: roles batched as T x C x H x W even when T is 1 (frame sequences); others are C x H x W when single
    sequences: frozenset[str] = frozenset()
    #: per-sample arrays the source emits after the frames (name -> numpy dtype): first those the reader makes
    #: from the values it read (a window chosen from an image's size), then :meth:`extra_arrays`; they reach the
    #: batch under their names (e.g. Real-ESRGAN's kernels)
    extra_outputs: dict[str, str] = {}
    #: BasicSR's crop-or-pad: GT padded (reflect-101) up to this square and cut to it, after the flips
    crop_pad_size: int | None = None
    #: how the crop-or-pad fills: ``reflect_101`` (BasicSR) or ``zeros`` (traiNNer-redux: black bottom/right)
    crop_pad_fill: str = "reflect_101"
    #: a 90-degree rotation drawn whatever ``use_rot`` says (traiNNer-redux's GT-only datasets do so; ``use_rot``
    #: then gates only the vertical flip): :func:`dalisr.sampling.flip_rule`
    rotates_always: bool = False
    #: bits per channel of the decoded frames: 8 (uint8, BasicSR's) or 16 (uint16: 16-bit images kept 16-bit)
    pixel_depth: int = 8
    #: the graph's image outputs where they are not the roles (the graph makes them: see :mod:`dalisr.contract`)
    graph_images: tuple[str, ...] = ()
    #: whether the extra outputs reach the batch (False: the graph consumes them)
    extras_to_batch: bool = True
    #: Real-ESRGAN's degradation, run by the graph (:class:`dalisr.degrade.options.DegradeOptions`), else None
    degradation = None
    #: the graph draws random numbers of its own (DALI's generators: the degradation's noise fields), whose state
    #: the loader then keeps beside its position (a DALI checkpoint); everything else is drawn by the source
    graph_draws: bool = False
    #: the LQ is MATLAB's bicubic downscale of the GT, made by the graph from a window of it: the reader plans
    #: that window (:class:`dalisr.contract.GTWindow` and its crops) from the value's header, as extra outputs
    bicubic_lq: bool = False

    def __init__(self, samples: Sequence[Sample]) -> None:
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def keys_for(self, index: int, rng: np.random.Generator) -> dict[str, tuple[str, ...]]:
        """The store keys of sample ``index`` (``rng`` is for datasets that draw frames)."""
        return self.samples[index].keys

    def extra_arrays(self, index: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
        """The arrays of :attr:`extra_outputs`, in order, for sample ``index``; ``rng`` is the sample's own
        stream (from seed, epoch and position), so they are reproducible and resumable."""
        return ()

    def flip_bits(self, flips: np.ndarray) -> np.ndarray:
        """The sample's flip bits as the graph and readers apply them, from its draws (the same unless the type
        has a rule of its own: :attr:`rotates_always`)."""
        return flips

    def name(self, index: int) -> str:
        """A short name of sample ``index`` for messages and stats (the GT key's base name, a clip/frame ...)."""
        return self.samples[index].name or str(index)

    def fingerprint(self) -> str:
        """A short hash of which samples this index holds, in order (their names), cached.

        A resumed loader compares it with the one in its state, so that another
        dataset with the same number of samples is refused. Up to 65536 names
        are hashed; larger indexes hash that many, evenly spread, and the count.
        """
        cached = getattr(self, "_fingerprint", None)
        if cached is None:
            import hashlib

            n = len(self)
            picked = range(n) if n <= 65536 else np.linspace(0, n - 1, 65536).astype(np.int64).tolist()
            digest = hashlib.blake2b(f"{type(self).__name__}:{n}".encode(), digest_size=8)
            digest.update("\n".join(self.name(int(i)) for i in picked).encode("utf-8", "surrogateescape"))
            cached = self._fingerprint = digest.hexdigest()
        return cached

    def frame_count(self, index: int) -> int | None:
        """How many frames of sample ``index`` are real, where it has fewer than ``roles`` says.

        A DALI pipeline has a fixed frame count per role, so a dataset with
        samples of different lengths (whole clips) repeats the last frame up to
        it; the loader cuts the batch back to this many. None: all are real.
        """
        return None

    def batch_fields(self, indices: Sequence[int], draw: Callable[[int], np.random.Generator]) -> dict[str, list]:
        """The non-tensor fields of a batch, e.g. ``gt_path``/``lq_path`` as BasicSR names them.

        ``draw(j)`` is the generator :meth:`keys_for` got for the batch's ``j``-th
        sample (made only when asked: most datasets need none).
        """
        return {f"{role}_path": [self.samples[i].paths[role] for i in indices] for role in self.roles}


def check_same_keys(gt: Iterable[str], lq: Iterable[str], gt_where: str, lq_where: str, limit: int = 5) -> None:
    """GT and LQ must list the same keys; otherwise name the first few missing on each side."""
    gt_set, lq_set = set(gt), set(lq)
    if gt_set == lq_set:
        return
    only_gt = sorted(gt_set - lq_set)
    only_lq = sorted(lq_set - gt_set)
    parts = []
    if only_gt:
        parts.append(f"{len(only_gt)} in {gt_where} but not in {lq_where} (first: {', '.join(only_gt[:limit])})")
    if only_lq:
        parts.append(f"{len(only_lq)} in {lq_where} but not in {gt_where} (first: {', '.join(only_lq[:limit])})")
    raise DalisrError(
        "GT and LQ keys differ: " + "; ".join(parts) + ". Fix: rebuild the LQ set or its meta info so both match."
    )


def check_scale(gt_hw: tuple[int, int], lq_hw: tuple[int, int], key: str, where: str, scale: int) -> None:
    """GT exactly ``scale`` x LQ: checked before any size check, so a wrong ``scale`` is blamed, not gt_size."""
    (gh, gw), (qh, qw) = gt_hw, lq_hw
    if (gh, gw) != (qh * scale, qw * scale):
        found = f" (the data's factor is {gh // qh})" if qh and gh % qh == 0 and gh // qh == gw // max(qw, 1) else ""
        raise DalisrError(
            f"Scale mismatches for key '{key}' in {where}: GT ({gh}, {gw}) is not {scale}x "
            f"multiplication of LQ ({qh}, {qw}){found}. Fix: correct scale in the options or regenerate the LQ image"
        )


def check_pair_shapes(gt_hw: tuple[int, int], lq_hw: tuple[int, int], key: str, where: str, scale: int,
                      gt_size: int | None) -> None:
    """BasicSR's paired_random_crop checks: GT exactly ``scale`` x LQ (:func:`check_scale`), LQ at least the patch.

    Shared by the index (meta info shapes, before any pipeline starts) and the
    sources (PNG headers or decoded shapes, per sample).
    """
    check_scale(gt_hw, lq_hw, key, where, scale)
    if gt_size is not None:
        qh, qw = lq_hw
        patch = gt_size // scale
        if qh < patch or qw < patch:
            raise DalisrError(
                f"LQ ({qh}, {qw}) of key '{key}' in {where} is smaller than the patch size "
                f"({patch}, {patch}) = gt_size {gt_size} / scale {scale}. Please remove {key} (or lower gt_size)"
            )


def gt_list(store: Store, listing: str | None, option: str, where: str) -> list[str]:
    """The keys of a GT-only dataset by BasicSR's rules: an LMDB's meta info keys; else the first token of each
    line of ``listing`` (a path under dataroot_gt; ``option``, named ``where``, gave it); else the store's image
    files, sorted."""
    if store.kind == "lmdb":
        return store.meta_table().keys()
    if listing:
        return read_first_tokens(listing, f"{where}: file",
                                 f"point {option} at the list of GT images (one path under dataroot_gt per line)")
    return store.keys() or []


def require_samples(samples: Sized, where: str) -> None:
    if not samples:
        raise DalisrError(f"no samples found in {where}. Fix: check dataroot_* and meta_info_file")
