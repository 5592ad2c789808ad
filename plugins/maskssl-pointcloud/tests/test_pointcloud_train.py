"""End to end through the core loop: Point-CMAE (two views) and Point-MAE (one view), then the shared eval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskssl.checkpoints.pretrained import load_pretrained
from maskssl.config.evaluation import EvalConfig, KnnSettings, ProbeSettings
from maskssl.config.load import load_config
from maskssl.eval.evaluate import evaluate
from maskssl.pretrain import train

REPO = Path(__file__).resolve().parents[3]
TINY = [
    "data.num_points=128",
    "data.procedural_size=96",
    "model.num_groups=16",
    "model.group_size=8",
    "encoder.embed_dim=32",
    "encoder.depth=1",
    "encoder.num_heads=2",
    "encoder.pointnet_width=8",
    "encoder.drop_path_rate=0",
    "decoder.embed_dim=32",
    "decoder.depth=1",
    "decoder.num_heads=2",
    "decoder.drop_path_rate=0",
    "train.epochs=4",
    "train.batch_size=16",
    "train.lr=3e-3",
    "train.warmup_epochs=0",
    "train.log_every=1",
]


def losses(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("recipe", "terms"),
    [("point_cmae.yaml", {"reconstruction", "comask"}), ("point_mae.yaml", {"reconstruction"})],
)
def test_tiny_pretraining_run_learns_and_evaluates(tmp_path: Path, recipe: str, terms: set[str]) -> None:
    config = load_config("pointcloud", REPO / "configs" / "pointcloud" / recipe, TINY)
    result = train(config, tmp_path, progress=False)
    records = losses(tmp_path)
    assert result.step == 24 and len(records) == 24
    assert terms <= set(records[0]) and not ({"comask"} - terms) & set(records[0])
    first, last = records[0]["reconstruction"], sum(r["reconstruction"] for r in records[-4:]) / 4
    assert last < 0.8 * first, f"reconstruction did not fall: {first:.4f} -> {last:.4f}"

    pretrained = load_pretrained(tmp_path, torch.device("cpu"))
    report = evaluate(pretrained, torch.device("cpu"), EvalConfig(probe=ProbeSettings(epochs=3), knn=KnnSettings(k=5)))
    assert report["feature_dim"] == 64  # [CLS] and max over groups, 32 each
    assert 0.0 <= report["linear_probe"]["test_accuracy"] <= 100.0
