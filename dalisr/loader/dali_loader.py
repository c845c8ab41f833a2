"""DaliLoader: epochs, shards, resume and BasicSR-style batch dicts over DALIGenericIterator."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from ..contract import SkipRecord
from ..datasets.base import DatasetIndex
from ..errors import DalisrError
from ..graph.ops import GraphSpec
from ..graph.pipeline import RuntimeOptions, build_pipeline
from ..sampling import EpochPlan, graph_seed
from ..sources.base import SampleSource, key_rng
from ..sources.choose import ReadOptions, first_value_is_png, make_source
from ..storage import Store
from .graph_state import STATE_KEY, GraphResume, generators_state, restore_failed, resume_from
from .lifecycle import shutdown_pipeline, track, untrack
from .read_options import read_options
from .watchdog import WorkerWatchdog, started_processes

log = logging.getLogger(__name__)

_STATE_VERSION = 1


class DaliLoader:
    """Iterate BasicSR-style batches from a DALI pipeline.

    Each ``for`` over the loader runs the rest of the current epoch (a whole
    epoch unless it was resumed or left early) and moves to the next one,
    reshuffled. ``set_epoch`` and ``load_state_dict`` choose where the next
    ``for`` starts; the DALI pipeline is rebuilt only when that is not where
    the running one would go anyway.
    """

    def __init__(self, dataset: DatasetIndex, stores: dict[str, Store], plan: EpochPlan, spec: GraphSpec,
                 runtime: RuntimeOptions, *, origin: str = "option dict", check_pairs: bool = True,
                 on_error: str = "raise", png_values: bool | None = None) -> None:
        self.dataset = dataset
        self.stores = stores
        self.plan = plan
        self.spec = spec
        self.runtime = runtime
        self.origin = origin
        self.check_pairs = check_pairs
        self.on_error = on_error
        #: whether the values are PNG (None: peeked at the first pipeline start)
        self.png_values = png_values
        #: samples replaced under ``on_error: skip``, and their keys; png-seek values whose restart index did not
        #: fit their data (each decoded from the top instead: right pixels, more work; re-create such an LMDB)
        self.stats: dict[str, Any] = {"skipped": 0, "skipped_samples": [], "png_seek_mismatches": 0}
        self.epoch = 0
        self.batch = 0  # batches of self.epoch already handed out
        self._pipe = None
        self._iter = None
        self._pipe_at: tuple[int, int] | None = None  # (epoch, batch) the running pipeline delivers next
        self._pipe_start: tuple[int, int] = (0, 0)  # (epoch, batch) the running pipeline's source started at
        self._graph_resume: GraphResume | None = None  # a saved pipeline the next start rebuilds (its generators)
        self._indices: tuple[int, np.ndarray] | None = None
        self._watchdog: WorkerWatchdog | None = None
        self._source: SampleSource | None = None

    # -- public API -----------------------------------------------------------
    def __len__(self) -> int:
        return self.plan.num_batches

    @property
    def batch_size(self) -> int:
        return self.plan.batch_size

    @property
    def device(self) -> str:
        return self.spec.device

    @property
    def source(self) -> SampleSource | None:
        """The source the last pipeline read through (None until the first batch starts one)."""
        return self._source

    def worker_pids(self) -> list[int]:
        """Process ids of the running pipeline's DALI Python workers (empty until the first batch starts them)."""
        dog = self._watchdog
        return [p.pid for p in dog.processes] if dog is not None else []

    def set_epoch(self, epoch: int) -> None:
        """Start the next ``for`` at the beginning of ``epoch`` (the same order on every rank)."""
        if epoch < 0:
            raise DalisrError(f"epoch must be 0 or more, got {epoch}")
        self.epoch, self.batch = int(epoch), 0
        self._graph_resume = None

    def state_dict(self) -> dict[str, Any]:
        """Where the loader stands: restoring it yields exactly the batches not yet handed out (and, where the
        graph draws noise, the state of DALI's generators: :mod:`.graph_state`)."""
        state = {"version": _STATE_VERSION, "epoch": self.epoch, "batch": self.batch, "seed": self.plan.seed,
                 "num_samples": self.plan.num_samples, "batch_size": self.plan.batch_size,
                 "shard_id": self.plan.shard_id, "num_shards": self.plan.num_shards,
                 "dataset": self.dataset.fingerprint()}
        if self.dataset.graph_draws:
            here = (self.epoch, self.batch)
            running = self._iter if self._pipe_at == here else None
            state[STATE_KEY] = generators_state(running, self._pipe_start, self._graph_resume, here)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or not {"epoch", "batch"} <= state.keys():
            raise DalisrError(
                f"loader state must be the dict loader.state_dict() returned, got {type(state).__name__}. "
                "Fix: save loader.state_dict() in the checkpoint and pass that back")
        for key in ("seed", "num_samples", "batch_size", "num_shards"):
            mine = getattr(self.plan, key)
            if state.get(key) != mine:
                raise DalisrError(
                    f"loader state does not fit this loader: {key} was {state.get(key)}, is {mine}. "
                    "Fix: resume with the same dataset, seed, batch size and world size"
                )
        if "dataset" in state and state["dataset"] != self.dataset.fingerprint():
            raise DalisrError(
                f"loader state was saved with another dataset ({self.origin} holds other samples, though as many). "
                "Fix: resume with the dataset of the checkpoint (same dataroots, meta info and keys)")
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        ended = self.batch >= self.plan.num_batches
        if ended:
            self.epoch, self.batch = self.epoch + 1, 0
        self._graph_resume = resume_from(state, self.dataset.graph_draws, ended, self.origin)

    def __iter__(self):
        if self.batch >= self.plan.num_batches:
            self.epoch, self.batch = self.epoch + 1, 0
        self._ensure_pipeline()
        while self.batch < self.plan.num_batches:
            try:
                with self._watchdog.armed():
                    out = next(self._iter)
            except StopIteration:
                raise DalisrError(
                    f"the pipeline ended epoch {self.epoch} after {self.batch} of {self.plan.num_batches} batches"
                ) from None
            except DalisrError:
                self.close()
                raise
            except Exception as exc:  # DALI wraps worker and decoder errors; say which sample
                died = self._watchdog.check()  # DALI may notice a dead worker first
                self.close()
                raise (died or self._explain(exc)) from None
            batch = self._to_batch(out[0])
            self.batch += 1
            self._pipe_at = (self.epoch, self.batch)
            yield batch
        # the pipeline has raised StopIteration for this epoch: reset it into the next one
        self._finish_epoch()
        self.epoch, self.batch = self.epoch + 1, 0

    def close(self) -> None:
        """Stop DALI's worker processes and threads now (also on ``del`` and at exit)."""
        self._iter = None
        dog, self._watchdog = self._watchdog, None
        if dog is not None:
            dog.stop()
        pipe, self._pipe = self._pipe, None
        self._pipe_at = None
        if pipe is not None:
            shutdown_pipeline(pipe)
        untrack(self)

    def __enter__(self) -> DaliLoader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    # -- internals --------------------------------------------------------------
    def _epoch_indices(self) -> np.ndarray:
        """This shard's order for the current epoch, computed once per epoch (a permutation of the
        whole enlarged epoch is too dear to redo for every batch)."""
        if self._indices is None or self._indices[0] != self.epoch:
            self._indices = (self.epoch, self.plan.shard_indices(self.epoch))
        return self._indices[1]

    def _ensure_pipeline(self) -> None:
        if self._iter is not None and self._pipe_at == (self.epoch, self.batch):
            return
        self.close()
        resume, self._graph_resume = self._graph_resume, None
        if resume is not None:
            try:
                self._start_pipeline(resume.start, resume.checkpoint)
            except Exception as exc:  # a checkpoint of another graph or DALI version
                self.close()
                restore_failed(self.origin, exc)
                resume = None
            else:
                if resume.epoch_end:  # saved after the epoch's last batch: the pipeline ends that epoch first
                    self._finish_epoch()
                    resume = resume if self._iter is not None else None  # closed: it did not end there
        if resume is None:
            self._start_pipeline((self.epoch, self.batch))
        self._pipe_at = (self.epoch, self.batch)
        track(self)
        log.info("DALI pipeline started at epoch %d batch %d%s (%s)", self.epoch, self.batch,
                 ", DALI's generators restored from the saved state" if resume else "", self.origin)

    def _start_pipeline(self, start: tuple[int, int], checkpoint: bytes | None = None) -> None:
        """A pipeline whose source starts at ``start`` (epoch, batch); ``checkpoint`` restores a saved one."""
        from nvidia.dali.plugin.pytorch import DALIGenericIterator

        source = make_source(self.dataset, self.stores, self.plan, self._read_options(), start_epoch=start[0],
                             skip_batches=start[1], stats_dir=self.runtime.stats_dir)
        self._source, self._pipe_start = source, start
        with warnings.catch_warnings():
            # crop fractions and flip bits are always emitted, used or not (val phase, no augmentation)
            warnings.filterwarnings("ignore", message="The external source node")
            self._pipe = build_pipeline(source, self.spec, self.runtime,
                                        seed=graph_seed(self.plan.seed, self.plan.shard_id, *start),
                                        checkpoint=checkpoint)
            _, workers = started_processes(self._pipe.build)
        self._watchdog = WorkerWatchdog(workers, self.origin)
        self._iter = DALIGenericIterator(self._pipe, source.contract.batch_names(), auto_reset=False,
                                         prepare_first_batch=False)

    def _read_options(self) -> ReadOptions:
        spec, rt = self.spec, self.runtime
        if self.png_values is None and spec.train and spec.gt_size and rt.png_window:
            self.png_values = first_value_is_png(self.dataset, self.stores)
        return read_options(spec, rt, bool(self.png_values), self.check_pairs, self.on_error)

    def _finish_epoch(self) -> None:
        try:
            with self._watchdog.armed():
                next(self._iter)
        except StopIteration:
            self._iter.reset()
            self._pipe_at = (self.epoch + 1, 0)
            return
        # more data than planned: should not happen; rebuild next time rather than hand out a wrong order
        log.warning("pipeline did not end epoch %d where planned; restarting it", self.epoch)
        self.close()

    def _to_batch(self, out: dict) -> dict[str, Any]:
        idx = out.pop("idx").view(-1).tolist()
        for record in SkipRecord.rows(out.pop("skipped")):
            if record.seek_mismatches:
                if not self.stats["png_seek_mismatches"]:
                    log.warning("a png-seek value's restart index does not fit its data: decoded from the top "
                                "instead (right pixels, slower). Fix: re-create the LMDB with `dalisr convert`")
                self.stats["png_seek_mismatches"] += record.seek_mismatches
            if record.replaced:
                self.stats["skipped"] += record.replaced
                name = self.dataset.name(record.first_bad)
                self.stats["skipped_samples"].append(name)
                log.warning("epoch %d batch %d: sample '%s' was unreadable and replaced (on_error: skip)",
                            self.epoch, self.batch, name)
        batch: dict[str, Any] = dict(out)
        first = self.batch * self.plan.batch_size
        epoch, at = self.epoch, self.batch

        def draw(j: int) -> np.random.Generator:  # the generator the source used for the j-th sample
            return key_rng(self.plan.seed, epoch, self.plan.position(at, j))

        expected = self._epoch_indices()[first:first + len(idx)]
        if self.on_error == "raise" and not np.array_equal(expected, idx):  # pragma: no cover - an invariant
            raise DalisrError(f"internal: batch {self.batch} of epoch {self.epoch} came out of order")
        batch.update(self.dataset.batch_fields(idx, draw))
        self._cut_padding(batch, idx)
        return batch

    def _cut_padding(self, batch: dict[str, Any], idx: list[int]) -> None:
        """Drop the repeated frames a dataset padded a shorter sample with (whole clips of different lengths)."""
        counts = {self.dataset.frame_count(i) for i in idx}
        if counts == {None}:
            return
        if len(counts) > 1:
            raise DalisrError(f"batch {self.batch} of epoch {self.epoch} ({self.origin}) mixes samples of different "
                              "frame counts. Fix: batch_size_per_gpu: 1")
        (count,) = counts
        for role, frames in self.dataset.roles.items():
            if frames > 1:
                batch[role] = batch[role][:, :count].contiguous()

    def _explain(self, exc: Exception) -> Exception:
        """DALI's wrapped error as one naming the sample's keys and stores (DALI runs ahead of the training
        loop: the failing batch may be one of the next few)."""
        from .explain import explain

        return explain(exc, self.dataset, self.stores, self.plan, self.epoch, self.batch, self._epoch_indices(),
                       ahead=self.runtime.prefetch_queue_depth + 2, origin=self.origin)
