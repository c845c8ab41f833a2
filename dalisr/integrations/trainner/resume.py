"""traiNNer-redux's resume with the loader's position: a file beside each of its training states.

traiNNer-redux saves ``training_states/{iter}.state`` (epoch, iteration,
optimizers...) and, resumed (its ``--auto_resume`` takes the newest state),
replays the saved epoch from its first batch. dalisr writes every rank's
loader state beside it, ``{iter}.state.dalisr`` (a name its auto-resume scan,
which takes files ending in ``state``, passes over), and a resumed run
continues mid-epoch with exactly the batches not yet handed out.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ..ranks import SavesLoaderStates

log = logging.getLogger("traiNNer.dalisr")

#: the suffix of the loader states' file beside a training state
SUFFIX = ".dalisr"


def states_file(resume_state: str) -> str:
    return resume_state + SUFFIX


def write_states(path: str, states: list[dict]) -> None:
    """Write the loader states atomically (a stop mid-write leaves the previous file or none)."""
    tmp = path + ".tmp"
    torch.save(states, tmp)
    os.replace(tmp, path)


def read_states(resume_state: str | None) -> list[dict] | None:
    """The loader states saved beside ``resume_state`` (the training state traiNNer-redux resumes), if any."""
    if not resume_state:
        return None
    path = states_file(resume_state)
    if not os.path.isfile(path):
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


class SavesLoaderState(SavesLoaderStates):
    """traiNNer-redux's model: ``save`` also writes every rank's loader position beside its training state,
    ``resume_training`` makes its loop start at the epoch the loader resumed in."""

    __slots__ = ("training_states",)

    def __init__(self, model: Any, train_loader: Any, rank: int, training_states: str) -> None:
        super().__init__(model, train_loader, rank)
        object.__setattr__(self, "training_states", training_states)

    def write(self, states: list[dict], current_iter: int) -> None:
        path = states_file(os.path.join(self.training_states, f"{current_iter}.state"))
        write_states(path, states)
        log.info("dalisr: loader positions of %d rank(s) saved in %s", len(states), path)

    def resume_training(self, resume_state: dict) -> None:
        self.model.resume_training(resume_state)
        resume_state["epoch"] = self.train_loader.loader.epoch  # its loop starts there (the next one if it ended)
