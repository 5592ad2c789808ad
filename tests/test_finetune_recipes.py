"""Every fine-tuning recipe resolves against the pretraining recipe it is written for: keys, types, head, data."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskssl.build import build_modality
from maskssl.checkpoints.sources import PretrainedSource
from maskssl.config.load import load_config
from maskssl.config.yaml_files import load_yaml
from maskssl.finetune.config import resolve_finetune_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PRETRAINED_BY = {  # fine-tuning recipe -> (modality, pretraining recipe or None for the modality's default)
    "image/finetune/digits.yaml": ("image", None),
    "image/finetune/mnist.yaml": ("image", "image/mnist_umae.yaml"),
    "image/finetune/cifar10_vit_tiny.yaml": ("image", "image/cifar10_vit_tiny_umae.yaml"),
    "image/finetune/imagenet_vit_base.yaml": ("image", "image/imagenet_vit_base_mae.yaml"),
    "image/finetune/imagenet_vit_large.yaml": ("image", "image/imagenet_vit_base_mae.yaml"),
    "pointcloud/finetune/procedural.yaml": ("pointcloud", None),
    "pointcloud/finetune/modelnet_subset.yaml": ("pointcloud", "pointcloud/modelnet_subset_point_mae.yaml"),
    "pointcloud/finetune/modelnet40.yaml": ("pointcloud", "pointcloud/shapenet55_point_mae.yaml"),
    "pointcloud/finetune/scanobjectnn_pb_t50_rs.yaml": ("pointcloud", "pointcloud/shapenet55_point_cmae.yaml"),
    "graph/finetune/synthetic.yaml": ("graph", None),
    "graph/finetune/tu.yaml": ("graph", "graph/mutag.yaml"),
    "graph/finetune/cora.yaml": ("graph", "graph/cora.yaml"),
}


def test_every_finetune_recipe_is_checked_here() -> None:
    assert sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.glob("*/finetune/*.yaml")) == sorted(PRETRAINED_BY)


@pytest.mark.parametrize("recipe", sorted(PRETRAINED_BY))
def test_finetune_recipe_resolves(recipe: str) -> None:
    modality, pretraining = PRETRAINED_BY[recipe]
    pretrained = load_config(modality, CONFIGS / pretraining if pretraining else None)
    source = PretrainedSource(path=Path("runs/x"), config=pretrained.to_dict(), encoder_state={}, step=0)
    config = resolve_finetune_config(source, load_yaml(CONFIGS / recipe), {})
    built = build_modality(config)  # type: ignore[arg-type]  (checks the data and model sections)
    assert config.modality == modality and built.name == modality
    assert config.encoder["name"] == pretrained.encoder["name"]
