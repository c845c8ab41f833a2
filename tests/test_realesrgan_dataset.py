"""RealESRGANDataset: BasicSR's flip-then-crop-or-pad to 400 on every backend, the kernels as batch keys.

The yardstick is BasicSR's own sequence of steps on the same draws, in numpy and
OpenCV: ``augment`` (hflip, vflip, transpose) of the whole GT, then
``cv2.copyMakeBorder(0, pad_h, 0, pad_w, BORDER_REFLECT_101)`` up to 400, then
a 400 crop at the position the loader's fractions choose.
"""

from __future__ import annotations

import itertools
import os

import cv2
import numpy as np
import pytest

from dalisr import build_dataloader
from dalisr.degrade.kernels import KernelOptions, draw_kernels
from dalisr.errors import DalisrError
from dalisr.formats.codec import encode_png, encode_value, image_shape
from dalisr.prep.lmdb_writer import LmdbWriter
from dalisr.sampling import sample_draws, window_anchor
from dalisr.sources.base import extra_rng
from dalisr.sources.crop_pad import crop_pad_plan, gather_unflipped, reflect_101

from . import reference as ref
from .test_degrade_kernels import OPTIONS as KERNEL_OPTIONS

SIZE = 400
# (h, w): pad rows and crop columns, exact, crop both, pad both beyond the image's own size, crop rows and pad columns
SHAPES = {"a_wide": (300, 520), "b_exact": (400, 400), "c_big": (480, 450), "d_tiny": (150, 120),
          "e_tall": (640, 350)}
SEED = 5
BATCH = 2


def basicsr_crop_pad(img: np.ndarray, flips, fractions) -> np.ndarray:
    """BasicSR's RealESRGANDataset steps on a BGR image with these draws."""
    (img,) = ref.augment([img], *(bool(f) for f in flips))
    h, w = img.shape[:2]
    if h < SIZE or w < SIZE:
        img = cv2.copyMakeBorder(img, 0, max(0, SIZE - h), 0, max(0, SIZE - w), cv2.BORDER_REFLECT_101)
    top, left = window_anchor(fractions, img.shape[0], img.shape[1], SIZE)
    return img[top:top + SIZE, left:left + SIZE]


def test_reflect_101_is_opencvs():
    for n in (1, 2, 3, 7, 150):
        line = np.arange(n, dtype=np.int32)[None, :]
        want = cv2.copyMakeBorder(line, 0, 0, 0, 3 * n + 5, cv2.BORDER_REFLECT_101)[0]
        assert np.array_equal(reflect_101(np.arange(4 * n + 5), n), want)


@pytest.mark.parametrize("shape", [(300, 520), (400, 400), (401, 399), (150, 120), (640, 350), (37, 800)])
def test_plan_equals_basicsr_steps_for_every_flip(shape):
    """Gathered, flips undone, then flipped as graph.augment flips: BasicSR's square, bit for bit."""
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    for flips in itertools.product((0, 1), repeat=3):
        fractions = rng.random(2, dtype=np.float32)
        plan = crop_pad_plan(*shape, flips, fractions, SIZE)
        top, left, h, w = plan.box
        emitted = gather_unflipped(img[top:top + h, left:left + w], plan, flips)
        (redone,) = ref.augment([emitted], *(bool(f) for f in flips))
        assert np.array_equal(redone, basicsr_crop_pad(img, flips, fractions)), flips


# -- data on every backend ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gt_images(tmp_path_factory):
    """Five noisy BGR images of the sizes in SHAPES, as a PNG folder, a PNG LMDB and a raw LMDB."""
    root = tmp_path_factory.mktemp("resrgan")
    folder = root / "gt"
    folder.mkdir()
    rng = np.random.default_rng(1)
    images = {}
    for name, (h, w) in SHAPES.items():
        img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (5, 5), 0)
        images[name] = img
        (folder / f"{name}.png").write_bytes(encode_png(img))
    for codec in ("png", "raw"):
        with LmdbWriter(str(root / f"gt_{codec}.lmdb")) as writer:
            for name, img in images.items():
                value, level = encode_value(img, codec)
                writer.put(name, value, f"{name}.png", image_shape(img), level)
    return root, images


