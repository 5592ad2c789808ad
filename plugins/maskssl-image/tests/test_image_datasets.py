"""Image datasets read from local files: digits, MNIST IDX files, CIFAR-10 batches."""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from maskssl.errors import DataError
from maskssl_image import ImageDataConfig, ImageModality, ImageModelConfig, build_image_dataset, read_idx

# -- datasets ------------------------------------------------------------------------------------


def test_digits_dataset() -> None:
    train, test = build_image_dataset("digits", "train"), build_image_dataset("digits", "test")
    assert (len(train), len(test)) == (1437, 360)  # test: every 5th of the 1797 images
    image, label = train[0]
    assert image.dtype == torch.float32 and image.shape == (1, 8, 8)
    assert isinstance(label, int) and label == 1 and test[0][1] == 0
    assert not torch.equal(train[0][0], test[0][0])
    pixels = torch.stack([d[i][0] for d in (train, test) for i in range(len(d))])
    assert abs(pixels.mean().item()) < 0.01 and abs(pixels.std().item() - 1) < 0.01
    assert len(build_image_dataset("digits", "test", limit=10)) == 10


def test_mnist_from_shared_data(shared_data: Path, require_shared_data: Callable[[str], Path]) -> None:
    mnist_raw = require_shared_data("images/MNIST/raw/t10k-images-idx3-ubyte.gz").parent
    for root in (shared_data / "images", mnist_raw):
        modality = ImageModality(ImageDataConfig(dataset="mnist", root=str(root)), ImageModelConfig(patch_size=4))
        # no train-* files: "train" is t10k's first 8000 images, "test" its last 2000
        dataset = modality.build_dataset("train")
        assert len(dataset) == 8000
        assert [dataset[i][1] for i in range(5)] == [7, 2, 1, 0, 4]  # the canonical first test labels
        image, _ = dataset[0]
        assert image.shape == (1, 28, 28) and image.dtype == torch.float32
        assert len(modality.build_dataset("test")) == 2000


def test_missing_mnist_root_says_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.*MNIST/raw"):
        build_image_dataset("mnist", "test", root=tmp_path / "nowhere")
    with pytest.raises(DataError, match="data.root is not set"):
        build_image_dataset("mnist", "test", root=None)


def write_idx(path: Path, dims: tuple[int, ...], data: bytes, magic: bytes | None = None) -> None:
    header = (magic or bytes([0, 0, 8, len(dims)])) + struct.pack(f">{len(dims)}I", *dims)
    path.write_bytes(gzip.compress(header + data))


def test_idx_reader_round_trip_and_malformed_files(tmp_path: Path) -> None:
    good = tmp_path / "good.gz"
    write_idx(good, (2, 3, 4), bytes(range(24)))
    assert read_idx(good, 3).tolist() == np.arange(24).reshape(2, 3, 4).tolist()
    truncated = tmp_path / "t10k-images-idx3-ubyte.gz"
    write_idx(truncated, (10, 28, 28), bytes(100))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz.*truncated"):
        read_idx(truncated, 3)
    bad_magic = tmp_path / "bad-magic"
    write_idx(bad_magic, (2, 3, 4), bytes(24), magic=b"\x00\x00\x0d\x03")
    with pytest.raises(DataError, match="bad-magic.*magic number"):
        read_idx(bad_magic, 3)
    cut_gzip = tmp_path / "cut.gz"
    cut_gzip.write_bytes(good.read_bytes()[:-12])
    with pytest.raises(DataError, match="cut.gz"):
        read_idx(cut_gzip, 3)


def test_truncated_mnist_file_in_a_root_gives_data_error(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "t10k-images-idx3-ubyte.gz", (3, 28, 28), bytes(28 * 28 * 2))
    write_idx(raw / "t10k-labels-idx1-ubyte.gz", (3,), bytes(3), magic=b"\x00\x00\x08\x01")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz"):
        build_image_dataset("mnist", "test", root=tmp_path)


def test_cifar10_batches(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [1, 9]}
        (folder / name).write_bytes(pickle.dumps(batch))
    train = build_image_dataset("cifar10", "train", root=tmp_path)
    assert len(train) == 10 and train[0][0].shape == (3, 32, 32) and train[1][1] == 9
    assert len(build_image_dataset("cifar10", "test", root=folder)) == 2
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch"):
        build_image_dataset("cifar10", "test", root=tmp_path)
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        build_image_dataset("cifar10", "train", root=tmp_path / "missing")
