"""Point clouds held as arrays, Point-MAE's per-cloud normalisation, and relabelling by class name."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from maskssl.data.checks import check_finite
from maskssl.errors import DataError


def normalize_cloud(points: np.ndarray) -> np.ndarray:
    """Point-MAE's ``pc_norm``: points [N, 3] moved to their centroid and scaled into the unit ball."""
    centred = points - points.mean(axis=0)
    radius = np.sqrt((centred**2).sum(axis=1)).max()
    return centred / radius if radius > 0 else centred


def relabel(labels: np.ndarray, names: Sequence[str], keep: Sequence[str]) -> np.ndarray:
    """Labels [N] of class ``names[label]`` -> keep.index(name), or len(keep) ("rest") for other classes."""
    unknown = [name for name in keep if name not in names]
    if unknown:
        raise DataError(
            f"data.classes names {unknown} that the dataset does not have; its classes are: {', '.join(names)}"
        )
    lookup = np.array([keep.index(name) if name in keep else len(keep) for name in names], dtype=np.int64)
    return lookup[labels]


class PointArrayDataset(Dataset):
    """Clouds points [N, P, >=3] (xyz first; extra channels such as normals are dropped) and labels [N].

    A sample is (xyz float32 [num_points, 3], label int): the first ``num_points`` points of the cloud
    (the files' points are in random order, the PointNet convention), normalised by ``normalize_cloud``.
    """

    def __init__(self, points: np.ndarray, labels: np.ndarray, num_points: int, source: str) -> None:
        if points.ndim != 3 or points.shape[2] < 3 or len(points) != len(labels):
            raise DataError(
                f"{source}: expected points [N, P, >=3] and labels [N], got {points.shape} and {labels.shape}"
            )
        if points.shape[1] < num_points:
            raise DataError(f"{source} has {points.shape[1]} points per cloud, fewer than data.num_points={num_points}")
        self.points = np.ascontiguousarray(points[:, :num_points, :3], dtype=np.float32)  # [N, num_points, 3]
        check_finite(self.points, "point coordinates", source, unit="cloud")
        check_finite(labels, "labels", source, unit="cloud")
        self.labels = labels.astype(np.int64).reshape(-1)  # [N]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return torch.from_numpy(normalize_cloud(self.points[index])), int(self.labels[index])
