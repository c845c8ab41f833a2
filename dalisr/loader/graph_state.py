"""The state of a pipeline's own generators (DALI's, drawing the degradation's noise fields) beside the loader's
position: saved as a DALI checkpoint, restored on resume, and said plainly where it cannot be.

Everything the source draws is a function of (seed, epoch, position) and
needs no state. DALI's generators are per operator: their draws depend on
where the pipeline started (:func:`dalisr.sampling.graph_seed`) and on every
batch it has made since, so a resumed loader rebuilds the saved pipeline
(same start, hence the same source) from DALI's checkpoint, which holds the
generators and the source's epoch and iteration counters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

#: the key of the generators' state in :meth:`dalisr.loader.dali_loader.DaliLoader.state_dict`
STATE_KEY = "graph"


@dataclass(frozen=True)
class GraphResume:
    """A saved pipeline to rebuild: where it started, DALI's checkpoint of it, and whether it was saved after an
    epoch's last batch (the pipeline then still has to end that epoch before it makes the next)."""

    start: tuple[int, int]
    checkpoint: bytes
    epoch_end: bool = False

    def to_state(self) -> dict[str, Any]:
        return {"start": list(self.start), "checkpoint": self.checkpoint}


def generators_state(iterator, start: tuple[int, int], pending: GraphResume | None,
                     here: tuple[int, int]) -> dict[str, Any]:
    """The generators' part of a loader's state at position ``here`` (epoch, batch): the running pipeline's after
    the batches handed out (``iterator``, its DALI iterator, not None where the pipeline is at ``here``; DALI
    accounts for its prefetching; ``start``: where its source started); else a loaded state not yet used
    (``pending``), passed on; else none to restore (the next pipeline starts afresh at ``here``, as the saved run's
    would)."""
    if iterator is not None:
        return GraphResume(start, iterator.checkpoints()[0]).to_state()
    if pending is not None:
        return pending.to_state()
    return {"start": list(here), "checkpoint": None}


def resume_from(state: dict, graph_draws: bool, ended: bool, origin: str) -> GraphResume | None:
    """What a loader restores of its graph's generators from ``state`` (a ``state_dict()``), or None, logging one
    line where the noise fields after the resume will not be the ones the saved run would have drawn.

    ``ended``: the state was saved after the last batch of its epoch.
    """
    saved = state.get(STATE_KEY)
    if not graph_draws:
        if saved is not None:
            log.info("%s: the saved run drew its noise fields in the DALI graph; this loader draws them in the source "
                     "(from seed, epoch and position), so the noise fields after this resume differ from the saved "
                     "run's (crops, flips, kernels and every other draw are the same)", origin)
        return None
    if saved is None:
        log.info("%s: the saved state holds no state of DALI's generators (saved with the noise drawn in the "
                 "source, or by an earlier dalisr): the noise fields are drawn afresh after this resume (crops, "
                 "flips, kernels and every other draw are the same)", origin)
        return None
    if saved.get("checkpoint") is None:  # saved before its pipeline started: the same fresh start either way
        return None
    return GraphResume(tuple(int(x) for x in saved["start"]), saved["checkpoint"], ended)


def restore_failed(origin: str, exc: BaseException) -> None:
    """The one line said where DALI refuses a saved checkpoint (another graph, another DALI version)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.warning("%s: DALI could not restore its generators from the saved state (%s): the noise fields are drawn "
                "afresh after this resume (crops, flips, kernels and every other draw are the same)", origin, first)