def options(dataroot: str, backend: dict, **extra) -> dict:
    return {"name": "resrgan", "type": "RealESRGANDataset", "phase": "train", "dataroot_gt": dataroot,
            "io_backend": backend, "meta_info": None, **KERNEL_OPTIONS, "blur_kernel_size": 21,
            "blur_kernel_size2": 21, "gt_size": 256, "use_hflip": True, "use_rot": True, "use_shuffle": True,
            "batch_size_per_gpu": BATCH, "num_worker_per_gpu": 0, "num_threads": 1, "scale": 4, **extra}


def run(opt: dict, epochs: int = 2, seed: int = SEED) -> list[list[dict]]:
    loader = build_dataloader(opt, device="cpu", seed=seed, shard_id=0, num_shards=1)
    try:
        return [list(loader) for _ in range(epochs)]
    finally:
        loader.close()


def check_against_basicsr(epochs, images, name_of, seed=SEED) -> set:
    """Every sample of every batch: BasicSR's square on the same draws, and the kernels of its position."""
    kernels = KernelOptions.from_options(KERNEL_OPTIONS)
    seen = set()
    for epoch, batches in enumerate(epochs):
        for b, batch in enumerate(batches):
            assert set(batch) == {"gt", "gt_path", "kernel1", "kernel2", "sinc_kernel"}
            assert tuple(batch["gt"].shape) == (BATCH, 3, SIZE, SIZE)
            for key in ("kernel1", "kernel2", "sinc_kernel"):
                assert tuple(batch[key].shape) == (BATCH, 21, 21) and str(batch[key].dtype) == "torch.float32"
            for j in range(BATCH):
                position = b * BATCH + j
                fractions, flips = sample_draws(seed, epoch, position)
                name = name_of(batch["gt_path"][j])
                want = basicsr_crop_pad(images[name], flips, fractions)
                assert np.array_equal(ref.to_uint8(batch["gt"][j]), want), (epoch, b, j, name)
                for got, drawn in zip((batch["kernel1"][j], batch["kernel2"][j], batch["sinc_kernel"][j]),
                                      draw_kernels(kernels, extra_rng(seed, epoch, position))):
                    assert np.array_equal(got.numpy(), drawn)
                seen.add((name, tuple(int(f) for f in flips)))
    return seen


def stem(path: str) -> str:
    return os.path.splitext(os.path.basename(path))[0]


def test_disk_folder_matches_basicsr(gt_images):
    root, images = gt_images
    epochs = run(options(str(root / "gt"), {"type": "disk"}), epochs=3)
    seen = check_against_basicsr(epochs, images, stem)
    assert {name for name, _ in seen} == set(SHAPES)
    # padded images under a transpose (the padding then lies along the other axis of the source) were checked
    assert any(name in ("a_wide", "d_tiny", "e_tall") and flips[2] for name, flips in seen)
    for batches in epochs:
        for batch in batches:
            assert all(p.startswith(str(root / "gt") + os.sep) for p in batch["gt_path"])


@pytest.mark.parametrize("codec", ["png", "raw"])
def test_lmdb_matches_basicsr_and_paths_are_keys(gt_images, codec):
    root, images = gt_images
    epochs = run(options(str(root / f"gt_{codec}.lmdb"), {"type": "lmdb"}))
    check_against_basicsr(epochs, images, lambda p: p)
    assert {p for batches in epochs for batch in batches for p in batch["gt_path"]} <= set(SHAPES)


def test_memcached_gives_the_disk_batches(gt_images, memcached):
    root, images = gt_images
    server = memcached()
    backend = {"type": "memcached", "servers": [server.address]}
    got = run(options(str(root / "gt"), backend))
    check_against_basicsr(got, images, stem)
    want = run(options(str(root / "gt"), {"type": "disk"}))
    for a, b in zip(itertools.chain(*got), itertools.chain(*want)):
        assert a["gt_path"] == b["gt_path"]
        assert all(bool((a[k] == b[k]).all()) for k in ("gt", "kernel1", "kernel2", "sinc_kernel"))


def test_meta_info_lists_the_samples_in_its_order(gt_images, tmp_path):
    root, images = gt_images
    listing = tmp_path / "meta_info.txt"
    listing.write_text("d_tiny.png (150,120,3) 1\ne_tall.png\na_wide.png\n")
    opt = options(str(root / "gt"), {"type": "disk"}, meta_info=str(listing), use_shuffle=False)
    (batches,) = run(opt, epochs=1)
    assert [p for batch in batches for p in batch["gt_path"]] == [str(root / "gt" / "d_tiny.png"),
                                                                  str(root / "gt" / "e_tall.png")]
    check_against_basicsr([batches], images, stem)


