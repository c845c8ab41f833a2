"""Every rank's loader state, gathered and written where a training loop saves its own."""

from __future__ import annotations

from typing import Any


def gather(state: dict) -> list[dict]:
    """Every rank's ``state`` in rank order (a collective call: every rank must make it)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        states: list[Any] = [None] * dist.get_world_size()
        dist.all_gather_object(states, state)
        return states
    return [state]


class SavesLoaderStates:
    """A training loop's model as the loop uses it, whose ``save`` also writes every rank's loader position
    (:meth:`write`: where, the loop's own seam says). It holds the model and passes every other attribute
    through; the model is left as it is.

    Loops call ``model.save(epoch, iter)`` on every rank and write their state on rank 0 only; the gather, a
    collective call, runs on all ranks before that. ``iter`` -1 is a final save without a training state.
    """

    __slots__ = ("model", "train_loader", "rank")

    def __init__(self, model: Any, train_loader: Any, rank: int) -> None:
        object.__setattr__(self, "model", model)
        object.__setattr__(self, "train_loader", train_loader)
        object.__setattr__(self, "rank", rank)

    def save(self, epoch: int, current_iter: int) -> None:
        states = gather(self.train_loader.state_dict())
        self.model.save(epoch, current_iter)
        if self.rank == 0 and current_iter != -1:
            self.write(states, current_iter)

    def write(self, states: list[dict], current_iter: int) -> None:
        """Store ``states`` with the loop's training state of ``current_iter`` (rank 0, after the model saved)."""
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.model, name, value)
