"""The compact dataset index: shared with DALI's workers as a file handle, the same batches under fork, spawn
and after a rebuild, one-pass meta info parsing with the per-line errors, and no torch.distributed import."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dalisr import DalisrError, build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.datasets.keytable import KeyTable
from dalisr.datasets.shared import PREFIX, SharedArrays, sweep_stale
from dalisr.formats.meta_info import parse_line, read_meta_info, read_meta_table
from dalisr.graph.pipeline import RuntimeOptions
from dalisr.sampling import EpochPlan
from dalisr.sources.choose import ReadOptions, make_source

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def opt(sample_set, **extra):
    o = {"name": "t", "type": "PairedImageDataset", "phase": "train", "dataroot_gt": sample_set.gt_lmdb,
         "dataroot_lq": sample_set.lq_lmdb(4), "io_backend": {"type": "lmdb"}, "gt_size": 32, "scale": 4,
         "use_hflip": True, "use_rot": True, "use_shuffle": True, "batch_size_per_gpu": 2, "num_worker_per_gpu": 2}
    o.update(extra)
    return o


def test_key_table_round_trips_and_pickles_as_a_handle():
    keys = [f"{i:06d}_s{i % 7:03d}" for i in range(5000)] + ["ünï/çødé", ""]
    table = KeyTable.from_strings(keys)
    assert len(table) == len(keys) and table[3] == keys[3] and table[-2] == "ünï/çødé" and table[-1] == ""
    assert table.tolist() == keys
    data = pickle.dumps(table)
    assert len(data) < 1000 and b"000003_s003" not in data  # a file name, not the keys
    assert table.arrays.path is not None and os.path.isfile(table.arrays.path)
    copy = pickle.loads(data)
    assert copy.tolist() == keys and copy == table and copy.digest() == table.digest()
    assert KeyTable.from_strings(keys[:-1]).digest() != table.digest()
    assert pickle.dumps(table) == data  # published once: a rebuild pickles the same handle


def test_shared_file_goes_with_its_owner_and_stale_files_are_swept(tmp_path):
    script = textwrap.dedent("""
        import os, pickle, sys, numpy as np
        from dalisr.datasets.shared import SharedArrays
        a = SharedArrays({"x": np.arange(10)})
        pickle.dumps(a)
        print(a.path, flush=True)
        if sys.argv[1] == "kill":
            os._exit(0)  # like a killed process: no cleanup
    """)
    env = dict(os.environ, PYTHONPATH=ROOT, DALISR_SHM_DIR=str(tmp_path))
    path = subprocess.run([sys.executable, "-c", script, "exit"], env=env, capture_output=True, text=True,
                          check=True).stdout.split()[0]
    assert os.path.dirname(path) == str(tmp_path) and not os.path.exists(path)
    stale = subprocess.run([sys.executable, "-c", script, "kill"], env=env, capture_output=True, text=True,
                           check=True).stdout.split()[0]
    assert os.path.exists(stale) and os.path.basename(stale).startswith(PREFIX)
    sweep_stale(str(tmp_path))
    assert not os.path.exists(stale)


def test_shared_arrays_map_the_same_values():
    arrays = SharedArrays({"a": np.arange(7, dtype=np.int32), "b": np.array([1.5, 2.5]), "e": np.zeros(0)})
    copy = pickle.loads(pickle.dumps(arrays))
    for name in arrays:
        assert np.array_equal(copy[name], arrays[name]) and copy[name].dtype == arrays[name].dtype


def test_meta_table_matches_line_by_line_parsing(tmp_path):
    lines = ["a.png (8,8,3) 1", "", "b/c.png (8,10,3) 1", "d.png (8,8,3)  1", "e.png", "f.png (4,4) raw",
             "  ", "g.png (8,8,3) 1 extra", ".png (8,8,3) 1", "h..png (8,8,3) 1"]
    path = tmp_path / "meta_info.txt"
    path.write_text("\n".join(lines) + "\n")
    expected = [parse_line(line) for line in lines if line.strip()]
    assert read_meta_info(path) == expected
    table = read_meta_table(path)
    assert table.keys() == [e.key for e in expected]
    assert len(table.tails) <= 5  # one per distinct (shape, level) spelling


@pytest.mark.parametrize("line, message", [
    ("x.png (8,8,3 1", "bad shape '(8,8,3' (expected '(h,w,c)' without spaces) in line: x.png (8,8,3 1"),
    ("x.png (8,8,3) fast", "compression level 'fast' is neither an integer nor 'raw', 'jp2' or 'png-seek'"),
])
def test_meta_table_keeps_the_line_errors(tmp_path, line, message):
    path = tmp_path / "meta_info.txt"
    path.write_text(f"a.png (8,8,3) 1\n\n{line}\n")
    with pytest.raises(DalisrError) as err:
        read_meta_table(path)
    assert str(err.value).startswith(f"{path}:3: ") and message in str(err.value)


def test_worker_handle_carries_neither_index_nor_meta(sample_set):
    dataset, stores = build_dataset(load_dataset_options(opt(sample_set)))
    assert stores["gt"].meta()  # the store has read and cached its meta info ...
    source = make_source(dataset, stores, EpochPlan(num_samples=len(dataset), batch_size=2),
                         ReadOptions(train=True, gt_size=64, scale=4))
    data = pickle.dumps(source)
    assert b"0001_s001" not in data  # ... but neither it nor the keys travel to a spawned worker
    copy = pickle.loads(data)
    assert copy.dataset.keys_for(3, None) == dataset.keys_for(3, None)
    assert copy.stores["gt"].get("0001_s004") == stores["gt"].get("0001_s004")


def _epoch(loader, start: int = 0) -> list[dict]:
    out = []
    for batch in loader:
        out.append({k: (v.numpy().copy() if hasattr(v, "numpy") else v) for k, v in batch.items()})
    return out[start:] if start else out


def _same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["gt_path"] == y["gt_path"] and x["lq_path"] == y["lq_path"]
        assert np.array_equal(x["gt"], y["gt"]) and np.array_equal(x["lq"], y["lq"])


def test_fork_spawn_and_rebuild_give_the_same_batches(sample_set):
    batches = {}
    for start in ("fork", "spawn"):
        with build_dataloader(opt(sample_set, py_start_method=start), device="cpu", seed=3) as loader:
            assert isinstance(loader.runtime, RuntimeOptions) and loader.runtime.py_start_method == start
            batches[start] = _epoch(loader)
            if start == "spawn":  # a mid-epoch resume rebuilds the pipeline on the same shared index
                path = loader.dataset.gt_keys.arrays.path
                for pid in loader.worker_pids():  # the workers map the one shared file
                    with open(f"/proc/{pid}/maps") as f:
                        assert path in f.read()
                state = loader.state_dict()
                state.update(epoch=0, batch=2)
                loader.load_state_dict(state)
                batches["rebuilt"] = _epoch(loader)
                assert loader.dataset.gt_keys.arrays.path == path  # published once, reused
    assert len(batches["fork"]) == 4
    _same(batches["fork"], batches["spawn"])
    _same(batches["fork"][2:], batches["rebuilt"])


def test_build_dataloader_imports_neither_torch_nor_torch_distributed(sample_set):
    script = textwrap.dedent(f"""
        import sys
        from dalisr import build_dataloader
        loader = build_dataloader({opt(sample_set)!r}, device="cpu")
        assert len(loader) == 4
        print(sorted(m for m in ("torch", "torch.distributed") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("num_samples, enlarge", [(1000, 1), (333, 3), (8, 1)])
def test_epoch_order_is_the_generators_permutation_in_int32(num_samples, enlarge):
    plan = EpochPlan(num_samples=num_samples, batch_size=2, seed=7, enlarge_ratio=enlarge)
    for epoch in (0, 5):
        order = plan.permutation(epoch)
        expected = np.random.default_rng([7, epoch]).permutation(num_samples * enlarge) % num_samples
        assert order.dtype == np.int32 and np.array_equal(order, expected)


def test_lmdb_meta_in_another_order_or_with_repeats_gives_the_same_samples(sample_set, tmp_path):
    import shutil

    base = build_dataset(load_dataset_options(opt(sample_set)))[0].samples
    lq = tmp_path / "lq.lmdb"
    shutil.copytree(sample_set.lq_lmdb(4), lq)
    lines = (lq / "meta_info.txt").read_text().splitlines()
    (lq / "meta_info.txt").write_text("\n".join(lines[::-1] + lines[:2]) + "\n")
    dataset = build_dataset(load_dataset_options(opt(sample_set, dataroot_lq=str(lq))))[0]
    assert dataset.samples == base  # sorted, each key once, shapes looked up per key
    assert [s.shapes for s in base] == [{"gt": ((480, 480, 3),), "lq": ((120, 120, 3),)}] * len(base)


def test_paired_dataset_from_sample_objects_keeps_their_keys_and_paths():
    from dalisr.datasets.paired import PairedDataset, make_sample

    samples = [make_sample(f"g{i}.png", f"sub/l{i}x4.png", f"/gt/g{i}.png", f"/lq/sub/l{i}x4.png") for i in range(5)]
    owner = PairedDataset(samples)  # the shared files live as long as the index that published them
    dataset = pickle.loads(pickle.dumps(owner))
    assert dataset.samples == samples and dataset.name(2) == "g2"
    assert dataset.keys_for(3, None) == {"gt": ("g3.png",), "lq": ("sub/l3x4.png",)}
    assert dataset.batch_fields([4, 0], None) == {"gt_path": ["/gt/g4.png", "/gt/g0.png"],
                                                  "lq_path": ["/lq/sub/l4x4.png", "/lq/sub/l0x4.png"]}


def test_a_list_rule_replaces_meta_info_file(sample_set, tmp_path):
    from dalisr.datasets.paired import make_sample, paired_dataset

    meta = tmp_path / "meta.txt"
    meta.write_text("0001_s003.png (480,480,3)\n")
    cfg = load_dataset_options(opt(sample_set, dataroot_gt=sample_set.gt_folder, dataroot_lq=sample_set.lq_folder(4),
                                   io_backend={"type": "disk"}, meta_info_file=str(meta)))
    assert [s.name for s in paired_dataset(cfg).samples] == ["0001_s003"]
    rule = [make_sample("0001_s002.png", "0001_s002.png", "g", "l")]
    assert paired_dataset(cfg, listed=lambda c: rule).samples == rule
    assert len(paired_dataset(cfg, listed=lambda c: None)) == 8  # unset list file: the folder scan


def test_shape_checks_name_the_first_bad_sample_or_gt_size(sample_set):
    from dalisr.datasets.paired import check_shapes

    dataset = build_dataset(load_dataset_options(opt(sample_set)))[0]
    check_shapes(dataset, 4, 128, "w")
    with pytest.raises(DalisrError, match="Scale mismatches for key '0001_s001' in w"):
        check_shapes(dataset, 3, 96, "w")  # the first sample of all, as a per-sample loop finds it
    for index in (dataset, dataset.samples):  # compact or objects: the same answer
        with pytest.raises(DalisrError, match="gt_size 1024 is too large for every image of w.*at most 480"):
            check_shapes(index, 4, 1024, "w")
