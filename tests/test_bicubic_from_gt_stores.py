"""ImageNetPairedDataset from every store and list rule, and the values DALI must not decode itself: LMDB (JPEG
and PNG values), memcached, a folder scan, meta_info_file lines; CMYK, 16-bit PNG and gray values; the errors."""

from __future__ import annotations

import io
import os
import pickle
import shutil

import cv2
import numpy as np
import pytest

from dalisr import build_dataloader
from dalisr.config import load_dataset_options
from dalisr.datasets import build_dataset
from dalisr.errors import DalisrError
from dalisr.formats.codec import shape_if_dali_decodes_as_opencv
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.prep.sample_imagenet import encode_variant, make_imagenet_sample, photo_at
from dalisr.sources.gt_windows import decodable
from dalisr.storage import open_store
from tests.bicubic_support import imagenet_opt, max_diff, pairs_beside_reference, read_file

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def imagenet(tmp_path_factory):
    return make_imagenet_sample(str(tmp_path_factory.mktemp("imagenet")), count=12)


def listed(sample) -> list[str]:
    with open(sample.meta_info_file, encoding="utf-8") as f:
        return [line.split()[0] for line in f if line.strip()]


def test_lmdb_of_jpeg_values(imagenet, tmp_path):
    """BasicSR-format LMDB holding the JPEG files' bytes; gt_path is the key, as HAT's paths_from_lmdb."""
    out = tmp_path / "imagenet.lmdb"
    by_key = {}
    with LmdbWriter(out) as writer:
        for rel in listed(imagenet):
            key = os.path.splitext(rel)[0]
            by_key[key] = read_file(os.path.join(imagenet.gt_folder, rel))
            writer.put(key, by_key[key], name=rel, shape=(1, 1, 3))
    opt = imagenet_opt(imagenet, 4, dataroot_gt=str(out), io_backend={"type": "lmdb"})
    opt.pop("meta_info_file")
    paths = []
    for path, ours, ref in pairs_beside_reference(opt, read=by_key.__getitem__):
        assert max_diff(ours, ref) <= TOLERANCE, path
        paths.append(path)
    assert set(paths) <= set(by_key) and len(paths) == 12


def test_lmdb_of_png_values_made_by_create_lmdb(imagenet, tmp_path):
    """The LMDB BasicSR's scripts (and ``dalisr create-lmdb``) make: PNG values of the decoded images."""
    from click.testing import CliRunner

    from dalisr.cli import main

    flat = tmp_path / "flat"
    flat.mkdir()
    for rel in listed(imagenet)[:6]:
        shutil.copy(os.path.join(imagenet.gt_folder, rel), flat / os.path.basename(rel))
    out = tmp_path / "flat.lmdb"
    result = CliRunner().invoke(main, ["create-lmdb", str(flat), str(out), "--dataset", "folder"])
    assert result.exit_code == 0, result.output
    store = open_store({"type": "lmdb"}, str(out), "dataroot_gt")
    opt = imagenet_opt(imagenet, 3, dataroot_gt=str(out), io_backend={"type": "lmdb"}, batch_size_per_gpu=2)
    opt.pop("meta_info_file")
    for path, ours, ref in pairs_beside_reference(opt, read=store.get):
        assert max_diff(ours, ref) <= TOLERANCE, path


def test_memcached_read_through(imagenet, memcached):
    server = memcached()
    opt = imagenet_opt(imagenet, 2, io_backend={"type": "memcached", "servers": [server.address]})
    for path, ours, ref in pairs_beside_reference(opt):
        assert max_diff(ours, ref) <= TOLERANCE, path


def test_folder_scan_lists_the_image_files_sorted(tmp_path):
    for name in ("b.JPEG", "a.jpg", "c.png"):
        (tmp_path / name).write_bytes(encode_variant(photo_at("astronaut", 120, 160), "plain"))
    (tmp_path / "notes.txt").write_text("not an image")
    cfg = load_dataset_options({"type": "ImageNetPairedDataset", "dataroot_gt": str(tmp_path), "scale": 4,
                                "io_backend": {"type": "disk"}, "gt_size": 64})
    dataset, _ = build_dataset(cfg)
    assert [dataset.path(i) for i in range(len(dataset))] == [str(tmp_path / n) for n in ("a.jpg", "b.JPEG", "c.png")]


