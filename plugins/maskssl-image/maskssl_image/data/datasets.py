"""Image datasets read from local files only (no downloads). Each sample is (image float32 [C, H, W], label int).

Pixels are scaled to [0, 1], then normalised per channel by the dataset's constants in ``STATS``:

    digits       mean 0.3053, std 0.3760: the 1797 images of sklearn's ``load_digits``, values / 16
    mnist        mean 0.1307, std 0.3081: the usual MNIST training-set values
    cifar10      mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616): CIFAR-10 training set
    imagefolder  ImageNet's mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225)

Splits ("train" / "test"):

    digits       sklearn ships no split: "test" is every 5th image (360), "train" the other 1437.
    mnist        with train-* present: "train" reads train-*, "test" reads t10k-*. With only t10k-*
                 (the offline copy in shared/data): "train" is its first 8000 images, "test" the last 2000.
    cifar10      "train" reads data_batch_1..5, "test" reads test_batch.
    imagefolder  <root>/train/ and <root>/test/ when both exist, else a held-out share of <root>
                 (``maskssl_image.data.files``).

``augment`` (training only) applies the per-sample augmentations of ``maskssl_image.augment``.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import Tensor
from torch.utils.data import Dataset, Subset

from maskssl.errors import DataError
from maskssl_image.augment import AugmentSettings, ImageTransform, image_transform
from maskssl_image.data.files import LAYOUT as IMAGEFOLDER_LAYOUT, image_files

STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "digits": ((0.3053,), (0.3760,)),
    "mnist": ((0.1307,), (0.3081,)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "imagefolder": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
"""Per-channel (mean, std) of pixels scaled to [0, 1]."""

SHAPES: dict[str, tuple[int, int, int]] = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
"""(C, H, W) of the fixed-size datasets; imagefolder is (3, image_size, image_size)."""

MNIST_LAYOUT = (
    "put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (optionally also train-images-idx3-ubyte.gz and "
    "train-labels-idx1-ubyte.gz; gzipped or plain) in <root>/MNIST/raw/ or directly in <root>, and set data.root"
)
CIFAR10_LAYOUT = (
    "extract the CIFAR-10 python version (cifar-10-python.tar.gz) so that <root>/cifar-10-batches-py/ holds "
    "data_batch_1 ... data_batch_5 and test_batch, and set data.root to <root>"
)


class ArrayImageDataset(Dataset):
    """Integer-valued images [N, C, H, W] in memory, scaled by ``max_value`` and transformed when read.

    Args:
        images: uint8 array [N, C, H, W] with values in 0..max_value.
        labels: integer array [N].
        max_value: the pixel value that maps to 1.0.
        transform: pixels [C, H, W] in [0, 1] -> normalised (and, in training, augmented) pixels.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, max_value: float, transform: ImageTransform) -> None:
        self.images = torch.from_numpy(images)  # [N, C, H, W] uint8
        self.targets = torch.from_numpy(labels.astype(np.int64))  # [N]
        self.max_value = max_value
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = self.images[index].float() / self.max_value  # [C, H, W] in [0, 1]
        return self.transform(image), int(self.targets[index])


