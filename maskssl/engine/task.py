"""What the shared loop trains: a task supplies the model, the loss of one micro-batch and an evaluation.

Pretraining (``maskssl.pretrain.PretrainTask``) and fine-tuning (``maskssl.finetune.FinetuneTask``) are two tasks of one
engine (``maskssl.engine.loop``). The loop keeps everything else: device, AMP, accumulation, clipping,
the lr schedule, DDP, exact resume, atomic checkpoints, signals and metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl.config.run import TrainConfig
from maskssl.engine.optim import param_groups
from maskssl.interfaces import Modality
from maskssl.model import StepOutput


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
        (``maskssl.utils.keyed_random``).
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
