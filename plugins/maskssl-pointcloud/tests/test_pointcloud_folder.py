"""``data.dataset=folder``: file formats, area-weighted mesh sampling, labels, splits, bad files, the CLI."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from maskssl.cli import main
from maskssl.config.run import from_mapping
from maskssl.errors import DataError
from maskssl_pointcloud.config import PointDataConfig, PointModelConfig
from maskssl_pointcloud.data import FolderClouds, build_point_dataset, read_shape
from maskssl_pointcloud.data.sampling import sample_surface
from maskssl_pointcloud.modality import PointCloudModality

SQUARE = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=np.float64)  # a unit square's corners
TETRA = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
TETRA_FACES = [[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]
PLY_TYPES = {"float": "f", "double": "d", "int": "i", "uchar": "B"}


def data(**values: object) -> PointDataConfig:
    return from_mapping(PointDataConfig, dict(values), "data")


def write_ply(path: Path, vertices: np.ndarray, faces: list[list[int]] | None = None, fmt: str = "ascii",
              vertex_type: str = "float", normals: bool = False) -> Path:
    """A PLY file: vertex x y z (and nx ny nz), faces as ``uchar int vertex_indices`` lists."""
    columns = np.concatenate([vertices, np.ones_like(vertices)], axis=1) if normals else vertices
    names = ["x", "y", "z", "nx", "ny", "nz"][: columns.shape[1]]
    header = ["ply", f"format {fmt} 1.0", "comment written by a test", f"element vertex {len(vertices)}"]
    header += [f"property {vertex_type} {name}" for name in names]
    if faces is not None:
        header += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
    head = ("\n".join([*header, "end_header"]) + "\n").encode()
    if fmt == "ascii":
        rows = [" ".join(str(v) for v in row) for row in columns.tolist()]
        rows += [" ".join(str(i) for i in [len(face), *face]) for face in faces or []]
        body = ("\n".join(rows) + "\n").encode()
    else:
        endian = "<" if fmt == "binary_little_endian" else ">"
        code = PLY_TYPES[vertex_type]
        values = columns.astype(int) if code in "iB" else columns
        body = b"".join(struct.pack(f"{endian}{len(row)}{code}", *row) for row in values.tolist())
        body += b"".join(struct.pack(f"{endian}B{len(face)}i", len(face), *face) for face in faces or [])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(head + body)
    return path


def cloud(seed: int, points: int = 40) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(points, 3)) * 2 + 3


def triangle_set(triangles: np.ndarray) -> set[tuple[int, ...]]:
    """Triangles as vertex sets (a fan's winding and order do not matter here)."""
    return {tuple(sorted(row)) for row in triangles.tolist()}


# -- file formats ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "vertex_type"),
    [("ascii", "float"), ("binary_little_endian", "double"), ("binary_big_endian", "float"),
     ("binary_big_endian", "int")],
)
def test_ply_point_files(tmp_path: Path, fmt: str, vertex_type: str) -> None:
    points = np.round(cloud(0, 10)) if vertex_type == "int" else cloud(0, 10).astype(np.float32).astype(np.float64)
    shape = read_shape(write_ply(tmp_path / "points.ply", points, fmt=fmt, vertex_type=vertex_type, normals=True))
    assert shape.triangles is None and np.array_equal(shape.vertices, points)


def test_npy_and_xyz_point_files(tmp_path: Path) -> None:
    points = cloud(1, 6)
    np.save(tmp_path / "a.npy", np.concatenate([points, -points], axis=1))  # [P, 6]: xyz, then normals
    rows = [",".join(f"{v!r}" for v in [*row, 0.0, 0.0, 1.0]) for row in points.tolist()]
    (tmp_path / "b.xyz").write_text("# x, y, z, nx, ny, nz\n" + "\n".join(rows[:3]) + "\n\n" +
                                    "\n".join(" ".join(r.split(",")) for r in rows[3:]) + "\n")
    for name in ("a.npy", "b.xyz"):
        shape = read_shape(tmp_path / name)
        assert shape.triangles is None and np.array_equal(shape.vertices, points)


