"""``regroup-reds``: REDS's 30 validation clips join the training folder as clips 240-269.

BasicSR's regroup_reds_dataset moves ``val/000 .. val/029`` to ``train/240 ..
train/269``. Here the clips are copied, hard-linked or symlinked instead (the
validation folder stays as it was), each clip appears whole or not at all,
running again after a success changes nothing, and a different clip already at
a target is never overwritten.
"""

from __future__ import annotations

import filecmp
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import DalisrError
from .files import require_folder

log = logging.getLogger(__name__)

MODES = ("copy", "hardlink", "symlink")
VAL_OFFSET = 240
VAL_CLIPS = 30


@dataclass
class RegroupResult:
    added: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)


def plan_regroup(train: str, val: str) -> list[tuple[str, str]]:
    """(validation clip, its training name) pairs: ``val/007`` -> ``train/247``."""
    require_folder(train, "REDS training folder")
    require_folder(val, "REDS validation folder")
    clips = sorted(d for d in os.listdir(val) if d.isdigit() and os.path.isdir(os.path.join(val, d)))
    if not clips:
        raise DalisrError(f"REDS validation folder {val} holds no clip folder (000 ... 029). "
                          "Fix: pass the folder holding the clips, e.g. val/val_sharp")
    if len(clips) != VAL_CLIPS:
        log.warning("%s holds %d clips, REDS's validation set has %d", val, len(clips), VAL_CLIPS)
    pairs = []
    for clip in clips:
        if int(clip) >= VAL_OFFSET:
            raise DalisrError(f"{os.path.join(val, clip)} is numbered {clip}, already in the training range: "
                              "Fix: pass the validation folder (clips 000 ... 029), not the regrouped one")
        pairs.append((os.path.join(val, clip), os.path.join(train, f"{int(clip) + VAL_OFFSET:03d}")))
    return pairs


def _files(folder: str) -> list[str]:
    return sorted(e.name for e in os.scandir(folder) if not e.name.startswith("."))


def same_clip(src: str, dst: str) -> bool:
    """True if ``dst`` holds the same frames as ``src`` (a link to it, hard links, or equal copies)."""
    if not os.path.isdir(dst):
        return False
    if os.path.realpath(src) == os.path.realpath(dst):
        return True
    names = _files(src)
    if names != _files(dst):
        return False
    for name in names:
        a, b = os.path.join(src, name), os.path.join(dst, name)
        if not os.path.isfile(a) or not os.path.isfile(b):
            return False
        if not (os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=True)):
            return False
    return True


def _place(src: str, dst: str, mode: str) -> None:
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst, target_is_directory=True)
        return
    tmp = os.path.join(os.path.dirname(dst), f".{os.path.basename(dst)}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for name in _files(src):
            a = os.path.join(src, name)
            if os.path.isdir(a):
                raise DalisrError(f"{a} is a folder: a REDS clip holds only frame files")
            if mode == "hardlink":
                try:
                    os.link(a, os.path.join(tmp, name))
                except OSError as exc:
                    raise DalisrError(f"cannot hard-link {a} into {os.path.dirname(dst)}: {exc.strerror}. "
                                      "Fix: use --mode copy or symlink (hard links need one file system)") from None
            else:
                shutil.copy2(a, os.path.join(tmp, name))
        os.replace(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def regroup_reds(train: str, val: str, mode: str = "symlink",
                 progress: Callable[[int], None] | None = None) -> RegroupResult:
    """Put ``val/NNN`` at ``train/(NNN+240)``; clips already there and equal are left alone."""
    if mode not in MODES:
        raise DalisrError(f"--mode '{mode}' is not known. Fix: use one of {', '.join(MODES)}")
    pairs = plan_regroup(train, val)
    todo = []
    result = RegroupResult()
    for src, dst in pairs:  # check every target before touching any
        if os.path.lexists(dst):
            if not same_clip(src, dst):
                raise DalisrError(f"{dst} already exists and differs from {src}; nothing was changed. "
                                  "Fix: check the TRAIN and VAL folders, or move that clip away")
            result.already_there.append(dst)
        else:
            todo.append((src, dst))
    for src, dst in todo:
        _place(src, dst, mode)
        result.added.append(dst)
        log.info("%s -> %s (%s)", src, dst, mode)
        if progress:
            progress(1)
    return result
