"""Readers of the common point-cloud dataset layouts; a missing file is a DataError saying what to put where.

ModelNet40 (PointNet's HDF5 release, ``modelnet40_ply_hdf5_2048``), root = that folder or its parent:
    ply_data_train0.h5 ... ply_data_train4.h5, ply_data_test0.h5, ply_data_test1.h5 (``data`` [n, 2048, 3],
    ``label`` [n, 1]) and shape_names.txt (one class name a line; needed for data.classes only).
ShapeNet-55 (Point-MAE's DATASET.md), root = the ``ShapeNet55-34`` folder:
    ShapeNet-55/train.txt and ShapeNet-55/test.txt (one ``<synset>-<model>.npy`` a line) and
    shapenet_pc/<synset>-<model>.npy (8192 x 3 float each). The class of a cloud is its synset id.
ScanObjectNN (h5_files of the release), root = the ``h5_files`` folder (holding main_split/, main_split_nobg/):
    obj_bg     main_split/{training,test}_objectdataset.h5
    obj_only   main_split_nobg/{training,test}_objectdataset.h5
    pb_t50_rs  main_split/{training,test}_objectdataset_augmentedrot_scale75.h5
    (``data`` [n, 2048, 3], ``label`` [n]).
Packed arrays, root = an .npz file with ``points`` [N, P, >=3] and ``y`` [N]; optional ``is_test`` bool [N]
    (otherwise every 5th cloud is a test cloud) and ``classes`` (names, needed for data.classes).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from maskssl.data.checks import check_finite
from maskssl.errors import DataError
from maskssl_pointcloud.data.arrays import normalize_cloud
from maskssl_pointcloud.data.sampling import fixed_subset

MODELNET_LAYOUT = (
    "download and unzip modelnet40_ply_hdf5_2048.zip so that <root> holds ply_data_train0.h5 ... ply_data_test1.h5 "
    "and shape_names.txt, and set data.root to <root>"
)
SHAPENET_LAYOUT = (
    "prepare ShapeNet-55 as in Point-MAE's DATASET.md so that <root>/ShapeNet-55/train.txt, "
    "<root>/ShapeNet-55/test.txt and <root>/shapenet_pc/*.npy exist, and set data.root to <root> "
    "(the ShapeNet55-34 folder)"
)
SCANOBJECTNN_LAYOUT = (
    "unzip ScanObjectNN's h5_files.zip and set data.root to its h5_files folder (holding main_split/ and "
    "main_split_nobg/)"
)
NPZ_LAYOUT = "set data.root to an .npz file with points [N, P, >=3] and y [N] (optional: is_test [N], classes)"

SCANOBJECTNN_FILES = {
    "obj_bg": ("main_split", "objectdataset"),
    "obj_only": ("main_split_nobg", "objectdataset"),
    "pb_t50_rs": ("main_split", "objectdataset_augmentedrot_scale75"),
}
SCANOBJECTNN_CLASSES = (
    "bag", "bin", "box", "cabinet", "chair", "desk", "display", "door", "shelf", "table", "bed", "pillow", "sink",
    "sofa", "toilet",
)
NPZ_TEST_EVERY = 5


def require_root(root: str | None, dataset: str, layout: str) -> Path:
    """data.root as a Path; DataError with the layout when it is unset."""
    if root is None:
        raise DataError(f"dataset '{dataset}' reads local files but data.root is not set: {layout}")
    return Path(root).expanduser()


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise DataError("reading HDF5 point clouds needs h5py: pip install h5py (or maskssl-pointcloud[h5])") from exc
    return h5py


def _read_h5(paths: list[Path], layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``data`` [n, P, 3] float32 and ``label`` [n] int64 of HDF5 files."""
    h5py = _h5py()
    points, labels = [], []
    for path in paths:
        try:
            with h5py.File(path, "r") as file:
                points.append(np.asarray(file["data"], dtype=np.float32))
                labels.append(np.asarray(file["label"], dtype=np.int64).reshape(-1))
        except (OSError, KeyError) as exc:
            raise DataError(f"cannot read {path} ({type(exc).__name__}: {exc}): {layout}") from exc
    return np.concatenate(points), np.concatenate(labels)


