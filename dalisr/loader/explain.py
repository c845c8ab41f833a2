"""Why a batch failed: the source's own message, or which keys do not decode, found in a child process.

Explaining an error must not crash the trainer: an LMDB's data.mdb that was
truncated or rewritten in place kills whoever reads its memory map with
SIGBUS. So the stores are read by a short-lived child; if it dies, the
message says the file changed or is damaged instead.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import re

import numpy as np

from ..datasets.base import DatasetIndex
from ..errors import DalisrError
from ..sampling import EpochPlan
from ..sources.base import key_rng
from ..storage import Store

#: how DALI quotes an exception raised in an external source (its worker's traceback's last line)
_QUOTED = re.compile(r"DalisrError: (.*?)(?:\n|$)")


def source_message(exc: BaseException) -> str | None:
    """The message of a DalisrError that a source raised inside DALI, from the error DALI re-raises for it.

    DALI does not chain the source's exception: it re-raises a RuntimeError
    quoting the worker's traceback as text. This is the one place that reads
    that text (tests/test_contract.py fails the day DALI's wording changes).
    """
    found = _QUOTED.search(str(exc))
    return found.group(1) if found else None


def _check(stores: dict[str, Store], keys: list[tuple[str, str]]) -> list[str]:
    import cv2

    found = []
    for role, key in keys:
        store = stores[role]
        try:
            data = store.get(key)
        except DalisrError as err:
            found.append(str(err))
            continue
        try:
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        except cv2.error:
            img = None
        if img is None:
            found.append(f"key '{key}' in {store.describe()} does not decode as an image "
                         f"({len(data)} bytes). Fix: re-create it from the source image")
    return found


def _child(conn, stores: dict[str, Store], keys: list[tuple[str, str]]) -> None:
    try:
        conn.send(_check(stores, keys))
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        conn.send([f"checking the batch failed: {type(exc).__name__}: {exc}"])


def undecodable(stores: dict[str, Store], keys: list[tuple[str, str]], timeout: float = 120.0) -> list[str]:
    """Messages for the ``(role, key)`` pairs that are missing or do not decode, read in a child process."""
    if not keys:
        return []
    ctx = mp.get_context("forkserver")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, stores, keys), daemon=True)
    proc.start()
    child.close()
    try:
        if mpc.wait([parent, proc.sentinel], timeout) and parent.poll():
            try:
                return parent.recv()
            except EOFError:
                pass
        proc.join(1)
        if proc.exitcode is None:
            return []  # too slow to say: the caller gives DALI's own message
        used = ", ".join(sorted({s.describe() for s in stores.values()}))
        return [f"reading {used} to explain the error crashed a checker process (exit {proc.exitcode}): a file "
                "was changed or truncated while in use, or is damaged. Fix: re-create or re-copy it (and do not "
                "rewrite an LMDB while it is being trained on)"]
    finally:
        if proc.exitcode is None:
            proc.kill()
        proc.join(5)
        parent.close()


def batch_keys(dataset: DatasetIndex, plan: EpochPlan, epoch: int, batch: int,
               indices: np.ndarray) -> list[tuple[str, str]]:
    """The (role, key) pairs ``batch`` of ``epoch`` reads (``indices``: the shard's order of that epoch)."""
    first = batch * plan.batch_size
    keys = []
    for position, index in enumerate(indices[first:first + plan.batch_size]):
        sample = dataset.keys_for(int(index), key_rng(plan.seed, epoch, plan.position(batch, position)))
        keys += [(role, key) for role, role_keys in sample.items() for key in role_keys]
    return keys


def explain(exc: BaseException, dataset: DatasetIndex, stores: dict[str, Store], plan: EpochPlan, epoch: int,
            batch: int, indices: np.ndarray, ahead: int, origin: str) -> DalisrError:
    """DALI's wrapped error as one naming the sample's keys and stores: the source's own message, else the keys
    of the failing batch (``batch`` or one of the next ``ahead``) that do not decode, checked with OpenCV in a
    child process, else DALI's first line."""
    quoted = source_message(exc)
    if quoted is not None:
        return DalisrError(quoted)
    for suspect in range(batch, min(batch + ahead, plan.num_batches)):
        found = undecodable(stores, batch_keys(dataset, plan, epoch, suspect, indices))
        if found:
            return DalisrError("; ".join(found))
    text = str(exc).strip()
    return DalisrError(f"DALI failed in epoch {epoch} batch {batch} ({origin}): "
                       f"{text.splitlines()[0] if text else type(exc).__name__}")
