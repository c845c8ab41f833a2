"""Counters a source keeps per sample in DALI's workers (time, bytes, png-seek windows), summed across processes.

Low in the layers: the pipeline attaches :class:`SourceStats` to its source
when a profile asks (``RuntimeOptions.stats_dir``); :mod:`dalisr.diagnose.profile`
reads them with :func:`read_source_stats`.
"""

from __future__ import annotations

import os

import numpy as np

STAT_FIELDS = ("samples", "source_s", "read_s", "decode_s", "encoded_bytes", "decoded_bytes", "seek_windows",
               "seek_mismatches")
_INDEX = {name: i for i, name in enumerate(STAT_FIELDS)}


class SourceStats:
    """Per-process counters of a source, in a small memory-mapped file per process under ``directory``.

    Picklable and fork-safe: each process (a DALI worker, forked or spawned)
    opens its own ``<pid>.stats`` on first use, so counting costs a few
    additions, no locks and no messages; :func:`read_source_stats` sums them.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._pid: int | None = None
        self._counts: np.ndarray | None = None

    def __getstate__(self) -> dict:
        return {"directory": self.directory}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["directory"])

    def add(self, **values: float) -> None:
        if self._pid != os.getpid():
            path = os.path.join(self.directory, f"{os.getpid()}.stats")
            self._counts = np.memmap(path, dtype=np.float64, mode="w+", shape=(len(STAT_FIELDS),))
            self._pid = os.getpid()
        for name, value in values.items():
            self._counts[_INDEX[name]] += value


def read_source_stats(directory: str) -> dict[str, float]:
    """The counters of every process under ``directory``, summed."""
    total = np.zeros(len(STAT_FIELDS))
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            if name.endswith(".stats"):
                data = np.fromfile(os.path.join(directory, name), dtype=np.float64)
                if data.size == len(STAT_FIELDS):
                    total += data
    return dict(zip(STAT_FIELDS, total.tolist()))
