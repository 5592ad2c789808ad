"""Image fine-tuning: MAE's head (global pool + fc_norm, or [CLS]), mixup on images, the default recipe."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from maskssl import load_config, train
from maskssl.finetune import FinetuneTask, finetune, load_finetune_config
from maskssl.finetune.layer_decay import encoder_layer_ids

REPO = Path(__file__).resolve().parents[3]
TINY = ["encoder.embed_dim=32", "encoder.depth=2", "encoder.num_heads=2", "decoder.embed_dim=16", "decoder.depth=1",
        "decoder.num_heads=2", "data.limit=64", "train.batch_size=32", "train.log_every=1"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("image") / "run"
    train(load_config("image", overrides=[*TINY, "train.max_steps=2"]), run, progress=False)
    return run


@pytest.mark.parametrize("pool", ["mean", "cls"])
def test_head_reads_the_patch_mean_or_cls_and_gives_one_row_per_image(pretrained: Path, pool: str) -> None:
    config = load_finetune_config(pretrained, None, [f"finetune.head.pool={pool}"])
    task = FinetuneTask(config, None)
    model = task.build_model().eval()
    images, labels = torch.rand(5, 1, 8, 8), torch.arange(5)
    tokens = task.modality.tokenize((images, labels), torch.device("cpu"))
    encoded = model.encoder(tokens, None)
    assert encoded.latent.shape == (5, 1 + 16, 32)  # [CLS] + 4x4 patches of 2x2 pixels
    logits = model(tokens)
    assert logits.shape == (5, 10)
    pooled = encoded.latent[:, 1:].mean(dim=1) if pool == "mean" else encoded.latent[:, 0]
    head = model.head
    expected = head.linear(head.fc_norm(pooled))
    assert torch.allclose(logits, expected, atol=1e-6)


def test_vit_blocks_get_the_layer_decay_ids(pretrained: Path) -> None:
    task = FinetuneTask(load_finetune_config(pretrained, None, []), None)
    layers, depth = encoder_layer_ids(task.build_model().encoder)
    assert depth == 2
    assert layers["cls_token"] == layers["patch_embed.proj.weight"] == 0
    assert layers["blocks.0.attn.qkv.weight"] == 1 and layers["blocks.1.mlp.fc2.bias"] == 2
    assert layers["norm.weight"] == 3


def test_finetune_with_mixup_cutmix_and_layer_decay_runs(pretrained: Path, tmp_path: Path) -> None:
    config = load_finetune_config(
        pretrained, None,
        ["finetune.mixup=0.8", "finetune.cutmix=1.0", "finetune.layer_decay=0.65", "train.max_steps=3",
         "train.batch_size=16"],
    )
    result = finetune(config, tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert result.step == 3 and report["last"]["step"] == 3 and 0 <= report["last"]["top1"] <= 100
    assert report["num_classes"] == 10 and report["train_samples"] == 64


def test_a_bad_augmentation_setting_is_a_config_error() -> None:
    from maskssl.build import build_modality
    from maskssl.errors import ConfigError

    with pytest.raises(ConfigError, match="not a timm RandAugment string"):
        build_modality(load_config("image", overrides=["data.augment=[rand_augment]", "data.rand_augment=bogus"]))
    with pytest.raises(ConfigError, match="data.crop_scale"):
        build_modality(load_config("image", overrides=["data.augment=[resized_crop]", "data.crop_scale=[0.5,0.2]"]))
