"""The maskssl-image plugin's wiring: entry points, recipes, the default recipe."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskssl import registry
from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config
from maskssl_image import ImageModality

REPO = Path(__file__).resolve().parents[3]


# -- plugin wiring and recipes -------------------------------------------------------------------


def test_entry_points_are_registered() -> None:
    assert "image" in registry.list_names("modality")
    assert "vit" in registry.list_names("encoder")
    assert "mae" in registry.list_names("decoder")
    assert "block" in registry.list_names("masker")
    assert registry.get("modality", "image") is ImageModality


@pytest.mark.slow
@pytest.mark.parametrize("recipe", sorted(p.name for p in (REPO / "configs" / "image").glob("*.yaml")))
def test_recipes_build(recipe: str) -> None:
    config = load_config(config_path=REPO / "configs" / "image" / recipe)
    modality = build_modality(config)
    model = build_model(modality, config)
    assert config.modality == "image" and model.num_views == 1
    uniformity = config.regularizers["uniformity"]["weight"]
    assert uniformity == (0.01 if "umae" in recipe else 0.0)


def test_default_recipe_is_the_digits_umae_recipe_and_builds() -> None:
    config = load_config(modality="image")
    model = build_model(build_modality(config), config)
    assert config.to_dict() == load_config(config_path="image/digits_umae").to_dict()
    assert config.data == {"dataset": "digits"} and model.encoder.embed_dim == 128
