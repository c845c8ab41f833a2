"""tfrecords-to-images on TFRecord files written here with the real framing and CRC-32C."""

from __future__ import annotations

import os
import struct

import cv2
import lmdb
import numpy as np
import pytest
from click.testing import CliRunner

from dalisr import DalisrError
from dalisr.cli import main
from dalisr.prep.tfrecord import crc32c, iter_raw_records, masked_crc32c, parse_example


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- an independent writer: bitwise CRC-32C, hand-made protobuf -------------------------------------------------
def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):  # Castagnoli, reflected: 0x1EDC6F41 bit-reversed is 0x82F63B78
            c = (c >> 1) ^ (0x82F63B78 * (c & 1))
        table.append(c)
    return table


TABLE = _crc_table()


def ref_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def ref_masked(data: bytes) -> int:
    crc = ref_crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def int64_feature(values, packed=True) -> bytes:
    if packed:
        inner = ld(1, b"".join(varint(v) for v in values))
    else:
        inner = b"".join(varint(1 << 3 | 0) + varint(v) for v in values)
    return ld(3, inner)


def bytes_feature(value: bytes) -> bytes:
    return ld(1, ld(1, value))


def float_feature(values) -> bytes:
    return ld(2, ld(1, struct.pack(f"<{len(values)}f", *values)))


def example(features: dict[str, bytes]) -> bytes:
    return ld(1, b"".join(ld(1, ld(1, k.encode()) + ld(2, v)) for k, v in features.items()))


def frame(data: bytes) -> bytes:
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", ref_masked(length)) + data + struct.pack("<I", ref_masked(data))


def rgb_images(n: int, size: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(n)]


def ffhq_record(rgb: np.ndarray, packed: bool = True) -> bytes:
    h, w, c = rgb.shape
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    return frame(example({"shape": int64_feature([c, h, w], packed), "data": bytes_feature(chw.tobytes())}))


# -- tests ---------------------------------------------------------------------------------------------------------
def test_crc32c_check_value_and_long_buffers():
    assert ref_crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    data = np.random.default_rng(1).integers(0, 256, 70001, dtype=np.uint8).tobytes()  # the numpy lane path
    assert crc32c(data) == ref_crc32c(data)
    assert masked_crc32c(data) == ref_masked(data)


def test_example_parser_reads_every_feature_kind():
    data = example({"shape": int64_feature([3, -2, 2**40], packed=False), "data": bytes_feature(b"xyz"),
                    "mean": float_feature([0.5, -1.25])})
    features = parse_example(data)
    assert features["shape"].kind == "int64" and features["shape"].values == [3, -2, 2**40]
    assert features["data"].values == [b"xyz"]
    assert features["mean"].kind == "float" and features["mean"].values == [0.5, -1.25]


@pytest.mark.parametrize("workers", [1, 2])
def test_ffhq_records_to_png_folder(tmp_path, workers):
    images = rgb_images(3, 128)  # 49 KB records: the numpy CRC path
    path = tmp_path / "ffhq-r07.tfrecords"
    path.write_bytes(b"".join(ffhq_record(img, packed=i != 1) for i, img in enumerate(images)))
    out = tmp_path / "ffhq_128"
    result = run("tfrecords-to-images", str(tmp_path / "ffhq-r*.tfrecords"), out, "--log-resolution", 7,
                 "--workers", workers)
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(out)) == ["00000000.png", "00000001.png", "00000002.png"]
    for i, img in enumerate(images):
        np.testing.assert_array_equal(cv2.imread(str(out / f"{i:08d}.png")), img[:, :, ::-1])  # BGR on disk


def test_ffhq_records_to_lmdb_numbered_across_files(tmp_path):
    images = rgb_images(3, 16, seed=2)
    (tmp_path / "a.tfrecords").write_bytes(ffhq_record(images[0]) + ffhq_record(images[1]))
    (tmp_path / "b.tfrecords").write_bytes(ffhq_record(images[2]))
    out = tmp_path / "ffhq_16.lmdb"
    result = run("tfrecords-to-images", str(tmp_path / "*.tfrecords"), out, "--log-resolution", 4,
                 "--save-as", "lmdb", "-j", 1)
    assert result.exit_code == 0, result.output
    env = lmdb.open(str(out), readonly=True, lock=False)
    with env.begin() as txn:
        stored = {k.decode(): bytes(v) for k, v in txn.cursor()}
    env.close()
    assert sorted(stored) == ["00000000/r04", "00000001/r04", "00000002/r04"]
    for i, img in enumerate(images):
        decoded = cv2.imdecode(np.frombuffer(stored[f"{i:08d}/r04"], np.uint8), cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decoded, img[:, :, ::-1])
    assert (out / "meta_info.txt").read_text().splitlines()[0] == "00000000/r04.png (16,16,3) 1"


def test_celeba_records_are_hwc(tmp_path):
    img = rgb_images(1, 8, seed=3)[0]
    record = frame(example({"shape": int64_feature([8, 8, 3]), "data": bytes_feature(img.tobytes()),
                            "label": int64_feature([1])}))
    (tmp_path / "train-r03-s-0000-of-0001.tfrecords").write_bytes(record)
    out = tmp_path / "celeba"
    result = run("tfrecords-to-images", str(tmp_path / "train-r03-*.tfrecords"), out, "--format", "celeba",
                 "--log-resolution", 3, "-j", 1)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(cv2.imread(str(out / "00000000.png")), img[:, :, ::-1])


def test_truncated_file_names_file_and_offset(tmp_path):
    images = rgb_images(2, 16, seed=4)
    first = ffhq_record(images[0])
    path = tmp_path / "ffhq-r04.tfrecords"
    path.write_bytes(first + ffhq_record(images[1])[:-10])
    result = run("tfrecords-to-images", str(path), tmp_path / "out", "--log-resolution", 4, "-j", 1)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(path) in result.output and f"byte offset {len(first)}" in result.output
    assert "truncated" in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(DalisrError, match=f"truncated at byte offset {len(first)}"):
        [raw.check() for raw in iter_raw_records(str(path))]


def test_corrupt_data_fails_its_crc(tmp_path):
    record = bytearray(ffhq_record(rgb_images(1, 16, seed=5)[0]))
    record[40] ^= 0xFF
    path = tmp_path / "bad.tfrecords"
    path.write_bytes(bytes(record))
    result = run("tfrecords-to-images", str(path), tmp_path / "out.lmdb", "--log-resolution", 4,
                 "--save-as", "lmdb", "-j", 1)
    assert result.exit_code == 1 and "byte offset 0" in result.output and "CRC" in result.output
    assert not (tmp_path / "out.lmdb").exists()


def test_wrong_resolution_and_no_match_are_clean_errors(tmp_path):
    (tmp_path / "f.tfrecords").write_bytes(ffhq_record(rgb_images(1, 16)[0]))
    result = run("tfrecords-to-images", str(tmp_path / "f.tfrecords"), tmp_path / "o", "--log-resolution", 10)
    assert result.exit_code == 1 and "--log-resolution" in result.output and "16x16" in result.output
    result = run("tfrecords-to-images", str(tmp_path / "none-*.tfrecords"), tmp_path / "o")
    assert result.exit_code == 1 and "no TFRecord file matches" in result.output
