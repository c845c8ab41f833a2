"""The randomness contract of the degradation with its noise drawn in the DALI graph (README: "Randomness").

Crops, flips, kernels and every scalar draw are functions of (seed, epoch,
position); the noise fields come from DALI's generators, seeded from (seed,
rank, where the pipeline started) and carried across a resume in the loader's
state (a DALI checkpoint). These run on the CPU with ``noise: graph``, the
graph a GPU loader builds by default.
"""

from __future__ import annotations

import io
import logging

import pytest
import torch

from dalisr import build_dataloader
from dalisr.sampling import graph_seed

from .test_degrade_loader import options

GRAPH = {"noise": "graph"}


def _options(sample_set, workers: int = 2, block=None, enlarge: int = 2) -> dict:
    opt = options(sample_set, workers=workers, block=dict(GRAPH, **(block or {})))
    opt["datasets"]["train"]["dataset_enlarge_ratio"] = enlarge  # 8 images x 2 / batch 4: 4 batches an epoch
    return opt


def _epochs(loader, epochs: int, keep_states_at=()) -> tuple[list[dict], dict[int, dict]]:
    """Every batch of ``epochs`` epochs (lq, gt), and the loader's state after the batches counted in
    ``keep_states_at``, each through torch.save / torch.load as a training checkpoint carries it."""
    out, states = [], {}
    for _ in range(epochs):
        for b in loader:
            out.append({"lq": b["lq"].clone(), "gt": b["gt"].clone()})
            if len(out) in keep_states_at:
                buf = io.BytesIO()
                torch.save(loader.state_dict(), buf)
                buf.seek(0)
                states[len(out)] = torch.load(buf, weights_only=False)
    return out, states


def _rest(opt, state: dict, count: int) -> list[dict]:
    with build_dataloader(opt, device="cpu") as loader:
        loader.load_state_dict(state)
        got = []
        while len(got) < count:
            for b in loader:
                got.append({"lq": b["lq"].clone(), "gt": b["gt"].clone()})
        return got


def _same(a: list[dict], b: list[dict], key: str = "lq") -> bool:
    return len(a) == len(b) and all(torch.equal(x[key], y[key]) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def reference(sample_set) -> tuple[list[dict], dict[int, dict]]:
    """Two epochs of the uninterrupted run (8 batches), and its states after batches 1, 2, 4 and 6."""
    with build_dataloader(_options(sample_set), device="cpu") as loader:
        return _epochs(loader, 2, keep_states_at=(1, 2, 4, 6))


def test_same_seed_same_run_any_worker_count(sample_set, reference):
    a, _ = reference  # seed 0, 2 workers
    with build_dataloader(_options(sample_set, workers=0), device="cpu", seed=0) as loader:
        b, _ = _epochs(loader, 2)
    with build_dataloader(_options(sample_set, workers=2), device="cpu", seed=6) as loader:
        c = [next(iter(loader))]
    assert _same(a, b) and _same(a, b, "gt")
    assert not torch.equal(a[0]["lq"], c[0]["lq"])
    assert not any(torch.equal(a[0]["lq"], x["lq"]) for x in a[1:])  # fresh noise every batch, every epoch


def test_graph_noise_keeps_every_other_draw(sample_set, reference):
    """The noise's placement changes the noise only: the GT (crop-or-pad, flips, USM, the crop the scalars
    place) is the same; the LQ differs (other noise)."""
    graph = reference[0][:4]
    with build_dataloader(_options(sample_set, block={"noise": "source"}), device="cpu") as loader:
        source, _ = _epochs(loader, 1)
    assert _same(graph, source, "gt")
    assert not _same(graph, source)


@pytest.mark.parametrize("stop", [1, 4, 6], ids=["mid-epoch", "epoch-end", "next-epoch"])
def test_resume_continues_with_the_same_noise(sample_set, reference, stop, caplog):
    opt = _options(sample_set)
    full, states = reference
    assert len(full) == 8
    with caplog.at_level(logging.INFO, logger="dalisr"):
        rest = _rest(opt, states[stop], len(full) - stop)
    assert _same(rest, full[stop:]) and _same(rest, full[stop:], "gt")
    assert "DALI's generators restored from the saved state" in caplog.text
    assert "drawn afresh" not in caplog.text


def test_resume_before_the_first_batch_and_passed_on_unused(sample_set, reference):
    """A state taken before any pipeline ran, or re-saved before the resumed loader ran, still resumes exactly."""
    opt = _options(sample_set)
    full, states = reference
    with build_dataloader(opt, device="cpu") as fresh:
        untouched = fresh.state_dict()
    assert _same(_rest(opt, untouched, 4), full[:4])
    with build_dataloader(opt, device="cpu") as loader:
        loader.load_state_dict(states[2])
        passed_on = loader.state_dict()  # no pipeline yet: the loaded generators' state travels on
    assert _same(_rest(opt, passed_on, 2), full[2:4])


def test_resume_says_which_fields_are_drawn_afresh(sample_set, reference, caplog):
    """A state without the generators' state (saved with the noise in the source), or one DALI refuses: one log
    line says the noise fields are drawn afresh; crops, flips and every other draw still continue exactly."""
    opt = _options(sample_set)
    full, states = reference
    source_opt = _options(sample_set, block={"noise": "source"})
    with build_dataloader(source_opt, device="cpu") as loader:
        _, source_states = _epochs(loader, 1, keep_states_at=(2,))
    assert "graph" not in source_states[2]
    with caplog.at_level(logging.INFO, logger="dalisr"):
        rest = _rest(opt, source_states[2], 2)
    assert caplog.text.count("noise fields are drawn afresh after this resume") == 1
    assert _same(rest, full[2:4], "gt") and not _same(rest, full[2:4])

    caplog.clear()
    damaged = dict(states[2], graph=dict(states[2]["graph"], checkpoint=b"not a checkpoint"))
    with caplog.at_level(logging.INFO, logger="dalisr"):
        rest = _rest(opt, damaged, 2)
    assert caplog.text.count("DALI could not restore its generators from the saved state") == 1
    assert _same(rest, full[2:4], "gt")

    caplog.clear()  # the other way round: the saved run drew in the graph, this loader in the source
    with caplog.at_level(logging.INFO, logger="dalisr"):
        _rest(source_opt, states[2], 1)
    assert caplog.text.count("this loader draws them in the source") == 1


def test_ranks_and_starts_seed_their_own_generators():
    seeds = {graph_seed(0, rank, 0, 0) for rank in range(8)}
    assert len(seeds) == 8 and all(0 <= s < 2**31 for s in seeds)
    assert graph_seed(0, 0, 1, 0) != graph_seed(0, 0, 0, 0) != graph_seed(1, 0, 0, 0)
    assert graph_seed(3, 2, 1, 5) == graph_seed(3, 2, 1, 5)


def test_shards_draw_different_noise(sample_set):
    """Two ranks degrade different samples with generators of their own, never the same field twice."""
    opt = _options(sample_set, enlarge=1)
    lqs = []
    for shard in (0, 1):
        with build_dataloader(opt, device="cpu", shard_id=shard, num_shards=2) as loader:
            lqs.append(next(iter(loader))["lq"])
    assert lqs[0].shape == lqs[1].shape and not torch.equal(lqs[0], lqs[1])
