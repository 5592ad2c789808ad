"""``maskssl data check`` on an image folder with broken files: every one is named, exit 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskssl.cli import main


def test_data_check_lists_every_unreadable_image_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for split in ("train", "test"):
        for name in ("a", "b"):
            (tmp_path / split / name).mkdir(parents=True)
            for index in range(2):
                pixels = (np.random.default_rng(index).random((12, 12, 3)) * 255).astype("uint8")
                Image.fromarray(pixels).save(tmp_path / split / name / f"{index}.png")
    (tmp_path / "train" / "a" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a whole jpeg")
    (tmp_path / "test" / "b" / "empty.png").write_bytes(b"")
    argv = ["data", "check", "--modality", "image", "data.dataset=imagefolder", f"data.root={tmp_path}",
            "data.image_size=8"]
    assert main(argv) == 1
    out = capsys.readouterr()
    assert "train: 5 samples, 1 unreadable" in out.out and "test: 5 samples, 1 unreadable" in out.out
    assert f"cannot read image {tmp_path / 'train' / 'a' / 'truncated.jpg'}" in out.out
    assert f"cannot read image {tmp_path / 'test' / 'b' / 'empty.png'}" in out.out
    assert "2 samples cannot be read" in out.err
    (tmp_path / "train" / "a" / "truncated.jpg").unlink()
    (tmp_path / "test" / "b" / "empty.png").unlink()
    assert main(argv) == 0
    assert "train: 4 samples, 0 unreadable" in capsys.readouterr().out


def test_training_skips_unreadable_images_when_told_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    for name in ("a", "b"):
        (photos / name).mkdir(parents=True)
        for index in range(4):
            pixels = (np.random.default_rng(index).random((8, 8, 3)) * 255).astype("uint8")
            Image.fromarray(pixels).save(photos / name / f"{index}.png")
    (photos / "a" / "empty.png").write_bytes(b"")
    common = ["train", "--modality", "image", "--no-progress", "data.dataset=imagefolder", f"data.root={photos}",
              "data.image_size=8", "data.test_fraction=0", "model.patch_size=4", "encoder.depth=1",
              "decoder.depth=1", "train.batch_size=4", "train.epochs=1"]
    assert main([*common, "--out", str(tmp_path / "stops")]) != 0
    assert f"cannot read image {photos / 'a' / 'empty.png'}" in capsys.readouterr().err
    assert main([*common, "--out", str(tmp_path / "skips"), "train.on_unreadable=skip"]) == 0
    assert "skipping 1 unreadable samples of the train split" in capsys.readouterr().err
