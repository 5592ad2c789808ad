"""``data.dataset=folder``: the user's own point clouds and meshes, one file a cloud, under ``data.root``.

Layout (searched recursively; file formats in ``maskssl_pointcloud.data.mesh_formats``):
    <root>/<class>/.../*.ply   labelled: the first-level sub-folders are the classes, sorted -> 0..n-1
    <root>/*.ply               unlabelled (label None), when no sub-folder holds a supported file
    <root>/train/..., <root>/test/...   the splits, each laid out as above (classes: the union of both)
Without train/ and test/ folders, ``maskssl.data.holdout`` holds out a seeded, stratified share of the files
for "test" (data.test_fraction, data.split_seed). Supported files directly in a folder that also has
class sub-folders are an error (neither a class nor left out silently); other files are skipped and
counted on stderr. Files are read when a sample is indexed, so a broken one is a per-sample DataError
(``maskssl data check`` lists them, ``train.on_unreadable=skip`` leaves them out).
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from maskssl.data.holdout import describe_held_out, held_out_indices
from maskssl.errors import ConfigError, DataError
from maskssl.utils.distributed import rank
from maskssl_pointcloud.config import PointDataConfig
from maskssl_pointcloud.data.arrays import normalize_cloud, relabel
from maskssl_pointcloud.data.files import require_root
from maskssl_pointcloud.data.mesh_formats import READERS, read_shape
from maskssl_pointcloud.data.sampling import fixed_subset, sample_surface

SUFFIXES = ", ".join(READERS)
FOLDER_LAYOUT = (
    f"set data.root to a folder of {SUFFIXES} files, in one sub-folder per class for labels "
    f"(optionally split into <root>/train and <root>/test)"
)
_SAID: set[str] = set()  # notes already printed by this process


@dataclass(frozen=True)
class FolderFiles:
    """The files of one split: paths relative to the root (posix, sorted), labels [N] (None: unlabelled)
    and the class names the labels index (None: unlabelled)."""

    files: list[str]
    labels: list[int] | None
    classes: list[str] | None


def _say(line: str) -> None:
    """Print ``line`` to stderr once per process (from the first process of a distributed run only)."""
    if line not in _SAID and rank() == 0:
        _SAID.add(line)
        print(f"maskssl: {line}", file=sys.stderr, flush=True)


def _walk(root: Path) -> tuple[list[PurePosixPath], int]:
    """Supported files under ``root`` (relative, sorted) and the number of other files."""
    found, ignored = [], 0
    for directory, _, names in os.walk(root, followlinks=True):
        for name in names:
            if Path(name).suffix.lower() in READERS:
                found.append(PurePosixPath(Path(directory, name).relative_to(root).as_posix()))
            else:
                ignored += 1
    return sorted(found), ignored


def _classes(files: list[PurePosixPath], folder: Path) -> list[str] | None:
    """Sorted first-level sub-folder names of ``files`` (relative to ``folder``), None when all sit in it."""
    loose = [str(f) for f in files if len(f.parts) == 1]
    if len(loose) == len(files):
        return None
    if loose:
        shown = ", ".join(loose[:3]) + (f" and {len(loose) - 3} more" if len(loose) > 3 else "")
        raise DataError(
            f"{folder} has class sub-folders and also {len(loose)} point files directly in it ({shown}), "
            f"which belong to no class: move them into a class folder, or into a folder of their own"
        )
    return sorted({f.parts[0] for f in files})


def list_folder(root: Path) -> tuple[list[PurePosixPath], bool, list[str] | None]:
    """The supported files under ``root`` (relative to it, sorted); whether they are split into train/ and
    test/ (each path then starts with its split); the class names (None: unlabelled). Says what it skipped."""
    if not root.is_dir():
        raise DataError(f"data.root {root} is not a folder: {FOLDER_LAYOUT}")
    files, ignored = _walk(root)
    if not files:
        raise DataError(
            f"no point-cloud files under {root} (searched recursively for {SUFFIXES}; {ignored} other files)"
        )
    if ignored:
        _say(f"{root}: skipped {ignored} files that are not {SUFFIXES}")
    split_folders = [name for name in ("train", "test") if (root / name).is_dir()]
    if len(split_folders) == 1:
        other = "test" if split_folders[0] == "train" else "train"
        raise DataError(
            f"{root} has a {split_folders[0]}/ folder but no {other}/ folder: add {root / other}, or rename "
            f"{split_folders[0]}/ if it is a class"
        )
    if not split_folders:
        return files, False, _classes(files, root)
    inside = [f for f in files if f.parts[0] in ("train", "test")]
    if len(inside) < len(files):
        _say(f"{root}: skipped {len(files) - len(inside)} point files outside train/ and test/")
    classes: dict[str, list[str] | None] = {}
    for split in ("train", "test"):
        members = [PurePosixPath(*f.parts[1:]) for f in inside if f.parts[0] == split]
        if not members:
            raise DataError(f"no point-cloud files under {root / split} (searched recursively for {SUFFIXES})")
        classes[split] = _classes(members, root / split)
    train, test = classes["train"], classes["test"]
    if train is None or test is None:
        if train is not test:
            flat = "train" if train is None else "test"
            raise DataError(
                f"{root / flat} has no class sub-folders but the other split has: lay out train/ and test/ alike"
            )
        return inside, True, None
    return inside, True, sorted({*train, *test})


def split_files(root: Path, split: str, test_fraction: float, split_seed: int) -> FolderFiles:
    """The files of ``split``: those under <root>/<split>/ when the root is split, else a seeded,
    stratified held-out share ("test") or the rest ("train")."""
    files, presplit, classes = list_folder(root)
    labels = None if classes is None else [classes.index(f.parts[int(presplit)]) for f in files]  # class folder
    strata: list[int | None] = list(labels) if labels is not None else [None] * len(files)
    if presplit:
        chosen = [i for i, f in enumerate(files) if f.parts[0] == split]
    else:
        held_out = held_out_indices(strata, test_fraction, split_seed, "test")
        _say(f"{root}: " + describe_held_out(
            len(files), len(held_out), test_fraction, split_seed, "file", labelled=labels is not None
        ))
        chosen = held_out if split == "test" else held_out_indices(strata, test_fraction, split_seed, "train")
    chosen_labels = None if labels is None else [labels[i] for i in chosen]
    return FolderFiles([str(files[i]) for i in chosen], chosen_labels, classes)


def _file_key(relative: str) -> int:
    """A stable 64-bit integer of a relative path (the same in every process and Python run)."""
    return int.from_bytes(hashlib.blake2b(relative.encode("utf-8"), digest_size=8).digest(), "little")


class FolderClouds(Dataset):
    """One cloud per file under ``root``, read from disk when indexed.

    A sample is (xyz float32 [num_points, 3], label int, or None for unlabelled files): a mesh's surface
    sampled uniformly by area, or a point file's random subset of ``num_points`` points (fewer is a
    DataError), centred and scaled into the unit ball (``normalize_cloud``). The draws are seeded by
    (``seed``, the file's path relative to ``root``), so a file gives the same cloud in every epoch,
    process and resume, whichever split or position it has.
    """

    def __init__(self, root: Path, files: list[str], labels: np.ndarray | None, num_points: int, seed: int) -> None:
        self.root, self.files, self.num_points, self.seed = root, files, num_points, seed
        self.targets = labels  # [N] int64 or None; the core's sample_labels reads it without loading clouds

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[Tensor, int | None]:
        relative = self.files[index]
        path = self.root / relative
        shape = read_shape(path)
        rng = np.random.default_rng((self.seed, _file_key(relative)))
        if shape.triangles is None:
            points = fixed_subset(shape.vertices, self.num_points, rng, str(path))
        else:
            points = sample_surface(shape.vertices, shape.triangles, self.num_points, rng, str(path))
        label = None if self.targets is None else int(self.targets[index])
        return torch.from_numpy(normalize_cloud(points).astype(np.float32)), label


def build_folder_dataset(data: PointDataConfig, split: str, require_labels: bool) -> FolderClouds:
    """The ``split`` of ``data.root`` (a folder); ``require_labels``: a DataError for unlabelled files."""
    root = require_root(data.root, data.dataset, FOLDER_LAYOUT)
    if data.sample_seed < 0:
        raise ConfigError(f"data.sample_seed={data.sample_seed} must be 0 or more")
    found = split_files(root, split, data.test_fraction, data.split_seed)
    if found.labels is None and (require_labels or data.classes is not None):
        raise DataError(
            f"{'data.classes needs' if data.classes is not None else 'fine-tuning needs'} class labels, but the "
            f"files under {root} sit in no class sub-folder: put each class's files in <root>/<class name>/"
        )
    labels = None if found.labels is None else np.array(found.labels, dtype=np.int64)
    if labels is not None and data.classes is not None:
        labels = relabel(labels, found.classes or [], data.classes)
    return FolderClouds(root, found.files, labels, data.num_points, data.sample_seed)
