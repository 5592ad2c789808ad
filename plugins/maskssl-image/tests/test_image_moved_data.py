"""A run whose image folder moved is evaluated and resumed with the new ``data.root``, and the move is recorded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskssl.cli import main
from maskssl.config.yaml_files import load_yaml


@pytest.mark.slow
def test_a_moved_data_folder_is_given_to_eval_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = tmp_path / "photos"
    for label in ("a", "b"):
        (photos / label).mkdir(parents=True)
        for index in range(10):
            pixels = np.full((8, 8, 3), 40 + 150 * (label == "b") + index, dtype=np.uint8)
            Image.fromarray(pixels).save(photos / label / f"{index}.png")
    run = tmp_path / "run"
    data = ["data.dataset=imagefolder", "data.image_size=8", "encoder.depth=1", "decoder.depth=1"]
    assert main(["train", "--modality", "image", "--out", str(run), "--no-progress", f"data.root={photos}", *data,
                 "train.max_steps=2", "train.batch_size=4", "train.ckpt_every=2"]) == 0
    moved = shutil.move(str(photos), str(tmp_path / "moved"))
    capsys.readouterr()
    assert main(["eval", str(run), "eval.probe.epochs=1"]) == 2  # the old folder is gone: one clear line
    assert "does not exist" in capsys.readouterr().err
    assert main(["eval", str(run), f"data.root={moved}", "eval.probe.epochs=1"]) == 0
    assert json.loads((run / "eval.json").read_text())["data_root"] == moved
    assert main(["train", "--resume", "--out", str(run), "--no-progress", f"data.root={moved}",
                 "train.max_steps=3"]) == 0
    assert load_yaml(run / "config.yaml")["data"]["root"] == moved
    moves = json.loads((run / "provenance.json").read_text())["data_root_moves"]
    assert moves == [{"from": str(photos), "to": moved}]
