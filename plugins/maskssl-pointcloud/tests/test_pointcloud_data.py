"""Datasets: procedural shapes, the file layouts (written here as tiny fakes), the shared ModelNet40 subset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from maskssl.config.run import from_mapping
from maskssl.errors import ConfigError, DataError
from maskssl_pointcloud.config import PointDataConfig
from maskssl_pointcloud.data import SHAPES, ProceduralShapes, build_point_dataset


def data(**values: object) -> PointDataConfig:
    return from_mapping(PointDataConfig, dict(values), "data")


def fake_clouds(n: int, points: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, points, 3)).astype(np.float32) * 3 + 5  # off-centre, large


# -- procedural ------------------------------------------------------------------------------------------------


def test_procedural_is_deterministic_by_seed_and_split() -> None:
    a, b = ProceduralShapes("train", 16, 64, seed=0), ProceduralShapes("train", 16, 64, seed=0)
    assert torch.equal(a[5][0], b[5][0]) and a[5][1] == b[5][1]
    assert not torch.equal(a[5][0], ProceduralShapes("train", 16, 64, seed=1)[5][0])
    test = ProceduralShapes("test", 16, 64, seed=0)
    assert len(a) == 16 and len(test) == 4
    assert not torch.equal(a[0][0], test[0][0])


def test_procedural_classes_cycle_and_clouds_fit_the_unit_ball() -> None:
    dataset = ProceduralShapes("train", 32, 256, noise=0.0)
    labels = [dataset[i][1] for i in range(len(dataset))]
    assert labels == [i % len(SHAPES) for i in range(32)]
    for i in range(len(SHAPES)):
        points, _ = dataset[i]
        assert points.shape == (256, 3) and points.dtype == torch.float32
        radius = points.norm(dim=1)
        assert radius.max() <= 1.0 + 1e-5 and radius.max() >= 0.7 - 1e-5  # normalised, then scaled by U(0.7, 1)
        assert torch.linalg.matrix_rank(points - points.mean(0)) == 3


def sphere_fit_residual(points: torch.Tensor) -> float:
    """RMS residual of the least-squares sphere |p|^2 = 2 p.c + (r^2 - |c|^2) through points [N, 3]."""
    p = points.double().numpy()
    design = np.concatenate([2 * p, np.ones((len(p), 1))], axis=1)
    target = (p**2).sum(axis=1)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    return float(np.sqrt(np.mean((design @ solution - target) ** 2)))


def test_procedural_sphere_is_a_sphere_and_noise_is_added() -> None:
    clean = ProceduralShapes("train", 8, 500, shapes=["sphere", "box"], noise=0.0)
    assert clean[0][1] == 0 and sphere_fit_residual(clean[0][0]) < 1e-5
    assert sphere_fit_residual(clean[1][0]) > 0.01  # a box is not a sphere
    noisy = ProceduralShapes("train", 8, 500, shapes=["sphere", "box"], noise=0.02)
    assert sphere_fit_residual(noisy[0][0]) > 1e-3


def test_procedural_rejects_unknown_or_single_shapes() -> None:
    with pytest.raises(ConfigError, match="knot"):
        ProceduralShapes("train", shapes=["sphere", "knot"])
    with pytest.raises(ConfigError, match="at least two"):
        ProceduralShapes("train", shapes=["sphere"])


# -- file layouts -----------------------------------------------------------------------------------------------


def write_h5(path: Path, points: np.ndarray, labels: np.ndarray) -> None:
    h5py = pytest.importorskip("h5py", reason="h5py reads the HDF5 layouts: pip install h5py")
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as file:
        file["data"] = points
        file["label"] = labels


def test_modelnet40_h5_layout_with_relabelling(tmp_path: Path) -> None:
    folder = tmp_path / "modelnet40_ply_hdf5_2048"
    write_h5(folder / "ply_data_train1.h5", fake_clouds(3, 40, 1), np.array([[2], [0], [1]], dtype=np.uint8))
    write_h5(folder / "ply_data_train0.h5", fake_clouds(2, 40, 0), np.array([[1], [1]], dtype=np.uint8))
    write_h5(folder / "ply_data_test0.h5", fake_clouds(4, 40, 2), np.array([[0], [1], [2], [2]], dtype=np.uint8))
    (folder / "shape_names.txt").write_text("airplane\nbathtub\nbed\n")
    train = build_point_dataset(data(dataset="modelnet40_h5", root=str(tmp_path), num_points=32), "train")
    assert len(train) == 5 and [train[i][1] for i in range(5)] == [1, 1, 2, 0, 1]  # files in numeric order
    points, _ = train[0]
    assert points.shape == (32, 3)
    assert torch.allclose(points.mean(0), torch.zeros(3), atol=1e-5) and points.norm(dim=1).max() == pytest.approx(1)
    relabelled = build_point_dataset(
        data(dataset="modelnet40_h5", root=str(folder), num_points=32, classes=["bed", "airplane"]), "test"
    )
    assert [relabelled[i][1] for i in range(4)] == [1, 2, 0, 0]  # bed -> 0, airplane -> 1, rest -> 2
    with pytest.raises(DataError, match="sofa"):
        build_point_dataset(data(dataset="modelnet40_h5", root=str(folder), num_points=32, classes=["sofa"]), "test")
    with pytest.raises(DataError, match="fewer than"):
        build_point_dataset(data(dataset="modelnet40_h5", root=str(folder), num_points=64), "test")


def test_scanobjectnn_variants(tmp_path: Path) -> None:
    write_h5(tmp_path / "main_split" / "training_objectdataset_augmentedrot_scale75.h5", fake_clouds(3, 50, 3),
             np.array([4, 14, 0]))
    write_h5(tmp_path / "main_split_nobg" / "test_objectdataset.h5", fake_clouds(2, 50, 4), np.array([1, 2]))
    hardest = build_point_dataset(data(dataset="scanobjectnn", root=str(tmp_path), num_points=50), "train")
    assert [hardest[i][1] for i in range(3)] == [4, 14, 0]
    only = build_point_dataset(
        data(dataset="scanobjectnn", root=str(tmp_path), num_points=50, variant="obj_only", classes=["bin"]), "test"
    )
    assert [only[i][1] for i in range(2)] == [0, 1]
    with pytest.raises(DataError, match="main_split/test_objectdataset_augmentedrot_scale75.h5"):
        build_point_dataset(data(dataset="scanobjectnn", root=str(tmp_path), num_points=50), "test")


def test_shapenet55_layout(tmp_path: Path) -> None:
    clouds = tmp_path / "shapenet_pc"
    clouds.mkdir()
    names = ["02691156-a.npy", "03001627-b.npy", "02691156-c.npy"]
    for i, name in enumerate(names):
        np.save(clouds / name, fake_clouds(1, 100, i)[0])
    (tmp_path / "ShapeNet-55").mkdir()
    (tmp_path / "ShapeNet-55" / "train.txt").write_text("\n".join(names) + "\n")
    (tmp_path / "ShapeNet-55" / "test.txt").write_text(names[1] + "\n")
    train = build_point_dataset(data(dataset="shapenet55", root=str(tmp_path), num_points=64), "train")
    assert [train[i][1] for i in range(3)] == [0, 1, 0]  # sorted synset ids
    points, _ = train[2]
    assert points.shape == (64, 3) and torch.equal(points, train[2][0])  # a fixed subset per cloud
    assert len(build_point_dataset(data(dataset="shapenet55", root=str(tmp_path), num_points=64), "test")) == 1
    (clouds / names[1]).unlink()
    with pytest.raises(DataError, match="03001627-b.npy"):
        build_point_dataset(data(dataset="shapenet55", root=str(tmp_path), num_points=64), "test")


def test_npz_layout_with_and_without_split(tmp_path: Path) -> None:
    path = tmp_path / "clouds.npz"
    np.savez(path, points=fake_clouds(10, 20, 5), y=np.arange(10) % 3, is_test=np.arange(10) >= 8,
             classes=np.array(["a", "b", "c"]))
    assert len(build_point_dataset(data(dataset="npz", root=str(path), num_points=20), "train")) == 8
    test = build_point_dataset(data(dataset="npz", root=str(path), num_points=20, classes=["c"]), "test")
    assert [test[i][1] for i in range(2)] == [0, 1]  # labels 2, 0 -> "c" is 0, the rest 1
    bare = tmp_path / "bare.npz"
    np.savez(bare, points=fake_clouds(10, 20, 6), y=np.zeros(10, dtype=np.int64))
    assert len(build_point_dataset(data(dataset="npz", root=str(bare), num_points=20), "test")) == 2  # every 5th
    with pytest.raises(DataError, match="class names"):
        build_point_dataset(data(dataset="npz", root=str(bare), num_points=20, classes=["a"]), "test")


@pytest.mark.parametrize("dataset", ["modelnet40_h5", "shapenet55", "scanobjectnn", "npz"])
def test_missing_files_say_what_to_put_where(tmp_path: Path, dataset: str) -> None:
    with pytest.raises(DataError, match="data.root"):
        build_point_dataset(data(dataset=dataset), "train")
    with pytest.raises(DataError, match=str(tmp_path)):
        build_point_dataset(data(dataset=dataset, root=str(tmp_path / "nothing_here")), "train")


def test_limit_keeps_the_first_clouds() -> None:
    dataset = build_point_dataset(data(procedural_size=40, num_points=32, limit=3), "train")
    assert len(dataset) == 3 and torch.equal(dataset[2][0], ProceduralShapes("train", 40, 32)[2][0])


# -- the shared ModelNet40 subset ---------------------------------------------------------------------------------


def test_shared_modelnet40_subset_loads_with_airplane_person_rest(require_shared_data: Callable[[str], Path]) -> None:
    path = require_shared_data("pointclouds/modelnet40_resampled_subset_1024.npz")
    config = data(dataset="npz", root=str(path), num_points=1024, classes=["airplane", "person"])
    train, test = build_point_dataset(config, "train"), build_point_dataset(config, "test")
    assert (len(train), len(test)) == (831, 148)
    points, _ = train[0]
    assert points.shape == (1024, 3) and points.norm(dim=1).max() == pytest.approx(1.0)
    labels = np.array([train[i][1] for i in range(len(train))] + [test[i][1] for i in range(len(test))])
    assert np.bincount(labels).tolist() == [726, 108, 145]


def test_non_finite_coordinates_and_truncated_files_are_named(tmp_path: Path) -> None:
    clouds = fake_clouds(10, 20, 5)
    clouds[3, 7, 1] = np.nan
    clouds[8, 0, 0] = np.inf
    path = tmp_path / "clouds.npz"
    np.savez(path, points=clouds, y=np.arange(10) % 3)
    with pytest.raises(DataError, match=r"clouds\.npz.*point coordinates hold NaN or infinite values in 2 of 10 "
                                        r"clouds \(cloud 3, 8\); clean or remove them"):
        build_point_dataset(data(dataset="npz", root=str(path), num_points=20), "train")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match=r"cannot read .*truncated\.npz \(BadZipFile"):
        build_point_dataset(data(dataset="npz", root=str(truncated), num_points=20), "train")
