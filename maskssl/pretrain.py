"""Pretraining: the masked autoencoder on the modality's train split, trained by the shared loop.

    maskssl train --modality image --out runs/digits          # the CLI
    from maskssl import load_config, train
    train(load_config("image", None, ["train.epochs=5"]), "runs/digits")

``PretrainTask`` is what ``maskssl.engine.loop.run_task`` trains here; fine-tuning (``maskssl.finetune``) is
the other task of the same loop.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl.build import build_modality, build_model
from maskssl.checkpoints.sources import PretrainedSource, load_encoder_weights
from maskssl.config.run import RunConfig
from maskssl.engine.loop import TrainResult, run_task
from maskssl.engine.task import Task
from maskssl.errors import ConfigError
from maskssl.interfaces import Tokens
from maskssl.model import StepOutput


class PretrainTask(Task):
    """Masked-autoencoder pretraining: ``MaskedAutoencoder`` on the modality's train split.

    Args:
        config: the run's config.
        initialise: load ``train.init_from``'s encoder into the new model (False when a resumed run's
            checkpoint supplies the weights).
    """

    kind: ClassVar[str] = "pretrain"

    def __init__(self, config: RunConfig, initialise: bool = True) -> None:
        super().__init__(config, build_modality(config))
        self.initialise = initialise

    def train_dataset(self) -> Dataset:
        return self.modality.build_augmented_dataset("train")

    def build_model(self) -> nn.Module:
        model = build_model(self.modality, self.config)
        init_from = self.config.train.init_from
        if init_from and self.initialise:
            source = PretrainedSource.open(init_from)
            if source.config["modality"] != self.config.modality:
                raise ConfigError(
                    f"train.init_from={init_from} is a '{source.config['modality']}' run; this run is "
                    f"'{self.config.modality}'"
                )
            report = load_encoder_weights(model.encoder, source, strict=False)
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"train.init_from {init_from} (step {source.step}): {report}", file=sys.stderr, flush=True)
        return model

    def prepare(self, batch: Any, device: torch.device, generator: torch.Generator, sample_keys: Tensor) -> Tokens:
        """Tokens carrying the samples' keys (when each sample is one row of the tokens: not for one big graph)."""
        tokens = self.modality.tokenize(batch, device)
        if tokens.batch_size == len(sample_keys):
            tokens.sample_keys = sample_keys
        return tokens

    def forward(self, model: nn.Module, prepared: Any, generator: torch.Generator) -> StepOutput:
        return model(prepared, generator)


def train(
    config: RunConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> TrainResult:
    """Pretrain the model ``config`` describes; write config, metrics and checkpoints to ``run_dir``.
    ``resume``, ``overwrite`` and ``progress`` as ``maskssl.engine.loop.run_task``."""
    return run_task(
        lambda: PretrainTask(config, initialise=not resume), config.train, run_dir, resume=resume,
        overwrite=overwrite, progress=progress,
    )