def read_modelnet40_h5(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(points [n, 2048, 3], labels [n], class names or None) of PointNet's ModelNet40 HDF5 split."""
    folder = next((f for f in (root, root / "modelnet40_ply_hdf5_2048") if list(f.glob("ply_data_*.h5"))), None)
    if folder is None:
        raise DataError(f"no ply_data_*.h5 files in {root} or {root / 'modelnet40_ply_hdf5_2048'}: {MODELNET_LAYOUT}")
    prefix = "ply_data_train" if split == "train" else "ply_data_test"
    paths = sorted(folder.glob(f"{prefix}*.h5"), key=lambda p: int(p.stem[len(prefix) :] or 0))
    if not paths:
        raise DataError(f"no {prefix}*.h5 in {folder}: {MODELNET_LAYOUT}")
    points, labels = _read_h5(paths, MODELNET_LAYOUT)
    names_file = folder / "shape_names.txt"
    names = names_file.read_text().split() if names_file.is_file() else None
    return points, labels, names


def read_scanobjectnn(root: Path, split: str, variant: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(points [n, 2048, 3], labels [n], the 15 class names) of a ScanObjectNN variant."""
    folder, stem = SCANOBJECTNN_FILES[variant]
    name = f"{'training' if split == 'train' else 'test'}_{stem}.h5"
    path = next((p for p in (root / folder / name, root / name) if p.is_file()), None)
    if path is None:
        raise DataError(f"ScanObjectNN {variant} file {root / folder / name} not found: {SCANOBJECTNN_LAYOUT}")
    points, labels = _read_h5([path], SCANOBJECTNN_LAYOUT)
    return points, labels, list(SCANOBJECTNN_CLASSES)


def read_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """(points [n, P, >=3], labels [n], class names or None) of the ``split`` part of a packed .npz file."""
    if not path.is_file():
        raise DataError(f"point-cloud file {path} not found: {NPZ_LAYOUT}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "points" not in arrays or "y" not in arrays:
                raise DataError(f"{path} holds {sorted(arrays.files)}, not points and y: {NPZ_LAYOUT}")
            points, labels = arrays["points"], arrays["y"]
            every_fifth = np.arange(len(labels)) % NPZ_TEST_EVERY == 0
            is_test = arrays["is_test"].astype(bool) if "is_test" in arrays else every_fifth
            names = [str(c) for c in arrays["classes"]] if "classes" in arrays else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:  # missing, truncated, not an .npz
        raise DataError(f"cannot read {path} ({type(exc).__name__}: {exc}): {NPZ_LAYOUT}") from exc
    check_finite(points, "point coordinates", str(path), unit="cloud")  # before the split: file row numbers
    keep = is_test if split == "test" else ~is_test
    return points[keep], labels[keep], names


class ShapeNet55(Dataset):
    """Point-MAE's ShapeNet-55: one .npy cloud [8192, 3] per line of the split file, read when indexed.

    A sample is (xyz float32 [num_points, 3], label int): a fixed random subset of ``num_points`` points
    (seeded by the index; Point-MAE draws a new subset at every read), normalised by ``normalize_cloud``.
    Labels index the sorted synset ids of the train split (``self.classes``).
    """

    def __init__(self, root: Path, split: str, num_points: int) -> None:
        lists = root / "ShapeNet-55"
        split_file = lists / f"{split}.txt"
        train_file = lists / "train.txt"
        for path in (split_file, train_file):
            if not path.is_file():
                raise DataError(f"ShapeNet-55 split file {path} not found: {SHAPENET_LAYOUT}")
        self.files = [root / "shapenet_pc" / name for name in split_file.read_text().split()]
        self.classes = sorted({line.split("-")[0] for line in train_file.read_text().split()})
        self.labels = np.array([self.classes.index(f.name.split("-")[0]) for f in self.files], dtype=np.int64)
        missing = next((f for f in self.files if not f.is_file()), None)
        if missing is not None:
            raise DataError(f"ShapeNet-55 cloud {missing} listed in {split_file} not found: {SHAPENET_LAYOUT}")
        self.num_points = num_points

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        path = self.files[index]
        try:
            cloud = np.load(path).astype(np.float32)[:, :3]
        except (OSError, ValueError) as exc:
            message = f"cannot read {path} ({type(exc).__name__}: {exc}); replace it with an intact copy"
            raise DataError(message) from exc
        check_finite(cloud, "point coordinates", str(path), unit="point")
        subset = fixed_subset(cloud, self.num_points, np.random.default_rng(index), str(path))
        return torch.from_numpy(normalize_cloud(subset)), int(self.labels[index])
