"""What the shared loop trains: a task supplies the model, the loss of one micro-batch and an evaluation.

Pretraining (``PretrainTask``) and fine-tuning (``maskssl.finetune.FinetuneTask``) are two tasks of one
engine (``maskssl.engine.loop``). The loop keeps everything else: device, AMP, accumulation, clipping,
the lr schedule, DDP, exact resume, atomic checkpoints, signals and metrics.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl.build import build_modality, build_model
from maskssl.config import RunConfig, TrainConfig
from maskssl.engine.optim import param_groups
from maskssl.errors import ConfigError
from maskssl.interfaces import Modality, Tokens
from maskssl.model import StepOutput
from maskssl.weights import PretrainedSource, load_encoder_weights


class Task(ABC):
    """One kind of training run on the shared loop.

    Attributes:
        kind: recorded in every checkpoint; a checkpoint of another kind is refused on resume.
        modality: the modality plugin, built from the config's ``data`` and ``model`` sections.
        evaluates: whether the loop runs ``evaluate``: every ``eval_every`` epochs (0: never) and after the
            last step.
        find_unused_parameters: tell DDP that some parameters may get no gradient (a pretrained encoder's
            mask token when nothing is hidden).
    """

    kind: ClassVar[str]
    evaluates: ClassVar[bool] = False
    eval_every: int = 0
    find_unused_parameters: ClassVar[bool] = False

    def __init__(self, config: Any, modality: Modality) -> None:
        self.config = config
        self.modality = modality

    @property
    def train_config(self) -> TrainConfig:
        return self.config.train

    def config_dict(self) -> dict[str, Any]:
        """The resolved config, saved as ``config.yaml`` and inside every checkpoint."""
        return self.config.to_dict()

    @abstractmethod
    def train_dataset(self) -> Dataset:
        """The samples the loop iterates over."""

    def collate(self, samples: list[Any]) -> Any:
        return self.modality.collate(samples)

    @abstractmethod
    def build_model(self) -> nn.Module:
        """The model, on the CPU, with its initial weights (the loop has seeded torch with ``train.seed``)."""

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        """Optimizer groups; a group's ``lr_scale`` multiplies the scheduled lr (layer-wise decay)."""
        return param_groups(model, self.train_config.weight_decay)

    def prepare(self, batch: Any, device: torch.device, generator: torch.Generator, sample_keys: Tensor) -> Any:
        """A collated batch -> what ``forward`` takes, on ``device`` (outside autocast).

        ``sample_keys`` [batch size] identify the micro-batch's samples across processes
        (``maskssl.keyed_random``).
        """
        return self.modality.tokenize(batch, device)

    @abstractmethod
    def forward(self, model: nn.Module, prepared: Any, generator: torch.Generator) -> StepOutput:
        """Loss and named terms of one micro-batch. ``model`` is the (possibly DDP-wrapped) model."""

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Metrics of the model (in eval mode, under no_grad) on held-out data; main process only."""
        raise NotImplementedError(f"{type(self).__name__} has no evaluation")

    def report(self, evaluations: list[dict[str, Any]]) -> dict[str, Any]:
        """``results.json`` of the run, rewritten after every evaluation (records: step, epoch, metrics)."""
        return {"evaluations": evaluations}

    def state_dict(self) -> dict[str, Any]:
        """Bookkeeping to checkpoint beside the weights (e.g. the evaluation history)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


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
