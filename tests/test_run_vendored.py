"""`dalisr run basicsr/train.py` in a repository that vendors its own basicsr (DAT, SRFormer, CodeFormer): the copy
is imported, not the installed basicsr; it is judged by the names dalisr rebinds, not by its version (none here,
one warning says so); it has no video models; a 1.3.2-style copy (`parse`, its loop loading its resume state
itself) trains too; a copy lacking a name dalisr rebinds is refused, naming it. Real subprocesses, real training."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

if importlib.util.find_spec("basicsr") is None:
    pytest.skip("basicsr is not installed (pip install -e '.[basicsr]')", allow_module_level=True)

from dalisr.integrations.basicsr.importing import import_basicsr  # noqa: E402
from dalisr.integrations.basicsr.registry import registered_by  # noqa: E402
from tests.repos.vendored import make_vendored_repo  # noqa: E402
from tests.test_run_script import toy_options  # noqa: E402


def dalisr_run(repo, *args) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """`dalisr run ARGS` in the repository's root as the `dalisr` command runs it (python -P: the working
    directory is not on sys.path), the repository not installed and basicsr 1.4.2 installed."""
    record = repo / "record.jsonl"
    paths = [p for p in sys.path if p and os.path.realpath(p) != os.path.realpath(repo)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths), TOYHAT_RECORD=str(record))
    result = subprocess.run([sys.executable, "-P", "-m", "dalisr", "run", *args], cwd=repo, env=env,
                            capture_output=True, text=True, timeout=600)
    lines = record.read_text().splitlines() if record.exists() else []
    return result, [json.loads(line) for line in lines]


@pytest.mark.parametrize("variant", ["no-version", "parse"])
def test_vendored_copy_trains_with_dalisr_serving_its_sections(tmp_path, sample_set, variant):
    repo = tmp_path / "repo"
    make_vendored_repo(repo, sample_set, variant)
    toy_options(repo / "a.yml", 3)
    result, records = dalisr_run(repo, "basicsr/train.py", "-opt", "a.yml")
    log = result.stderr
    assert result.returncode == 0, result.stdout[-3000:] + log[-5000:]
    copy = os.path.realpath(repo / "basicsr")
    trained = [r for r in records if "iter" in r]
    assert [r["iter"] for r in trained] == [1, 2, 3]
    assert {(r["model"], r["basicsr"], r["basicsr_at"]) for r in trained} == {
        ("basicsr.models.toy_model.ToyHATModel", None, copy)}  # the copy's own classes, not the installed basicsr
    assert log.count("dalisr: basicsr ") == 1
    assert f"dalisr: basicsr unknown at {copy} is not known to be in the tested range >=1.3.4.9,<1.5" in log
    assert "dalisr: datasets.train (type PairedImageDataset) is served by dalisr: 8 samples from gt: disk store " \
        in log and "lq: disk store " in log
    assert "dalisr: datasets.val (type PairedImageDataset) is served by dalisr: 8 samples from gt: " in log
    assert ("dalisr: datasets.val_2 (type ToyPairedDataset, registered by basicsr.data.toy_paired_dataset) stays "
            "on the repository's own dataset and loader (dalisr: false)") in log
    validated = [(r["val"], r["loader"], r["dataset"]) for r in records if "val" in r]
    assert validated[:2] == [("Set5", "DalisrBatches", "DalisrDataset"), ("ToyVal", "DataLoader", "ToyPairedDataset")]
    assert (repo / "experiments" / "toyhat_x4" / "models" / "net_g_3.pth").exists()


def test_copy_lacking_a_name_dalisr_rebinds_is_refused_naming_it(tmp_path, sample_set):
    repo = tmp_path / "repo"
    make_vendored_repo(repo, sample_set, "no-build_dataloader")
    toy_options(repo / "a.yml", 1)
    result, records = dalisr_run(repo, "basicsr/train.py", "-opt", "a.yml")
    assert result.returncode == 1, result.stderr[-3000:]
    copy = os.path.realpath(repo / "basicsr")
    assert (f"basicsr unknown at {copy} lacks basicsr.train.build_dataloader, basicsr.data.build_dataloader, which "
            "dalisr rebinds to serve the data. Fix: ") in result.stderr
    assert "Traceback" not in result.stderr and records == []


def test_basicsr_own_dataset_types_are_not_taken_for_a_copy_own():
    """A copy's types that BasicSR has too stay BasicSR's (served or refused as such); only the types a copy adds
    (CodeFormer's FFHQBlindDataset) stay on its loader."""
    import_basicsr()
    from basicsr.utils.registry import DATASET_REGISTRY

    own = [name for name, cls in DATASET_REGISTRY if cls.__module__.startswith("basicsr.")]
    assert len(own) >= 11 and [n for n in own if registered_by(n) is not None] == []
