"""Every example runs, in its fast mode, from the installed packages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_custom_masker_from_python(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples/01_custom_masker.py"), "--epochs", "1", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "trained with masker 'centre'" in result.stdout


def test_custom_masker_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "maskssl", "train", "--modality", "image", "--import",
         str(REPO / "examples/01_custom_masker.py"), "masker.name=centre", "train.max_steps=3", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "name: centre" in (out / "config.yaml").read_text()
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1  # log_every 10 > 3 steps: the final step


def test_image_default_recipe_trains_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "maskssl", "train", "--modality", "image", "train.max_steps=12", "train.log_every=4",
         "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8, 12]
    assert {"loss", "reconstruction", "uniformity", "lr", "samples_per_s"} <= set(records[0])
