"""BasicSR resume states that also carry every rank's dalisr loader position.

BasicSR saves ``training_states/{iter}.state`` (epoch, iteration, optimizers,
schedulers) and, on resume, restarts the saved epoch from its first batch.
dalisr adds ``dalisr_loaders``: the train loader's ``state_dict()`` of every
rank, gathered at each checkpoint, so a resumed run continues mid-epoch with
exactly the samples the interrupted epoch had not yet handed out.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from .. import ranks

log = logging.getLogger("basicsr.dalisr")

#: key of the per-rank loader states in BasicSR's resume state
LOADER_STATES_KEY = "dalisr_loaders"


def latest_state_file(training_states: str) -> str | None:
    """The ``{iter}.state`` file with the highest iteration in ``training_states``, if any."""
    if not os.path.isdir(training_states):
        return None
    iters = []
    for name in os.listdir(training_states):
        stem, ext = os.path.splitext(name)
        if ext == ".state" and stem.isdigit():
            iters.append(int(stem))
    return os.path.join(training_states, f"{max(iters)}.state") if iters else None


def map_location() -> Any:
    """Where resumed tensors go: this rank's CUDA device where there is one, else the CPU.

    BasicSR's own ``load_resume_state`` always maps to CUDA, which fails on a CPU machine.
    """
    if torch.cuda.is_available():
        device = torch.cuda.current_device()
        return lambda storage, loc: storage.cuda(device)
    return "cpu"


def load_resume_state(opt: dict, positions_only: bool = False) -> dict | None:
    """BasicSR's resume rule (``--auto_resume``: the newest state of this experiment, else
    ``path.resume_state``), loaded onto this machine's device. ``positions_only``: for a loop that loads the
    state itself, only its epoch, iteration and loader positions, read onto the CPU."""
    from basicsr.utils import check_resume

    path = None
    if opt.get("auto_resume"):
        path = latest_state_file(opt["path"]["training_states"])
        if path is not None:
            opt["path"]["resume_state"] = path
    elif opt["path"].get("resume_state"):
        path = opt["path"]["resume_state"]
    if path is None:
        return None
    if positions_only:
        state = torch.load(path, map_location="cpu", weights_only=False)
        return {k: state[k] for k in ("epoch", "iter", LOADER_STATES_KEY) if k in state}
    state = torch.load(path, map_location=map_location(), weights_only=False)
    check_resume(opt, state["iter"])
    return state


def add_loader_states(state_file: str, loader_states: list[dict]) -> None:
    """Write the loader states into a resume state BasicSR has just saved."""
    state = torch.load(state_file, map_location="cpu", weights_only=False)
    state[LOADER_STATES_KEY] = loader_states
    tmp = state_file + ".dalisr-tmp"
    torch.save(state, tmp)
    os.replace(tmp, state_file)


class SavesLoaderStates(ranks.SavesLoaderStates):
    """BasicSR's model whose ``save`` also stores every rank's loader position in the resume state it writes."""

    __slots__ = ()

    def write(self, states: list[dict], current_iter: int) -> None:
        path = os.path.join(self.model.opt["path"]["training_states"], f"{current_iter}.state")
        add_loader_states(path, states)
        log.info("dalisr: loader positions of %d rank(s) saved in %s", len(states), path)
