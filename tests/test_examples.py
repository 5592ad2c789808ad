"""Every example runs, in its fast mode, from the installed packages (slow: deselect with -m "not slow")."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here runs a training script in a subprocess

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


# -- the numbered gallery examples (02-06), each in its --fast mode ------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_example(script: str, tmp_path: Path, *extra: str) -> str:
    """Run examples/<script> --fast --out tmp_path/out; returns its stdout after checking it exited 0."""
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / script), "--fast", "--out", str(tmp_path / "out"), *extra],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_png(path: Path, min_width: int = 300) -> None:
    """A real PNG picture: the signature, a non-trivial size, and an IHDR width of at least ``min_width`` pixels."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert len(data) > 10_000, f"{path} is only {len(data)} bytes"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= min_width and height >= 150, (width, height)


def test_mae_vs_umae_spectrum(tmp_path: Path) -> None:
    stdout = run_example("02_mae_vs_umae_spectrum.py", tmp_path)
    for method in ("random init", "MAE", "U-MAE"):
        line = rf"^{method} +linear probe +[\d.]+%  kNN +[\d.]+%  effective rank +[\d.]+ of 128"
        assert re.search(line, stdout, re.M)
    assert_png(tmp_path / "out" / "mae_vs_umae_spectrum.png")


def test_image_reconstructions_on_digits(tmp_path: Path) -> None:
    png = tmp_path / "grid.png"
    stdout = run_example("03_image_reconstructions.py", tmp_path, "--dataset", "digits", "--png", str(png))
    assert "digits: 4 steps, 12 of 16 patches hidden" in stdout
    match = re.search(r"hidden-patch MSE on the pictured test images: trained ([\d.]+), untrained ([\d.]+)", stdout)
    assert match and 0 < float(match[1]) < float(match[2])  # 4 steps already reconstruct better than random weights
    assert_png(png)


def test_image_reconstructions_on_shared_mnist(tmp_path: Path, require_shared_data: Callable[[str], Path]) -> None:
    require_shared_data("images/MNIST/raw/t10k-images-idx3-ubyte.gz")
    stdout = run_example("03_image_reconstructions.py", tmp_path, "--dataset", "mnist")
    assert "mnist: 4 steps, 37 of 49 patches hidden" in stdout
    assert_png(tmp_path / "out" / "image_reconstructions.png")


def test_pointcloud_reconstruction(tmp_path: Path) -> None:
    stdout = run_example("04_pointcloud_reconstruction.py", tmp_path)
    assert "point_cmae: 4 steps, 19 of 32 groups of 16 points hidden" in stdout
    match = re.search(r"hidden-group Chamfer-L2 on 16 test clouds: trained ([\d.]+), untrained ([\d.]+)", stdout)
    assert match and 0 < float(match[1]) < float(match[2])  # 4 steps already reconstruct better than random weights
    assert_png(tmp_path / "out" / "pointcloud_reconstruction.png")


def test_graphmae_cora_embedding(tmp_path: Path, require_shared_data: Callable[[str], Path]) -> None:
    require_shared_data("planetoid/Cora/raw/ind.cora.x")
    stdout = run_example("05_graphmae_cora_embedding.py", tmp_path)
    for name in ("random init", "GraphMAE, 3 epochs"):
        line = rf"^{name} +logreg test accuracy ([\d.]+) ± [\d.]+% \(val [\d.]+%\), effective rank"
        match = re.search(line, stdout, re.M)
        assert match and 14.3 < float(match[1]) <= 100  # above chance (1 of 7 classes)
    assert_png(tmp_path / "out" / "graphmae_cora_tsne.png")


def test_mask_ratio_sweep(tmp_path: Path) -> None:
    stdout = run_example("06_mask_ratio_sweep.py", tmp_path)
    header, *rows = [line.split() for line in stdout.splitlines()[:3]]
    assert header == ["ratio", "loss", "linear_probe", "knn", "effective_rank", "alignment", "uniformity", "separation"]
    assert [row[0] for row in rows] == ["0.5", "0.9"]
    sweep = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert [row["ratio"] for row in sweep] == [0.5, 0.9]
    assert_png(tmp_path / "out" / "mask_ratio_sweep.png")


def test_graph_example_names_the_missing_data(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples/05_graphmae_cora_embedding.py"), "--fast", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "MASKSSL_SHARED_DATA": str(tmp_path / "none")},
    )
    assert result.returncode == 1
    assert f"Cora not found at {tmp_path / 'none' / 'planetoid' / 'Cora' / 'raw'}" in result.stderr


def test_finetune_curves(tmp_path: Path) -> None:
    stdout = run_example("07_finetune_curves.py", tmp_path)
    for budget in ("all labels", "10% of the labels"):
        for init in ("U-MAE pretrained", "random init"):
            match = re.search(rf"^{budget} +{init} +top-1 per epoch: ([\d. ]+)$", stdout, re.M)
            assert match and len(match[1].split()) == 2  # one evaluation per epoch
    assert_png(tmp_path / "out" / "finetune_curves.png")


# -- examples/methods: one method per file, built by hand from the library's parts ---------------------


@pytest.mark.parametrize(
    ("script", "method"), [("mae_umae.py", "U-MAE"), ("point_cmae.py", "Point-CMAE"), ("graphmae.py", "GraphMAE")]
)
def test_method_script_trains_and_its_loss_goes_down(script: str, method: str) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "examples" / "methods" / script), "--steps", "5"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    steps = re.findall(r"^step +(\d+) +loss ([\d.]+)", result.stdout, re.M)
    assert [int(step) for step, _ in steps] == [1, 2, 3, 4, 5]
    match = re.search(rf"^{re.escape(method)}[^:]*: first loss ([\d.]+), last loss ([\d.]+)$", result.stdout, re.M)
    assert match, result.stdout[-2000:]
    first, last = float(match[1]), float(match[2])
    assert (first, last) == (float(steps[0][1]), float(steps[-1][1]))
    assert last < first
