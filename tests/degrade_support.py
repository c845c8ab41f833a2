"""Run dalisr's degradation graph pieces on numpy inputs (tests and tools): one pipeline per call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def run_graph(build: Callable, inputs: Sequence[Sequence[np.ndarray]], layouts: Sequence[str | None] | None = None,
              conditionals: bool = True, gpu: Sequence[int] = ()) -> list[list[np.ndarray]]:
    """``build(*nodes)`` over external sources fed with ``inputs`` (one list of per-sample arrays per input).

    ``gpu``: the indices of inputs to move to the GPU (then the pipeline gets device 0).
    Returns each output as a list of per-sample numpy arrays (copied to the host).
    """
    from nvidia.dali import fn, pipeline_def

    batch = len(inputs[0])
    layouts = layouts or [None] * len(inputs)
    feeds = [_feed(data) for data in inputs]  # made outside the pipeline function, which AutoGraph rewrites

    @pipeline_def(batch_size=batch, num_threads=1, device_id=0 if gpu else None, enable_conditionals=conditionals,
                  exec_dynamic=True)
    def pipe():
        nodes = []
        for j, (feed, layout) in enumerate(zip(feeds, layouts)):
            kw = {"layout": layout} if layout else {}
            node = fn.external_source(source=feed, batch=True, **kw)
            nodes.append(node.gpu() if j in gpu else node)
        out = build(*nodes)
        return tuple(out) if isinstance(out, (list, tuple)) else (out,)

    p = pipe()
    p.build()
    outs = p.run()
    outs = [o.as_cpu() if hasattr(o, "as_cpu") else o for o in outs]
    return [[np.array(o[i]) for i in range(batch)] for o in outs]


def _feed(data: Sequence[np.ndarray]) -> Callable[[], list[np.ndarray]]:
    batch = [np.ascontiguousarray(x) for x in data]
    return lambda: batch
