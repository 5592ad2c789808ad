"""The dataset a ``data`` section names, for one split."""

from __future__ import annotations

from torch.utils.data import Dataset, Subset

from maskssl.errors import DataError
from maskssl_pointcloud.config import PointDataConfig
from maskssl_pointcloud.data.arrays import PointArrayDataset, relabel
from maskssl_pointcloud.data.files import (
    MODELNET_LAYOUT,
    NPZ_LAYOUT,
    SCANOBJECTNN_LAYOUT,
    SHAPENET_LAYOUT,
    ShapeNet55,
    read_modelnet40_h5,
    read_npz,
    read_scanobjectnn,
    require_root,
)
from maskssl_pointcloud.data.folder import build_folder_dataset
from maskssl_pointcloud.data.procedural import ProceduralShapes


def build_point_dataset(data: PointDataConfig, split: str, require_labels: bool = False) -> Dataset:
    """(xyz float32 [num_points, 3], label int) samples of ``split`` ("train" or "test").

    Only a folder without class sub-folders has unlabelled samples (label None); ``require_labels`` makes
    that a DataError (fine-tuning).
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if data.dataset == "procedural":
        if data.classes is not None:
            raise DataError(
                "data.classes relabels file datasets; choose procedural classes with data.procedural_shapes"
            )
        dataset: Dataset = ProceduralShapes(
            split, data.procedural_size, data.num_points, data.procedural_shapes, data.procedural_noise,
            data.procedural_seed, data.procedural_pose,
        )
    elif data.dataset == "shapenet55":
        shapenet = ShapeNet55(require_root(data.root, data.dataset, SHAPENET_LAYOUT), split, data.num_points)
        if data.classes is not None:
            shapenet.labels = relabel(shapenet.labels, shapenet.classes, data.classes)
        dataset = shapenet
    elif data.dataset == "folder":
        dataset = build_folder_dataset(data, split, require_labels)
    else:
        if data.dataset == "modelnet40_h5":
            points, labels, names = read_modelnet40_h5(require_root(data.root, data.dataset, MODELNET_LAYOUT), split)
        elif data.dataset == "scanobjectnn":
            points, labels, names = read_scanobjectnn(
                require_root(data.root, data.dataset, SCANOBJECTNN_LAYOUT), split, data.variant
            )
        else:
            points, labels, names = read_npz(require_root(data.root, data.dataset, NPZ_LAYOUT), split)
        if data.classes is not None:
            if names is None:
                raise DataError(
                    f"data.classes needs class names, but the {data.dataset} files under {data.root} have none"
                )
            labels = relabel(labels, names, data.classes)
        dataset = PointArrayDataset(points, labels, data.num_points, f"{data.dataset} {split} ({data.root})")
    if data.limit is not None:
        dataset = Subset(dataset, range(min(data.limit, len(dataset))))
    return dataset
