"""Stop DALI workers with the training process: on close, exit, Ctrl-C and SIGTERM.

Python dies on SIGTERM without running finalizers, which would orphan DALI's
worker processes. So while a loader runs, a SIGTERM handler (installed only
where none was set) closes every live loader, then lets the signal kill the
process as it would have. This registry is per process by nature.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import weakref

log = logging.getLogger(__name__)

_LIVE: weakref.WeakSet = weakref.WeakSet()
_INSTALLED = False


def _on_sigterm(signum, frame) -> None:
    for loader in list(_LIVE):
        try:
            loader.close()
        except Exception:  # pragma: no cover - dying anyway
            pass
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def track(loader) -> None:
    """Remember a running loader, and make SIGTERM close it (main thread, default handler only)."""
    global _INSTALLED
    _LIVE.add(loader)
    if _INSTALLED or threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
        _INSTALLED = True


def untrack(loader) -> None:
    _LIVE.discard(loader)


def shutdown_pipeline(pipe) -> None:
    """Terminate a pipeline's Python workers now, then release the pipeline itself."""
    pool = getattr(pipe, "_py_pool", None)
    if pool is not None:
        try:
            pool.close()
        except Exception as exc:  # pragma: no cover - best effort during teardown
            log.debug("closing DALI worker pool failed: %s", exc)
    try:
        pipe._shutdown()
    except Exception as exc:  # pragma: no cover
        log.debug("DALI pipeline shutdown failed: %s", exc)


def cuda_initialized() -> bool:
    """Whether CUDA is initialized in this process (by a GPU pipeline, or by PyTorch moving a model to the GPU).

    DALI then refuses to fork its Python workers, so a loader started afterwards, even on the CPU, must spawn
    them. ``nvidia.dali.backend.IsDriverInitialized`` is the check DALI itself makes before forking
    (tests/test_dali_private_hooks.py fails the day it moves)."""
    from nvidia.dali import backend

    return bool(backend.IsDriverInitialized())
