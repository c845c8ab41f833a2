"""Page cache helpers: which files back a dataset, reading them once, and the fits-in-memory check."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from dalisr import DalisrError
from dalisr.cli import main
from dalisr.storage.page_cache import check_fits, data_files, warm


def test_data_files_of_lmdb_folder_and_file(sample_set, tmp_path):
    assert data_files([sample_set.gt_lmdb]) == [os.path.join(sample_set.gt_lmdb, "data.mdb")]
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/b/2.png", "a/1.png", "a/.hidden", "top.png"):
        (tmp_path / name).write_bytes(b"x" * 10)
    assert data_files([str(tmp_path / "a"), str(tmp_path / "top.png")]) == [
        str(tmp_path / "a" / "1.png"), str(tmp_path / "a" / "b" / "2.png"), str(tmp_path / "top.png")]
    with pytest.raises(DalisrError, match=r"nope does not exist\. Fix"):
        data_files([str(tmp_path / "nope")])


def test_warm_reads_every_byte(sample_set):
    files = data_files([sample_set.gt_lmdb, sample_set.lq_folder(4)])
    seen = []
    result = warm(files, progress=seen.append)
    assert result.files == len(files) == 9
    assert result.bytes == sum(seen) == sum(os.path.getsize(f) for f in files)
    assert result.available is not None and result.available > 0  # MemAvailable of /proc/meminfo
    assert result.fits is True  # a few MB fit on any test machine


def test_check_fits_warns_when_lmdbs_exceed_memory(sample_set, caplog):
    size = os.path.getsize(os.path.join(sample_set.gt_lmdb, "data.mdb"))
    assert check_fits([sample_set.gt_lmdb], available=size) is None
    message = check_fits([sample_set.gt_lmdb, sample_set.gt_lmdb], available=size - 1)
    assert message is not None and sample_set.gt_lmdb in message and "exceeds the memory available" in message
    assert message in caplog.text


def test_warm_cache_command(sample_set, tmp_path):
    result = CliRunner().invoke(main, ["warm-cache", sample_set.gt_lmdb, sample_set.lq_lmdb(4)])
    assert result.exit_code == 0, result.output
    total = sum(os.path.getsize(os.path.join(p, "data.mdb")) for p in (sample_set.gt_lmdb, sample_set.lq_lmdb(4)))
    assert f"{total / 1e6:.1f} MB in 2 files" in result.output
    assert "fits in the memory available" in result.output
    config = tmp_path / "x4.yml"
    config.write_text(f"type: PairedImageDataset\ndataroot_gt: {sample_set.gt_lmdb}\n"
                      f"dataroot_lq: {sample_set.lq_lmdb(4)}\nio_backend: {{type: lmdb}}\nscale: 4\ngt_size: 128\n")
    result = CliRunner().invoke(main, ["warm-cache", str(config)])
    assert result.exit_code == 0 and f"{total / 1e6:.1f} MB in 2 files" in result.output, result.output
    config.write_text("type: PairedImageDataset\ndataroot_gt: a\ndataroot_lq: b\nscale: 4\ngt_size: 128\n"
                      "io_backend: {type: memcached, servers: ['127.0.0.1:1']}\n")
    result = CliRunner().invoke(main, ["warm-cache", str(config)])
    assert result.exit_code != 0 and "reads from memcached" in result.output, result.output
    result = CliRunner().invoke(main, ["warm-cache", "/no/such/dir"])
    assert result.exit_code != 0 and "/no/such/dir does not exist" in result.output


# -- residency: what is in the page cache now (mincore over a bounded sample of pages) ---------------------------------
def _evicted_file(tmp_path, size=8 << 20) -> str:
    path = str(tmp_path / "data.bin")
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return path


def test_residency_warns_when_the_data_is_not_cached_and_names_the_fix(tmp_path, caplog):
    from dalisr.storage.residency import check_resident, file_residency, residency

    path = _evicted_file(tmp_path)
    found = residency([path])
    if found is None or found.fraction > 0.2:
        pytest.skip("this filesystem keeps the file cached after POSIX_FADV_DONTNEED")
    resident, probed = file_residency(path)
    assert probed == 256 and resident <= probed  # a bounded sample: 256 of the file's 2048 pages
    with caplog.at_level("WARNING", logger="dalisr.storage.residency"):
        message = check_resident([path], min_bytes=0)
    assert message is not None and "dalisr warm-cache" in message and "--codec raw" in message
    assert "dalisr warm-cache" in caplog.text
    assert check_resident([path]) is None  # 8 MB not cached is not worth a warning by default
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass
    assert residency([path]).fraction == 1.0 and check_resident([path], min_bytes=0) is None


def test_loader_files_are_the_lmdbs_or_a_sample_of_the_folder(sample_set):
    from dalisr.config import load_dataset_options
    from dalisr.datasets import build_dataset
    from dalisr.storage.residency import loader_files

    base = {"name": "t", "type": "PairedImageDataset", "phase": "train", "gt_size": 64, "scale": 4}
    ds, stores = build_dataset(load_dataset_options({**base, "dataroot_gt": sample_set.gt_lmdb,
                                                     "dataroot_lq": sample_set.lq_lmdb(4),
                                                     "io_backend": {"type": "lmdb"}}))
    files, scale = loader_files(ds, stores)
    assert files == [os.path.join(sample_set.gt_lmdb, "data.mdb"), os.path.join(sample_set.lq_lmdb(4), "data.mdb")]
    assert scale == 1.0
    ds, stores = build_dataset(load_dataset_options({**base, "dataroot_gt": sample_set.gt_folder,
                                                     "dataroot_lq": sample_set.lq_folder(4),
                                                     "io_backend": {"type": "disk"}}))
    files, scale = loader_files(ds, stores, max_files=4)
    assert len(files) == 8 and all(os.path.isfile(f) for f in files) and scale == len(ds) / 4
