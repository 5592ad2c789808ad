"""From a resolved config to live objects: the modality plugin and the composite model."""

from __future__ import annotations

from typing import Any, Protocol

from maskssl import registry
from maskssl.config.run import RunConfig, from_mapping
from maskssl.errors import ConfigError
from maskssl.interfaces import Masker, Modality, Regularizer
from maskssl.layers.probe_head import OnlineProbe
from maskssl.model import MaskedAutoencoder


class ModalitySections(Protocol):
    """What ``build_modality`` reads of a config: a pretraining ``RunConfig`` or a ``FinetuneConfig``."""

    modality: str
    data: dict[str, Any]
    model: dict[str, Any]


def build_modality(config: ModalitySections) -> Modality:
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


def build_masker_and_regularizers(config: RunConfig) -> tuple[Masker, dict[str, tuple[float, Regularizer]]]:
    """The masker and the weighted regularizers (name -> (weight, term)) the config names: the parts of the model
    that need nothing from the data, so ``maskssl config show`` runs their option checks too."""
    masker = registry.create("masker", config.masker)
    regularizers: dict[str, tuple[float, Regularizer]] = {}
    for name, section in config.regularizers.items():
        options = {k: v for k, v in section.items() if k != "weight"}
        regularizer = registry.create("regularizer", {"name": name, **options}, prefix=f"regularizers.{name}")
        regularizers[name] = (float(section["weight"]), regularizer)
    return masker, regularizers


def build_model(modality: Modality, config: RunConfig) -> MaskedAutoencoder:
    """Encoder, one decoder per view, masker and weighted regularizers, as the config says."""
    encoder = modality.build_encoder(dict(config.encoder))
    decoders = [modality.build_decoder(dict(config.decoder), encoder) for _ in range(config.views)]
    masker, regularizers = build_masker_and_regularizers(config)
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