def test_mesh_files_ply_off_obj(tmp_path: Path) -> None:
    quad_and_triangle = [[0, 1, 2, 3], [0, 1, 2]]  # faces of 4 and 3 vertices: read row by row
    for fmt in ("ascii", "binary_little_endian", "binary_big_endian"):
        shape = read_shape(write_ply(tmp_path / f"{fmt}.ply", SQUARE, quad_and_triangle, fmt=fmt))
        assert shape.triangles.tolist() == [[0, 1, 2], [0, 1, 2], [0, 2, 3]]
        tetra = read_shape(write_ply(tmp_path / f"tetra_{fmt}.ply", TETRA, TETRA_FACES, fmt=fmt))  # one block
        assert tetra.triangles.tolist() == TETRA_FACES
    (tmp_path / "a.off").write_text("OFF\n# a comment\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n")
    (tmp_path / "modelnet.off").write_text("OFF4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n")
    (tmp_path / "a.obj").write_text(
        "# quads, slashes, negative indices\nmtllib a.mtl\no square\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\n"
        "vt 0 0\nvn 0 0 1\nf 1/1/1 2/1/1 3/1/1 4/1/1\nf -4//1 -3//1 -2//1\nl 1 2\n"
    )
    for name in ("a.off", "modelnet.off", "a.obj"):
        shape = read_shape(tmp_path / name)
        assert np.array_equal(shape.vertices, SQUARE)
        assert triangle_set(shape.triangles) == {(0, 1, 2), (0, 2, 3)} and len(shape.triangles) >= 2
    (tmp_path / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")  # no faces: a point cloud
    assert read_shape(tmp_path / "points.obj").triangles is None


def test_mesh_sampling_is_proportional_to_area_and_uniform_in_each_triangle() -> None:
    # triangle A (area 1) in the plane z = 0, triangle B (area 3) in the plane z = 5
    vertices = np.array([[0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 5], [3, 0, 5], [0, 2, 5]], dtype=np.float64)
    triangles = np.array([[0, 1, 2], [3, 4, 5]])
    count = 8000
    points = sample_surface(vertices, triangles, count, np.random.default_rng(0), "two triangles")
    on_b = np.isclose(points[:, 2], 5)
    assert np.all(on_b | (points[:, 2] == 0))
    # brute-force expectation: Binomial(8000, 3/4) points on B, mean 6000, sd 38.7; allow 5 sd
    assert abs(on_b.sum() - 6000) < 5 * np.sqrt(count * 0.75 * 0.25)
    for mask, (a, b, c) in ((~on_b, vertices[:3]), (on_b, vertices[3:])):
        inside = points[mask]
        # in the triangle: barycentric coordinates >= 0; uniform: the mean is the centroid (sd of the mean < 0.02)
        u = (inside[:, 0] - a[0]) / (b[0] - a[0])
        v = (inside[:, 1] - a[1]) / (c[1] - a[1])
        assert u.min() >= 0 and v.min() >= 0 and (u + v).max() <= 1 + 1e-9
        assert np.allclose(inside.mean(axis=0), (a + b + c) / 3, atol=0.06)


# -- the dataset ----------------------------------------------------------------------------------------------


def write_classes(root: Path, per_class: int = 10) -> None:
    """<root>/{chair,lamp,table}/: npy clouds, a binary ply mesh one level down and an obj mesh per class,
    and a readme."""
    for c, name in enumerate(("chair", "lamp", "table")):
        for i in range(per_class - 2):
            (root / name).mkdir(parents=True, exist_ok=True)
            np.save(root / name / f"{i}.npy", cloud(10 * c + i))
        write_ply(root / name / "deep" / "mesh.ply", TETRA * (c + 1), TETRA_FACES, fmt="binary_little_endian")
        (root / name / "mesh.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2 4\nf 1 4 3\nf 2 3 4\n")
    (root / "README.txt").write_text("not a cloud")


def test_labels_from_class_folders_and_a_stratified_disjoint_held_out_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_classes(tmp_path)
    config = data(dataset="folder", root=str(tmp_path), num_points=32, test_fraction=0.2, split_seed=3)
    train, test = build_point_dataset(config, "train"), build_point_dataset(config, "test")
    assert (len(train), len(test)) == (24, 6)
    assert set(train.files).isdisjoint(test.files) and len({*train.files, *test.files}) == 30
    assert np.bincount(test.targets).tolist() == [2, 2, 2] and np.bincount(train.targets).tolist() == [8, 8, 8]
    assert all(f.startswith(("chair/", "lamp/", "table/")) for f in train.files)
    assert {f.split("/")[0]: int(label) for f, label in zip(test.files, test.targets, strict=True)} == {
        "chair": 0, "lamp": 1, "table": 2}
    err = capsys.readouterr().err
    assert err.count("held out 6 of 30 files") == 1 and "skipped 1 files" in err
    points, label = train[0]
    assert points.shape == (32, 3) and points.dtype == torch.float32 and isinstance(label, int)
    assert torch.allclose(points.mean(0), torch.zeros(3), atol=1e-5) and points.norm(dim=1).max() == pytest.approx(1)
    other = build_point_dataset(data(dataset="folder", root=str(tmp_path), test_fraction=0.2, split_seed=4), "test")
    assert other.files != test.files
    relabelled = build_point_dataset(data(dataset="folder", root=str(tmp_path), classes=["table"]), "train")
    assert sorted(set(relabelled.targets.tolist())) == [0, 1] and (relabelled.targets == 0).sum() == 9


def test_clouds_are_a_pure_function_of_seed_and_relative_path(tmp_path: Path) -> None:
    write_classes(tmp_path, per_class=3)
    config = data(dataset="folder", root=str(tmp_path), num_points=16, test_fraction=0.0)
    a, b = build_point_dataset(config, "train"), build_point_dataset(config, "train")
    mesh = a.files.index("chair/deep/mesh.ply")
    assert all(torch.equal(a[i][0], b[i][0]) for i in range(len(a)))
    assert torch.equal(a[mesh][0], a[mesh][0])
    alone = FolderClouds(tmp_path, ["chair/deep/mesh.ply"], None, num_points=16, seed=0)  # another position
    assert torch.equal(alone[0][0], a[mesh][0])
    (tmp_path / "chair" / "copy.ply").write_bytes((tmp_path / "chair" / "deep" / "mesh.ply").read_bytes())
    assert not torch.equal(FolderClouds(tmp_path, ["chair/copy.ply"], None, 16, 0)[0][0], a[mesh][0])  # another path
    reseeded = build_point_dataset(data(dataset="folder", root=str(tmp_path), num_points=16, test_fraction=0.0,
                                        sample_seed=1), "train")
    assert not torch.equal(reseeded[mesh][0], a[mesh][0])
    assert len(build_point_dataset(config, "test")) == 0  # test_fraction 0: everything trains, nothing is tested


def test_train_and_test_folders_and_unlabelled_clouds(tmp_path: Path) -> None:
    for split, count in (("train", 3), ("test", 2)):
        for i in range(count):
            (tmp_path / split).mkdir(exist_ok=True)
            np.save(tmp_path / split / f"{i}.npy", cloud(i))
    np.save(tmp_path / "stray.npy", cloud(9))  # outside train/ and test/: skipped, and said
    config = data(dataset="folder", root=str(tmp_path), num_points=20)
    train, test = build_point_dataset(config, "train"), build_point_dataset(config, "test")
    assert train.files == ["train/0.npy", "train/1.npy", "train/2.npy"] and test.files == ["test/0.npy", "test/1.npy"]
    assert train.targets is None and train[0][1] is None
    modality = PointCloudModality(config, PointModelConfig(num_groups=4, group_size=4))
    batch = modality.collate([train[0], train[1]])
    assert batch[0].shape == (2, 20, 3) and batch[1] is None
    assert modality.tokenize(batch, torch.device("cpu")).labels is None
    with pytest.raises(DataError, match="fine-tuning needs class labels"):
        modality.finetune_dataset("train")
    with pytest.raises(DataError, match=r"data\.classes needs class labels"):
        build_point_dataset(data(dataset="folder", root=str(tmp_path), classes=["a"]), "train")


# -- bad input ------------------------------------------------------------------------------------------------


def truncated_ply(path: Path, faces: list[list[int]] | None) -> None:
    write_ply(path, cloud(0, 20), faces, fmt="binary_big_endian")
    path.write_bytes(path.read_bytes()[:-5])


BAD_FILES = {
    "truncated_mesh.ply": (lambda p: truncated_ply(p, TETRA_FACES), "truncated"),
    "truncated_points.ply": (lambda p: truncated_ply(p, None), "truncated"),
    "index.off": (lambda p: p.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n"),
                  "refers to vertex 7, but the file has 3 vertices"),
    "index.obj": (lambda p: p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 -4\n"), "refers to vertex 0"),
    "nan.xyz": (lambda p: p.write_text("0 0 0\n1 nan 0\n" * 20), "NaN or infinite values in 20 of 40 points"),
    "flat.obj": (lambda p: p.write_text("v 0 0 0\nv 1 1 1\nv 2 2 2\nf 1 2 3\n"), "zero total area"),
    **{f"empty{suffix}": (lambda p: p.write_bytes(b""), "the file is empty")
       for suffix in (".npy", ".xyz", ".ply", ".off", ".obj")},
    "few.npy": (lambda p: np.save(p, cloud(0, 5)), "has 5 points, fewer than data.num_points=16"),
    "flat.npy": (lambda p: np.save(p, np.zeros(16)), r"holds \(16,\), not an array of points"),
    "comments.off": (lambda p: p.write_text("# nothing\n"), "not an OFF file"),
    "short.xyz": (lambda p: p.write_text("1 2 3\n4 5\n"), "line 2 has fewer than 3 coordinates"),
    "bad.ply": (lambda p: p.write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n1\n"),
                "no x, y, z properties"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_a_data_error_of_its_sample_naming_it(tmp_path: Path, name: str) -> None:
    write, message = BAD_FILES[name]
    write_ply(tmp_path / "good.ply", TETRA, TETRA_FACES)
    write(tmp_path / name)
    dataset = build_point_dataset(data(dataset="folder", root=str(tmp_path), num_points=16, test_fraction=0), "train")
    assert dataset[dataset.files.index("good.ply")][0].shape == (16, 3)
    with pytest.raises(DataError, match=message) as caught:
        dataset[dataset.files.index(name)]
    assert str(tmp_path / name) in str(caught.value)


def test_folder_level_errors(tmp_path: Path) -> None:
    def build(root: Path) -> object:
        return build_point_dataset(data(dataset="folder", root=str(root)), "train")

    with pytest.raises(DataError, match=r"data\.root is not set"):
        build_point_dataset(data(dataset="folder"), "train")
    with pytest.raises(DataError, match="is not a folder"):
        build(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=rf"no point-cloud files under {re.escape(str(tmp_path))} \(searched "
                                        r"recursively for \.npy, \.xyz, \.ply, \.off, \.obj; 1 other files\)"):
        build(tmp_path)
    (tmp_path / "chair").mkdir()
    np.save(tmp_path / "chair" / "0.npy", cloud(0))
    np.save(tmp_path / "loose.npy", cloud(1))
    with pytest.raises(DataError, match=r"also 1 point files directly in it \(loose\.npy\)"):
        build(tmp_path)
    (tmp_path / "loose.npy").unlink()
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="has a train/ folder but no test/ folder"):
        build(tmp_path)
    (tmp_path / "test" / "chair").mkdir(parents=True)
    np.save(tmp_path / "train" / "0.npy", cloud(0))
    np.save(tmp_path / "test" / "chair" / "0.npy", cloud(0))
    with pytest.raises(DataError, match="train has no class sub-folders but the other split has"):
        build(tmp_path)


# -- the command line -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_pretrains_on_a_folder_of_ply_meshes_and_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meshes = tmp_path / "meshes"
    for c, name in enumerate(("tetra", "square")):
        for i in range(4):
            vertices, faces = (TETRA, TETRA_FACES) if c == 0 else (SQUARE, [[0, 1, 2, 3]])
            write_ply(meshes / name / f"{i}.ply", vertices * (1 + i / 4), faces, fmt="binary_little_endian")
    common = ["--modality", "pointcloud", "data.dataset=folder", f"data.root={meshes}", "data.num_points=32",
              "data.test_fraction=0.25", "model.num_groups=8", "model.group_size=8"]
    tiny = ["encoder.embed_dim=16", "encoder.depth=1", "encoder.num_heads=2", "encoder.pointnet_width=8",
            "decoder.embed_dim=16", "decoder.depth=1", "decoder.num_heads=2", "train.batch_size=3",
            "train.max_steps=2", "train.log_every=1"]
    assert main(["train", "--no-progress", "--out", str(tmp_path / "run"), *common, *tiny]) == 0
    out = capsys.readouterr()
    assert "held out 2 of 8 files" in out.err and "(step 2," in out.out
    (meshes / "square" / "broken.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\n")
    assert main(["data", "check", *common]) == 1
    out = capsys.readouterr().out
    assert f"cannot read point cloud {meshes / 'square' / 'broken.ply'}" in out