def test_meta_info_file_takes_each_lines_first_token(imagenet, tmp_path):
    meta = tmp_path / "meta.txt"
    rels = listed(imagenet)
    meta.write_text(f"{rels[0]}\n\n  {rels[1]} (333,500,3)\n{rels[2]}\t1\n")
    cfg = load_dataset_options(imagenet_opt(imagenet, 4, meta_info_file=str(meta)))
    dataset, _ = build_dataset(cfg)
    assert [dataset.path(i) for i in range(len(dataset))] == [os.path.join(imagenet.gt_folder, r) for r in rels[:3]]
    assert len(pickle.dumps(dataset)) < 2000  # the keys travel as a shared table, not as a list


def test_values_dali_would_decode_otherwise_are_handed_on_as_opencv_decodes_them():
    bgr = photo_at("chelsea", 100, 133)
    sixteen = cv2.imencode(".png", bgr.astype(np.uint16) * 257 + 5)[1].tobytes()
    for data, exact in ((encode_variant(bgr, "cmyk"), False), (sixteen, False), (encode_variant(bgr, "gray"), True),
                        (encode_variant(bgr, "png"), True), (encode_variant(bgr, "exif6"), True)):
        value, shape = decodable(data, "k", "test")
        want = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert shape == want.shape[:2] and (shape_if_dali_decodes_as_opencv(data) is not None) == exact
        assert np.array_equal(cv2.imdecode(value, cv2.IMREAD_COLOR), want)


def test_dali_decodes_what_it_is_trusted_with_as_opencv():
    """The claim shape_if_dali_decodes_as_opencv rests on: DALI's CPU decoder, whole and by region."""
    from nvidia.dali import fn, pipeline_def, types
    from PIL import Image

    bgr = photo_at("astronaut", 250, 333)
    rgb = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    values = [encode_variant(bgr, kind) for kind in ("plain", "gray", "png", "progressive", "exif6")]
    for mode, kw in (("P", {}), ("RGBA", {}), ("LA", {})):
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, "PNG", **kw)
        values.append(buf.getvalue())
    for sub in (0, 1):  # 4:4:4, 4:2:2 (4:2:0 is the plain one)
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", quality=90, subsampling=sub)
        values.append(buf.getvalue())
    arrays = [np.frombuffer(v, np.uint8) for v in values]

    @pipeline_def(batch_size=len(arrays), num_threads=1, device_id=None)
    def pipe():
        e = fn.external_source(source=lambda: arrays, batch=True)
        box = fn.decoders.image_slice(e, fn.constant(idata=[17, 29], dtype=types.INT32),
                                      fn.constant(idata=[150, 170], dtype=types.INT32), axes=[0, 1], device="cpu",
                                      output_type=types.BGR)
        return fn.decoders.image(e, device="cpu", output_type=types.BGR), box

    p = pipe()
    p.build()
    whole, box = p.run()
    for i, data in enumerate(values):
        assert shape_if_dali_decodes_as_opencv(data) is not None
        want = cv2.imdecode(arrays[i], cv2.IMREAD_COLOR)
        assert np.array_equal(np.array(whole[i]), want), i
        assert np.array_equal(np.array(box[i]), want[17:167, 29:199]), i


def test_errors_name_the_key_and_the_fix(imagenet, tmp_path):
    with pytest.raises(DalisrError, match=r"gt_size.*not a multiple of scale 3"):
        load_dataset_options(imagenet_opt(imagenet, 3, phase="val", gt_size=128))
    with pytest.raises(DalisrError, match=r"meta_info_file.*does not exist. Fix: point meta_info_file"):
        build_dataloader(imagenet_opt(imagenet, 4, meta_info_file=str(tmp_path / "none.txt")), device="cpu")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "tiny.JPEG").write_bytes(encode_variant(photo_at("astronaut", 3, 40), "plain"))
    (bad / "broken.JPEG").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    opt = {"type": "ImageNetPairedDataset", "dataroot_gt": str(bad), "scale": 4, "gt_size": 64, "use_shuffle": False,
           "io_backend": {"type": "disk"}, "batch_size_per_gpu": 1, "num_worker_per_gpu": 1}
    with pytest.raises(DalisrError, match=r"'broken.JPEG'.*does not decode"):
        next(iter(build_dataloader(opt, device="cpu")))
    (bad / "broken.JPEG").unlink()
    with pytest.raises(DalisrError, match=r"'tiny.JPEG'.*smaller than the scale 4. Fix: remove it"):
        next(iter(build_dataloader(opt, device="cpu")))