def build_image_dataset(
    name: str,
    split: str,
    root: str | Path | None = None,
    image_size: int | None = None,
    limit: int | None = None,
    *,
    augment: AugmentSettings | None = None,
    test_fraction: float = 0.1,
    split_seed: int = 0,
) -> Dataset:
    """The dataset ``name`` ("digits", "mnist", "cifar10", "imagefolder") for ``split`` ("train" / "test").

    ``root`` is needed by every dataset but digits; ``image_size`` by imagefolder (the side images are
    cropped to), which also reads ``test_fraction`` and ``split_seed`` (held-out split). ``augment``:
    training augmentations, None for none. ``limit`` keeps the first N samples. Missing or malformed
    files raise DataError.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if name not in STATS:
        raise ValueError(f"unknown image dataset {name!r}; choose one of digits, mnist, cifar10, imagefolder")
    mean, std = STATS[name]
    side = SHAPES[name][1] if name in SHAPES else image_size
    if side is None:
        raise ValueError("the imagefolder dataset needs image_size (the side images are cropped to)")
    transform = image_transform(augment, side, name == "imagefolder", mean, std)
    if name == "digits":
        dataset: Dataset = _digits(split, transform)
    elif name == "mnist":
        dataset = _mnist(_require_root(root, name, MNIST_LAYOUT), split, transform)
    elif name == "cifar10":
        dataset = _cifar10(_require_root(root, name, CIFAR10_LAYOUT), split, transform)
    else:
        report = split == "train" and os.environ.get("RANK", "0") == "0"
        root_path = _require_root(root, name, IMAGEFOLDER_LAYOUT)
        dataset = image_files(root_path, split, transform, test_fraction, split_seed, report)
    if limit is not None:
        dataset = Subset(dataset, range(min(limit, len(dataset))))
    return dataset


def _require_root(root: str | Path | None, name: str, layout: str) -> Path:
    if root is None:
        raise DataError(f"dataset '{name}' reads local files but data.root is not set: {layout}")
    return Path(root).expanduser()


def _digits(split: str, transform: ImageTransform) -> ArrayImageDataset:
    digits = load_digits()
    is_test = np.arange(len(digits.target)) % 5 == 0
    keep = is_test if split == "test" else ~is_test
    images = digits.images.astype(np.uint8)[keep, None]  # [N, 1, 8, 8], values 0..16
    return ArrayImageDataset(images, digits.target[keep], 16.0, transform)


MNIST_TEST_ONLY_TRAIN = 8000
"""With only the t10k files, "train" is their first 8000 images and "test" the remaining 2000."""


def _mnist(root: Path, split: str, transform: ImageTransform) -> ArrayImageDataset:
    train_files = _mnist_files(root, "train")
    if train_files is not None:
        images, labels = _read_mnist(*(train_files if split == "train" else _require_mnist(root, "t10k", split)))
    else:
        images, labels = _read_mnist(*_require_mnist(root, "t10k", split))
        part = slice(None, MNIST_TEST_ONLY_TRAIN) if split == "train" else slice(MNIST_TEST_ONLY_TRAIN, None)
        images, labels = images[part], labels[part]
    return ArrayImageDataset(images[:, None], labels, 255.0, transform)


def _mnist_files(root: Path, prefix: str) -> tuple[Path, Path] | None:
    for folder in (root / "MNIST" / "raw", root):
        images_path = _plain_or_gz(folder / f"{prefix}-images-idx3-ubyte")
        labels_path = _plain_or_gz(folder / f"{prefix}-labels-idx1-ubyte")
        if images_path is not None and labels_path is not None:
            return images_path, labels_path
    return None


def _require_mnist(root: Path, prefix: str, split: str) -> tuple[Path, Path]:
    files = _mnist_files(root, prefix)
    if files is None:
        looked = f"{root / 'MNIST' / 'raw'}, {root}"
        raise DataError(f"MNIST files for split '{split}' not found (looked in {looked}): {MNIST_LAYOUT}")
    return files


def _read_mnist(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise DataError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    return images, labels


def _plain_or_gz(path: Path) -> Path | None:
    for candidate in (path, path.with_name(path.name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes (gzipped or plain) with ``ndim`` dimensions as a uint8 array.

    Raises DataError naming ``path`` for an unreadable file, a wrong magic number or a size that
    does not match the header.
    """
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read {path} ({type(exc).__name__}: {exc}); replace it with an intact copy") from exc
    if len(raw) < 4 or raw[:3] != b"\x00\x00\x08" or raw[3] != ndim:
        raise DataError(
            f"{path} is not an IDX file of unsigned bytes with {ndim} dimension(s) "
            f"(magic number {raw[:4].hex() or 'missing'}, expected 000008{ndim:02x}); replace it with an intact copy"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path} is truncated inside its header; replace it with an intact copy")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise DataError(
            f"{path} is truncated or corrupt: its header announces shape {dims} ({expected} bytes) but "
            f"{len(raw) - header} bytes follow; replace it with an intact copy"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def _cifar10(root: Path, split: str, transform: ImageTransform) -> ArrayImageDataset:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    folders = [root / "cifar-10-batches-py", root]
    folder = next((f for f in folders if all((f / n).is_file() for n in names)), None)
    if folder is None:
        looked = ", ".join(str(f) for f in folders)
        raise DataError(f"CIFAR-10 files {', '.join(names)} not found (looked in {looked}): {CIFAR10_LAYOUT}")
    batches = [_cifar_batch(folder / n) for n in names]
    images = np.concatenate([b[0] for b in batches]).reshape(-1, 3, 32, 32)  # [N, 3, 32, 32] uint8
    labels = np.concatenate([b[1] for b in batches])
    return ArrayImageDataset(images, labels, 255.0, transform)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: data uint8 [N, 3072], labels [N]. The format is pickle: trusted files only."""
    try:
        with path.open("rb") as f:
            batch = pickle.load(f, encoding="bytes")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:  # any unpickling or layout failure means a damaged batch file
        raise DataError(f"cannot read CIFAR-10 batch {path} ({type(exc).__name__}: {exc}): {CIFAR10_LAYOUT}") from exc
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise DataError(f"{path} is not a CIFAR-10 batch (data {data.shape}, {len(labels)} labels): {CIFAR10_LAYOUT}")
    return data, labels
