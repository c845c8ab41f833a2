"""Shared fixtures: the sample set, real memcached servers on loopback."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from dalisr.prep.sample_images import SampleSet, make_sample_set


def _torchvision_stand_in() -> str | None:
    """Put tests/stubs (a test-only torchvision, see its README.md) on sys.path where the real
    torchvision does not import (CPU torch, CUDA-only torchvision wheels), so the tests can import
    basicsr. Returns the folder to add to a subprocess's PYTHONPATH, or None where it is not needed."""
    try:
        import torchvision  # noqa: F401

        return None
    except Exception:
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        stubs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stubs")
        sys.path.insert(0, stubs)
        return stubs


#: the test-only torchvision's folder when it is in use (subprocesses need it on PYTHONPATH), else None
TORCHVISION_STUBS = _torchvision_stand_in()
# `import basicsr` (1.4.2) in any test needs torchvision.transforms.functional_tensor: dalisr's compat step
from dalisr.integrations.basicsr.importing import register_functional_tensor_alias  # noqa: E402

register_functional_tensor_alias()


@pytest.fixture(scope="session")
def sample_set(tmp_path_factory):
    """Eight GT sub-images with x2/x3/x4 LQ, as folders and as BasicSR LMDBs.

    ``DALISR_TEST_SAMPLE`` names a set made beforehand (``dalisr make-sample DIR
    --limit 8``), as tools/gpu_check.sh does once for all the GPU tests' processes.
    """
    made = os.environ.get("DALISR_TEST_SAMPLE")
    if made:
        sample = SampleSet(os.path.abspath(made))
        if not sample.exists():
            pytest.exit(f"DALISR_TEST_SAMPLE={made} is no complete sample set. Fix: dalisr make-sample {made} "
                        "--limit 8", returncode=2)
        return sample
    return make_sample_set(str(tmp_path_factory.mktemp("sample")), limit=8)


def default_sigint() -> None:
    """``preexec_fn`` for children a test interrupts: a shell that started the tests in the
    background may have set SIGINT to ignored, which the child would inherit."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemcachedServer:
    """A real memcached process on 127.0.0.1 that a test can stop and start again."""

    def __init__(self, item_limit: str | None = None) -> None:
        self.port = free_port()
        self.item_limit = item_limit
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> MemcachedServer:
        cmd = [shutil.which("memcached"), "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "64"]
        if self.item_limit:
            cmd += ["-I", self.item_limit]  # 512k or more: smaller limits clash with the slab chunk size
        if os.geteuid() == 0:
            cmd += ["-u", "root"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"memcached exited: {self.proc.stderr.read().decode()}") from None
                time.sleep(0.05)
        raise RuntimeError("memcached did not start listening")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def memcached():
    """Start real memcached servers: ``memcached()`` or ``memcached(item_limit='128k')``."""
    if shutil.which("memcached") is None:
        if os.environ.get("CI"):
            pytest.fail("memcached is not installed (tools/setup.sh installs it from Debian's packages)")
        pytest.skip("memcached is not installed; run tools/setup.sh")
    servers: list[MemcachedServer] = []

    def start(item_limit: str | None = None) -> MemcachedServer:
        server = MemcachedServer(item_limit).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where PyTorch sees a CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
