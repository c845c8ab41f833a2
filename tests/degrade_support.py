"""Run dalisr's degradation graph pieces on numpy inputs (tests and tools): one pipeline per call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def run_graph(build: Callable, inputs: Sequence[Sequence[np.ndarray]], layouts: Sequence[str | None] | None = None,
              conditionals: bool = True) -> list[list[np.ndarray]]:
    """``build(*nodes)`` over external sources fed with ``inputs`` (one list of per-sample arrays per input).

    Returns each output as a list of per-sample numpy arrays.
    """
    from nvidia.dali import fn, pipeline_def

    batch = len(inputs[0])
    layouts = layouts or [None] * len(inputs)
    feeds = [_feed(data) for data in inputs]  # made outside the pipeline function, which AutoGraph rewrites

    @pipeline_def(batch_size=batch, num_threads=1, device_id=None, enable_conditionals=conditionals,
                  exec_dynamic=True)
    def pipe():
        nodes = []
        for feed, layout in zip(feeds, layouts):
            kw = {"layout": layout} if layout else {}
            nodes.append(fn.external_source(source=feed, batch=True, **kw))
        out = build(*nodes)
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)

    p = pipe()
    p.build()
    outs = p.run()
    return [[np.array(o[i]) for i in range(batch)] for o in outs]


def _feed(data: Sequence[np.ndarray]) -> Callable[[], list[np.ndarray]]:
    batch = [np.ascontiguousarray(x) for x in data]
    return lambda: batch
