"""From a config to live objects: resolve the recipe, build the modality and the composite model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskssl import registry
from maskssl.config import RunConfig, from_mapping, load_yaml, parse_overrides, resolve
from maskssl.errors import ConfigError
from maskssl.interfaces import Modality
from maskssl.model import MaskedAutoencoder
from maskssl.online_probe import OnlineProbe
from maskssl.recipes import recipe_values

if TYPE_CHECKING:
    from maskssl.finetune.config import FinetuneConfig


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


def build_modality(config: RunConfig | FinetuneConfig) -> Modality:
    """The modality plugin named by the (pretraining or fine-tuning) config, with its ``data`` and ``model``
    sections checked."""
    cls = registry.get("modality", config.modality)
    if getattr(cls, "name", None) != config.modality:
        raise ConfigError(
            f"the modality registered as '{config.modality}' ({cls.__module__}.{cls.__qualname__}) calls itself "
            f"{getattr(cls, 'name', None)!r}: set its class attribute name = '{config.modality}' (the name of its "
            f"entry point or registration)"
        )
    data = from_mapping(cls.data_config, config.data, "data")
    model = from_mapping(cls.model_config, config.model, "model")
    return cls(data, model)


def build_model(modality: Modality, config: RunConfig) -> MaskedAutoencoder:
    """Encoder, one decoder per view, masker and weighted regularizers, as the config says."""
    encoder = modality.build_encoder(dict(config.encoder))
    decoders = [modality.build_decoder(dict(config.decoder), encoder) for _ in range(config.views)]
    masker = registry.create("masker", config.masker)
    regularizers: dict[str, tuple[float, Any]] = {}
    for name, section in config.regularizers.items():
        options = {k: v for k, v in section.items() if k != "weight"}
        regularizer = registry.create("regularizer", {"name": name, **options}, prefix=f"regularizers.{name}")
        regularizers[name] = (float(section["weight"]), regularizer)
    return MaskedAutoencoder(
        encoder=encoder,
        decoders=decoders,
        masker=masker,
        reconstruction=modality.reconstruction_loss,
        regularizers=regularizers,
        reconstruction_weight=config.reconstruction_weight,
        online_probe=(
            OnlineProbe(encoder.embed_dim, config.online_probe_classes) if config.online_probe_classes else None
        ),
    )
