"""``python -m dalisr`` is the ``dalisr`` command."""

import subprocess
import sys


def test_python_m_dalisr_lists_the_commands():
    done = subprocess.run([sys.executable, "-m", "dalisr", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Usage: dalisr" in done.stdout
    assert "create-lmdb" in done.stdout and "profile" in done.stdout
