"""The ``data`` and ``model`` sections of a point-cloud run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from maskssl_pointcloud.augment import Augmentation
from maskssl_pointcloud.ops import Backend

DatasetName = Literal["procedural", "modelnet40_h5", "shapenet55", "scanobjectnn", "npz", "folder"]


@dataclass
class PointDataConfig:
    """The ``data`` section (files are read from ``root``, never downloaded; see ``maskssl_pointcloud.data``).

    Attributes:
        dataset: procedural (generated, no files; the default), modelnet40_h5 (modelnet40_ply_hdf5_2048),
            shapenet55 (Point-MAE's npy + split files), scanobjectnn (h5 files), npz (packed arrays) or
            folder (your own .npy / .xyz / .ply / .off / .obj files, see ``maskssl_pointcloud.data.folder``).
        root: folder (or, for npz, file) the dataset is read from.
        num_points: points per cloud (clouds with more keep a fixed subset, see the dataset readers; folder
            meshes are sampled uniformly by area).
        classes: relabel a labelled file dataset: these class names get labels 0..n-1 in this order,
            every other shape gets label n ("rest"). None keeps the dataset's own labels.
        variant: scanobjectnn split: obj_bg, obj_only or pb_t50_rs (the hardest, "augmentedrot_scale75").
        procedural_size: clouds in the procedural train split (its test split has a quarter as many).
        procedural_shapes: shape classes of the procedural set (default: all of them, in the order of
            ``maskssl_pointcloud.data.procedural.SHAPES``).
        procedural_noise: std of the Gaussian noise added to procedural points (the shapes fit the unit ball).
        procedural_seed: the procedural set is a pure function of (seed, split, index).
        procedural_pose: upright (axis along y, random turn about it; aligned like ModelNet and ShapeNet)
            or any (uniformly random 3-D rotations: a harder, rotation-invariance task).
        sample_seed: folder: a file's cloud (its point subset, or its mesh's surface samples) is a pure
            function of (sample_seed, the file's path relative to root).
        test_fraction: folder without train/ and test/ sub-folders: share of each class held out for "test".
        split_seed: folder without train/ and test/ sub-folders: seed of that held-out split.
        limit: keep only the first N clouds of each split.
        augment: augmentations of pretraining batches (``maskssl_pointcloud.augment``), applied in this order.
    """

    dataset: DatasetName = "procedural"
    root: str | None = None
    num_points: int = 1024
    classes: list[str] | None = None
    variant: Literal["obj_bg", "obj_only", "pb_t50_rs"] = "pb_t50_rs"
    procedural_size: int = 2048
    procedural_shapes: list[str] | None = None
    procedural_noise: float = 0.01
    procedural_seed: int = 0
    procedural_pose: Literal["upright", "any"] = "upright"
    sample_seed: int = 0
    test_fraction: float = 0.1
    split_seed: int = 0
    limit: int | None = None
    augment: list[Augmentation] = field(default_factory=lambda: ["scale_translate"])


@dataclass
class PointModelConfig:
    """The ``model`` section: the tokenizer and the reconstruction loss.

    Attributes:
        num_groups: G, tokens per cloud (farthest point samples; Point-MAE: 64).
        group_size: k, points per token (nearest neighbours of each centre; Point-MAE: 32).
        loss: chamfer_l2 (Point-MAE's and Point-CMAE's) or chamfer_l1, per hidden group.
        backend: geometric ops (auto: pytorch3d when importable, else pure torch).
    """

    num_groups: int = 64
    group_size: int = 32
    loss: Literal["chamfer_l2", "chamfer_l1"] = "chamfer_l2"
    backend: Backend = "auto"
