"""The user's own images: folder trees with or without classes, list files, held-out splits, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskssl.cli import main
from maskssl.errors import DataError
from maskssl_image.data.datasets import build_image_dataset
from maskssl_image.modality import ImageDataConfig, ImageModality, ImageModelConfig


def _save(path: Path, size: tuple[int, int] = (12, 10), mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = (np.random.default_rng(len(str(path))).random((size[1], size[0], 3)) * 255).astype("uint8")
    Image.fromarray(pixels).convert(mode).save(path)


def _files(dataset) -> list[Path]:  # noqa: ANN001
    return list(dataset.files)


def test_a_tree_with_images_at_the_root_and_in_nested_folders_uses_all_of_them_unlabelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(40):
        _save((tmp_path if index < 20 else tmp_path / "a" / "b") / f"{index}.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    train = build_image_dataset("imagefolder", "train", root=tmp_path, image_size=8)
    test = build_image_dataset("imagefolder", "test", root=tmp_path, image_size=8)
    assert len(train) + len(test) == 40 and len(test) == 4 and not set(_files(train)) & set(_files(test))
    assert train[0][0].shape == (3, 8, 8) and train[0][1] is None
    log = capsys.readouterr().err
    assert "40 images" in log and "20 images have no class and 20 do: the set is used unlabelled" in log
    assert "ignored 1 other files (.txt 1)" in log and "held out 4 of 40 images" in log


def test_class_folders_give_labels_and_the_held_out_share_is_stratified_and_seeded(tmp_path: Path) -> None:
    for name, count in (("cat", 20), ("dog", 10)):
        for index in range(count):
            _save(tmp_path / name / f"{index}.png")
    test = build_image_dataset("imagefolder", "test", root=tmp_path, image_size=8, test_fraction=0.2)
    train = build_image_dataset("imagefolder", "train", root=tmp_path, image_size=8, test_fraction=0.2)
    assert sorted(test.labels) == [0] * 4 + [1] * 2 and len(train) == 24 and train.classes == ["cat", "dog"]
    again = build_image_dataset("imagefolder", "test", root=tmp_path, image_size=8, test_fraction=0.2)
    other = build_image_dataset("imagefolder", "test", root=tmp_path, image_size=8, test_fraction=0.2, split_seed=1)
    assert _files(again) == _files(test) and _files(other) != _files(test)


def test_train_and_test_or_val_folders_are_the_splits_with_one_class_index(tmp_path: Path) -> None:
    for split, classes in (("train", ("ant", "bee", "cow")), ("val", ("bee",))):
        for name in classes:
            _save(tmp_path / split / name / "0.png")
    test = build_image_dataset("imagefolder", "test", root=tmp_path, image_size=8)
    assert len(test) == 1 and test.labels == [1] and test.classes == ["ant", "bee", "cow"]
    assert len(build_image_dataset("imagefolder", "train", root=tmp_path, image_size=8)) == 3


def test_a_list_file_names_images_with_optional_classes(tmp_path: Path) -> None:
    for name in ("x.png", "sub/y.png", "z.png"):
        _save(tmp_path / "pics" / name)
    listing = tmp_path / "pics" / "list.txt"
    listing.write_text("# my photos\nx.png\tred\nsub/y.png\tblue\n\nz.png\tred\n")
    dataset = build_image_dataset("imagefolder", "train", root=listing, image_size=8, test_fraction=0)
    assert len(dataset) == 3 and dataset.classes == ["blue", "red"] and dataset.labels == [1, 0, 1]
    listing.write_text("x.png\nmissing.png\n")
    with pytest.raises(DataError, match=r"1 image\(s\) listed in .*list.txt do not exist \(line 2: missing.png\)"):
        build_image_dataset("imagefolder", "train", root=listing, image_size=8)


def test_no_images_and_an_empty_split_are_named(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.md").write_text("x")
    with pytest.raises(DataError, match=r"no images found in .*empty \(ignored: 1 .md\)"):
        build_image_dataset("imagefolder", "train", root=tmp_path / "empty", image_size=8)
    with pytest.raises(DataError, match="does not exist"):
        build_image_dataset("imagefolder", "train", root=tmp_path / "nowhere", image_size=8)
    _save(tmp_path / "one" / "a.png")
    with pytest.raises(DataError, match="the test split of .* is empty.*raise data.test_fraction"):
        build_image_dataset("imagefolder", "test", root=tmp_path / "one", image_size=8)


def test_images_are_resized_and_cropped_grey_ones_converted_and_unreadable_ones_named(tmp_path: Path) -> None:
    _save(tmp_path / "cat" / "wide.png", size=(40, 30))
    _save(tmp_path / "cat" / "grey.png", size=(20, 50), mode="L")
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    data = ImageDataConfig(dataset="imagefolder", root=str(tmp_path), image_size=16, test_fraction=0)
    dataset = ImageModality(data, ImageModelConfig(patch_size=4)).build_dataset("train")
    files = [path.name for path in _files(dataset)]
    assert dataset[files.index("grey.png")][0].shape == (3, 16, 16)
    assert dataset[files.index("wide.png")][0].shape == (3, 16, 16)
    with pytest.raises(DataError, match="broken.png"):
        dataset[files.index("broken.png")]


@pytest.mark.slow
def test_unlabelled_folders_pretrain_and_evaluate_without_a_probe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for index in range(24):
        _save(tmp_path / "photos" / f"{index}.jpg", size=(20, 16))
    run = tmp_path / "run"
    argv = ["train", "--modality", "image", "--no-progress", "data.dataset=imagefolder",
            f"data.root={tmp_path / 'photos'}", "data.image_size=16", "model.patch_size=4", "encoder.depth=1",
            "decoder.depth=1", "train.batch_size=4", "train.max_steps=2", "--out", str(run)]
    assert main(argv) == 0
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    assert "not run: probe needs class labels" in out and "uniformity" in out and "effective rank" in out
    report = json.loads((run / "eval.json").read_text())
    assert "linear_probe" not in report and report["samples"]["test"] == 2


def test_a_truncated_jpeg_is_named(tmp_path: Path) -> None:
    _save(tmp_path / "cat" / "a.jpg", size=(40, 30))
    whole = (tmp_path / "cat" / "a.jpg").read_bytes()
    (tmp_path / "cat" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    dataset = build_image_dataset("imagefolder", "train", root=tmp_path, image_size=16, test_fraction=0)
    files = [path.name for path in _files(dataset)]
    assert dataset[files.index("a.jpg")][0].shape == (3, 16, 16)
    with pytest.raises(DataError, match=r"cannot read image .*cut.jpg \(image file is truncated.*\); replace or remove"):
        dataset[files.index("cut.jpg")]