def test_parallel_workers_same_batches_same_seed_and_resume(gt_images):
    """DALI's worker processes give the in-process batches; the same seed the same ones; a restored
    state the rest of the epoch; another seed other ones."""
    root, _ = gt_images
    opt = options(str(root / "gt"), {"type": "disk"}, dataset_enlarge_ratio=2)
    in_process = run(opt)
    workers = run({**opt, "num_worker_per_gpu": 2})
    again = run(opt)
    other = run(opt, seed=SEED + 1)

    def same(x, y):
        return x["gt_path"] == y["gt_path"] and all(
            bool((x[k] == y[k]).all()) for k in ("gt", "kernel1", "kernel2", "sinc_kernel"))

    flat = list(itertools.chain(*in_process))
    assert all(same(a, b) for a, b in zip(flat, itertools.chain(*workers)))
    assert all(same(a, b) for a, b in zip(flat, itertools.chain(*again)))
    assert not all(same(a, b) for a, b in zip(flat, itertools.chain(*other)))

    loader = build_dataloader(opt, device="cpu", seed=SEED, shard_id=0, num_shards=1)
    try:
        it = iter(loader)
        next(it)
        state = loader.state_dict()
    finally:
        loader.close()
    resumed = build_dataloader(opt, device="cpu", seed=SEED, shard_id=0, num_shards=1)
    try:
        resumed.load_state_dict(state)
        rest = list(resumed)
    finally:
        resumed.close()
    assert len(rest) == len(in_process[0]) - 1
    assert all(same(a, b) for a, b in zip(rest, in_process[0][1:]))


def test_no_flips_without_the_options(gt_images):
    root, images = gt_images
    (batches,) = run(options(str(root / "gt"), {"type": "disk"}, use_hflip=False, use_rot=False), epochs=1)
    for b, batch in enumerate(batches):
        for j in range(BATCH):
            fractions, _ = sample_draws(SEED, 0, b * BATCH + j)
            want = basicsr_crop_pad(images[stem(batch["gt_path"][j])], (0, 0, 0), fractions)
            assert np.array_equal(ref.to_uint8(batch["gt"][j]), want)


def test_option_errors_name_the_key(gt_images, tmp_path):
    root, _ = gt_images
    opt = options(str(root / "gt"), {"type": "disk"})
    del opt["sinc_prob2"]
    with pytest.raises(DalisrError, match="missing key 'sinc_prob2'"):
        build_dataloader(opt, device="cpu")
    with pytest.raises(DalisrError, match="kernel_prob"):
        build_dataloader(options(str(root / "gt"), {"type": "disk"}, kernel_prob=[1, 2]), device="cpu")
    with pytest.raises(DalisrError, match="meta_info"):
        build_dataloader(options(str(root / "gt"), {"type": "disk"}, meta_info=str(tmp_path / "none.txt")),
                         device="cpu")


def test_jpeg_files_and_jp2_lmdb_decode_whole_as_opencv_does(tmp_path):
    """Values that are not PNG (JPEG files, a JPEG 2000 LMDB) are decoded whole with OpenCV, as BasicSR does."""
    rng = np.random.default_rng(3)
    folder = tmp_path / "jpg"
    folder.mkdir()
    decoded = {}
    with LmdbWriter(str(tmp_path / "gt_jp2.lmdb")) as writer:
        for name, (h, w) in (("small", (210, 330)), ("large", (450, 520))):
            img = cv2.GaussianBlur(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), (7, 7), 0)
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
            (folder / f"{name}.jpg").write_bytes(buf.tobytes())
            decoded[name] = cv2.imdecode(buf, cv2.IMREAD_COLOR)
            value, level = encode_value(img, "jp2")
            writer.put(name, value, f"{name}.png", image_shape(img), level)
            decoded[f"{name}_jp2"] = img  # lossless
    epochs = run(options(str(folder), {"type": "disk"}), epochs=2)
    check_against_basicsr(epochs, decoded, stem)
    epochs = run(options(str(tmp_path / "gt_jp2.lmdb"), {"type": "lmdb"}), epochs=2)
    check_against_basicsr(epochs, decoded, lambda key: f"{key}_jp2")
