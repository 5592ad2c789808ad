"""Tiny GraphMAE runs through the core loop and the shared evaluation: node task, graph task, uniformity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from graph_files import path, star, write_tu

from maskssl import load_config, train
from maskssl.checkpoints.pretrained import load_pretrained
from maskssl.config.evaluation import EvalConfig, LogregSettings
from maskssl.eval.evaluate import evaluate, summary_rows

SMALL_GAT = ["encoder.hidden_dim=64", "model.pooled_nodes=64", "train.log_every=1"]


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_node_task_learns_and_evaluates_with_graphmae_protocol(tmp_path: Path) -> None:
    config = load_config("graph", overrides=[*SMALL_GAT, "train.epochs=100", "train.lr=0.01"])
    result = train(config, tmp_path / "run", progress=False)
    assert result.step == 100
    curve = losses(tmp_path / "run")
    assert sum(curve[-5:]) / 5 < 0.9 * sum(curve[:5]) / 5
    settings = EvalConfig(logreg=LogregSettings(seeds=2))
    device = torch.device("cpu")
    report = evaluate(load_pretrained(tmp_path / "run", device), device, settings)
    baseline = evaluate(load_pretrained(tmp_path / "run", device, random_init=True), device, settings)
    assert report["protocol"] == "logreg"
    assert report["samples"] == {"train": 100, "val": 200, "test": 700, "all": 1000}
    assert report["logreg"]["test_accuracy_mean"] > baseline["logreg"]["test_accuracy_mean"] + 8  # 73 vs 57
    assert 1.0 <= report["effective_rank"] <= 64 and -1 <= report["alignment"] <= 1
    assert any(name.startswith("logistic regression, test") for name, _ in summary_rows(report))


@pytest.mark.slow
def test_graph_task_with_gin_minibatches_and_svm_protocol(tmp_path: Path) -> None:
    graphs = [star(4 + i % 5) for i in range(20)] + [path(4 + i % 5) for i in range(20)]
    write_tu(tmp_path / "data", "TOY", graphs, [0] * 20 + [1] * 20, node_labels=False)
    config = load_config("graph", overrides=[
        "data.dataset=TOY", f"data.root={tmp_path / 'data'}", "encoder.name=gin", "decoder.name=gin",
        "encoder.hidden_dim=16", "encoder.num_layers=2", "model.pooling=sum", "train.batch_size=8", "train.epochs=3",
    ])
    result = train(config, tmp_path / "run", progress=False)
    assert result.step == 15  # 40 graphs / batch 8 = 5 steps per epoch
    device = torch.device("cpu")
    report = evaluate(load_pretrained(tmp_path / "run", device), device, EvalConfig())
    assert report["protocol"] == "svm" and report["samples"] == {"all": 40} and report["feature_dim"] == 16
    assert report["svm"]["folds"] == 10 and report["svm"]["accuracy_mean"] > 90  # stars vs paths


@pytest.mark.slow
def test_uniformity_regularizer_reads_the_node_sample(tmp_path: Path) -> None:
    config = load_config("graph", overrides=[
        *SMALL_GAT, "train.epochs=3", "regularizers.uniformity.weight=0.01", "online_probe_classes=5",
    ])
    train(config, tmp_path / "run", progress=False)
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[-1])
    assert 1 / 64 <= record["uniformity"] <= 1 and "probe_accuracy" in record
    assert record["loss"] > record["reconstruction"]
