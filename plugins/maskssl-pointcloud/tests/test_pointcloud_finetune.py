"""Point-cloud fine-tuning: Point-MAE's head on [CLS] ‖ max-pool, layer ids, the default recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskssl import load_config, train
from maskssl.finetune import FinetuneTask, finetune, load_finetune_config
from maskssl.finetune.layer_decay import encoder_layer_ids

REPO = Path(__file__).resolve().parents[3]
TINY = ["data.num_points=128", "data.procedural_size=64", "model.num_groups=16", "model.group_size=8",
        "encoder.embed_dim=32", "encoder.depth=2", "encoder.num_heads=2", "encoder.pointnet_width=8",
        "decoder.embed_dim=32", "decoder.depth=1", "decoder.num_heads=2", "train.batch_size=16", "train.log_every=1"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("pointcloud") / "run"
    train(load_config("pointcloud", overrides=[*TINY, "train.max_steps=2"]), run, progress=False)
    return run


def test_head_reads_cls_and_max_pool_into_the_point_mae_mlp(pretrained: Path) -> None:
    task = FinetuneTask(load_finetune_config(pretrained, None, ["finetune.head.hidden=24"]), None)
    model = task.build_model().eval()
    batch = task.modality.collate([task.test_dataset[i] for i in range(4)])
    tokens = task.modality.tokenize(batch, torch.device("cpu"))
    latent = model.encoder(tokens, None).latent
    assert latent.shape == (4, 1 + 16, 32)
    features = torch.cat([latent[:, 0], latent[:, 1:].max(dim=1).values], dim=-1)  # [B, 2D]
    assert torch.allclose(model(tokens), model.head.mlp(features), atol=1e-6)
    mlp = model.head.mlp
    assert [type(m).__name__ for m in mlp] == [
        "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"
    ]
    assert mlp[0].in_features == 64 and mlp[0].out_features == 24 and mlp[3].p == 0.5
    assert mlp[-1].out_features == task.num_classes == 8


def test_point_transformer_blocks_get_layer_ids(pretrained: Path) -> None:
    encoder = FinetuneTask(load_finetune_config(pretrained, None, []), None).build_model().encoder
    layers, depth = encoder_layer_ids(encoder)
    assert depth == 2 and layers["blocks.blocks.1.attn.qkv.weight"] == 2
    assert layers["group_embed.first.0.weight" if "group_embed.first.0.weight" in layers else "cls_token"] == 0
    assert layers["norm.weight"] == 3


@pytest.mark.slow
def test_finetune_on_procedural_shapes_runs_and_reports(pretrained: Path, tmp_path: Path) -> None:
    config = load_finetune_config(pretrained, None, ["train.max_steps=3", "finetune.layer_decay=0.75"])
    finetune(config, tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert report["last"]["step"] == 3 and report["num_classes"] == 8


def test_mixup_is_refused_for_point_clouds(pretrained: Path) -> None:
    with pytest.raises(Exception, match="does not allow"):
        load_finetune_config(pretrained, None, ["finetune.mixup=0.8"])
