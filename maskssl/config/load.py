"""A run's config from its layers: core defaults < the modality's recipe < the YAML file < ``key=value`` overrides.

    load_config("image", "configs/image/digits_mae.yaml", ["train.epochs=5"])   # -> RunConfig
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maskssl import registry
from maskssl.config.recipes import resolve_recipe
from maskssl.config.run import RunConfig, parse_overrides, resolve
from maskssl.config.yaml_files import load_yaml
from maskssl.errors import ConfigError


@dataclass
class ConfigLayers:
    """What a run's config is merged from, above the core defaults: the modality's recipe, the YAML file,
    the ``key=value`` overrides (as nested dicts), and the modality they were resolved for."""

    modality: str
    recipe: dict[str, Any]
    file: dict[str, Any]
    overrides: dict[str, Any]

    def resolve(self) -> RunConfig:
        return resolve(self.recipe, {**self.file, "modality": self.modality}, self.overrides)


def config_layers(
    modality: str | None = None, config_path: str | Path | None = None, overrides: list[str] | None = None
) -> ConfigLayers:
    """Read a run's config layers. The modality comes from ``modality`` (the CLI's --modality), else the
    file's ``modality`` key, else the core default ("image"); the two may not disagree."""
    file_values = load_yaml(config_path) if config_path is not None else {}
    override_values = parse_overrides(list(overrides or []))
    from_file = file_values.get("modality")
    if modality is not None and from_file is not None and modality != from_file:
        raise ConfigError(f"--modality {modality} disagrees with modality: {from_file} in {config_path}")
    name = override_values.get("modality") or modality or from_file or RunConfig.modality
    recipe = recipe_values(registry.get("modality", name).default_recipe, name)
    return ConfigLayers(modality=name, recipe=recipe, file=file_values, overrides=override_values)


def load_config(
    modality: str | None = None, config_path: str | Path | None = None, overrides: list[str] | None = None
) -> RunConfig:
    """Resolve a run's config: core defaults < modality recipe < YAML file < ``key=value`` overrides."""
    return config_layers(modality, config_path, overrides).resolve()


def recipe_values(recipe: Mapping[str, Any] | str, modality: str) -> dict[str, Any]:
    """A modality's ``default_recipe`` / ``default_finetune_recipe`` as a mapping: the mapping itself, or the
    installed recipe ``<modality>/<recipe>`` it names (so the recipe is written once, in its YAML file)."""
    if isinstance(recipe, str):
        from maskssl.config.yaml_files import load_yaml  # config reads recipes by name through this module

        return load_yaml(resolve_recipe(f"{modality}/{recipe}"))
    return dict(recipe)
