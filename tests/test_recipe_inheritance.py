"""``_base_`` in recipes: inheritance, chains, cycles; the MAE / Point-MAE recipes are their pair minus one change."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskssl.config.load import load_config
from maskssl.config.yaml_files import load_yaml
from maskssl.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_base_is_merged_first_relative_to_the_file_and_chains(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "root.yaml").write_text("train: {epochs: 5, lr: 0.1}\nmasker: {name: random, ratio: 0.5}\n")
    (tmp_path / "sub" / "middle.yaml").write_text("_base_: ../root.yaml\ntrain: {epochs: 7}\n")
    (tmp_path / "leaf.yaml").write_text("_base_: sub/middle.yaml\nmasker: {ratio: 0.9}\n")
    assert load_yaml(tmp_path / "leaf.yaml") == {
        "train": {"epochs": 7, "lr": 0.1}, "masker": {"name": "random", "ratio": 0.9},
    }


def test_base_cycles_and_bad_values_are_errors(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("_base_: b.yaml\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\n")
    with pytest.raises(ConfigError, match=r"_base_ forms a cycle \(.*a\.yaml -> .*b\.yaml -> .*a\.yaml\)"):
        load_yaml(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("_base_: [a.yaml]\n")
    with pytest.raises(ConfigError, match="_base_ must be the path of one YAML file"):
        load_yaml(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("_base_: missing.yaml\n")
    with pytest.raises(ConfigError, match="missing.yaml' does not exist"):
        load_yaml(tmp_path / "d.yaml")


@pytest.mark.parametrize("pair", ["image/digits", "image/mnist", "image/cifar10_vit_tiny"])
def test_each_mae_recipe_is_its_umae_recipe_with_uniformity_weight_zero(pair: str) -> None:
    mae = load_config(None, CONFIGS / f"{pair}_mae.yaml").to_dict()
    umae = load_config(None, CONFIGS / f"{pair}_umae.yaml").to_dict()
    assert umae["regularizers"]["uniformity"]["weight"] == 0.01 and mae["regularizers"]["uniformity"]["weight"] == 0
    umae["regularizers"]["uniformity"]["weight"] = 0.0
    assert mae == umae


@pytest.mark.parametrize("prefix", ["", "modelnet_subset_", "shapenet55_"])
def test_each_point_mae_recipe_is_its_point_cmae_recipe_with_one_view_and_no_contrast(prefix: str) -> None:
    mae = load_config(None, CONFIGS / "pointcloud" / f"{prefix}point_mae.yaml").to_dict()
    cmae = load_config(None, CONFIGS / "pointcloud" / f"{prefix}point_cmae.yaml").to_dict()
    assert cmae["views"] == 2 and "comask" in cmae["regularizers"]
    assert mae == {**cmae, "views": 1, "regularizers": {k: v for k, v in cmae["regularizers"].items() if k != "comask"}}
