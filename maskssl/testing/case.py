"""A modality built the way the training loop builds it, with one small batch: what the checks run on."""

from __future__ import annotations

from collections.abc import Sequence, Sized
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch.utils.data import Dataset

from maskssl.build import build_modality, build_model
from maskssl.config.load import load_config, recipe_values
from maskssl.config.run import RunConfig, parse_overrides, resolve
from maskssl.interfaces import Modality, Tokens
from maskssl.model import MaskedAutoencoder
from maskssl.testing.errors import describe, fail
from maskssl.testing.runtime import global_seed


@dataclass
class ModalityCase:
    """A modality, its composite model as the config describes it, and one collated training batch.

    Attributes:
        name: the modality's registered name.
        config: the resolved run config (core defaults < recipe < overrides).
        modality: the plugin object, built with ``maskssl.build.build_modality``.
        model: encoder, decoders, masker and regularizers, built with ``maskssl.build.build_model``.
        batch: ``modality.collate`` of the first ``batch_size`` samples of split "train".
        seed: seeds the model's initial weights and every ``tokens`` call.
    """

    name: str
    config: RunConfig
    modality: Modality
    model: MaskedAutoencoder
    batch: Any
    seed: int = 0

    def tokens(self, device: torch.device | str = "cpu", training: bool = True) -> Tokens:
        """``modality.tokenize(batch, device)``, targets [B, L, T], with the global RNG seeded; under
        autograd when ``training`` (as in the training loop's forward), under no_grad otherwise (evaluation)."""
        device = torch.device(device)
        with torch.set_grad_enabled(training), global_seed(self.seed, device):
            return self.modality.tokenize(self.batch, device)


def dataset_split(modality: Modality, split: str, component: str) -> Dataset:
    try:
        dataset = modality.build_dataset(split)
        size = len(cast(Sized, dataset))
    except Exception as exc:
        raise fail(component, "builds its datasets", f"build_dataset({split!r}) or its len() raised",
                   "return a map-style torch Dataset with __len__, read from local files or generated", exc) from exc
    if size < 1:
        raise fail(component, "builds its datasets", f"build_dataset({split!r}) is empty",
                   "check data.root and the files it needs; an empty split cannot train or be evaluated")
    return dataset


def _resolve(modality: str | Modality, overrides: Sequence[str]) -> tuple[str, RunConfig, Modality]:
    if isinstance(modality, str):
        try:
            config = load_config(modality, overrides=list(overrides))
            return modality, config, build_modality(config)
        except Exception as exc:
            raise fail(f"modality '{modality}'", "builds from its recipe", f"load_config / build_modality with "
                       f"overrides {list(overrides)} raised", "every key of default_recipe and of the overrides "
                       "must be a valid config key (the error names the wrong one)", exc) from exc
    if not isinstance(modality, Modality):
        raise fail(describe("modality", modality), "is a Modality", f"got a {type(modality).__name__}",
                   "subclass maskssl.Modality (or pass its registered name)")
    parsed = parse_overrides(list(overrides))
    if {"data", "model"} & parsed.keys():
        raise ValueError("a Modality instance already has its data and model options; pass them to its constructor")
    name = str(getattr(modality, "name", type(modality).__name__))
    return name, resolve(recipe_values(type(modality).default_recipe, name), {"modality": name}, parsed), modality


def build_case(
    modality: str | Modality, overrides: Sequence[str] = (), *, batch_size: int = 4, seed: int = 0
) -> ModalityCase:
    """Build a modality, its model and one batch of up to ``batch_size`` training samples, as the loop would.

    ``modality`` is a registered name (resolved with ``maskssl.load_config``, so ``overrides`` such as
    ``"encoder.depth=1"`` may change any section) or an instance (then ``data.*`` and ``model.*``
    overrides are not allowed: they are the instance's constructor arguments). A config, dataset,
    batch or model that fails to build raises ConformanceError, the original error chained.
    """
    name, config, built = _resolve(modality, overrides)
    component = describe("modality", built, name)
    dataset = dataset_split(built, "train", component)
    count = min(batch_size, len(cast(Sized, dataset)))  # dataset_split checked that len() works
    try:
        batch = built.collate([dataset[i] for i in range(count)])
    except Exception as exc:
        raise fail(component, "collates samples", f"collate of {count} samples raised",
                   "make collate(list of dataset items) return what tokenize reads", exc) from exc
    try:
        with global_seed(seed, torch.device("cpu")):
            model = build_model(built, config)
    except Exception as exc:
        raise fail(component, "builds its model", "maskssl.build.build_model raised (encoder / decoder / masker / "
                   "regularizers of the config)", "check build_encoder / build_decoder and the recipe's sections",
                   exc) from exc
    return ModalityCase(name=name, config=config, modality=built, model=model, batch=batch,
                        seed=seed)


__all__ = ["ModalityCase", "build_case"]
