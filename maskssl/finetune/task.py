"""Fine-tuning as a task of the shared loop: encoder + head, cross-entropy (mixup), test-split evaluation."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from maskssl.build import build_modality
from maskssl.checkpoints.sources import PretrainedSource, load_encoder_weights
from maskssl.config.run import from_mapping
from maskssl.data.checks import warn_single_class
from maskssl.engine.task import Task
from maskssl.errors import ConfigError, DataError
from maskssl.finetune.classifier import Classifier
from maskssl.finetune.config import FinetuneConfig
from maskssl.finetune.episodes import Episode, Relabelled, draw_episode
from maskssl.finetune.labels import balanced_subset
from maskssl.finetune.layer_decay import layer_decay_groups
from maskssl.finetune.objective import ClassificationObjective, classification_counts, classification_metrics
from maskssl.interfaces import Tokens
from maskssl.model import StepOutput

EVAL_BATCH_SIZE = 256


class FinetuneTask(Task):
    """Train ``Classifier(encoder, modality head)`` on the labelled train split; evaluate on the test split.

    Args:
        config: the resolved fine-tuning config.
        source: the pretrained encoder to start from; None when the weights come from elsewhere (a resumed
            run's checkpoint) or ``finetune.random_init`` is set.
    """

    kind: ClassVar[str] = "finetune"
    evaluates: ClassVar[bool] = True
    find_unused_parameters: ClassVar[bool] = True  # e.g. the graph encoders' mask token, unused with nothing hidden

    def __init__(self, config: FinetuneConfig, source: PretrainedSource | None) -> None:
        super().__init__(config, build_modality(config))
        self.source = None if config.finetune.random_init else source
        self.section = config.finetune
        self.eval_every = self.section.eval_every
        self.head_options: Any = from_mapping(self.modality.head_config, self.section.head, "finetune.head")
        self.test_dataset = self.modality.finetune_dataset("test")
        self.episode: Episode | None = None
        self.keep: torch.Tensor | None = None  # indices of the train samples used (label fraction, episode)
        train_labels, test_labels = self._choose_samples(config.train.seed)
        warn_single_class(train_labels, "the fine-tuning train split")
        largest = int(max(train_labels.max(), test_labels.max()))
        smallest = int(min(train_labels.min(), test_labels.min()))
        self.num_classes = self.section.num_classes or 1 + largest
        if largest >= self.num_classes or smallest < 0:
            raise ConfigError(
                f"finetune.num_classes={self.num_classes}, but the labels run from {smallest} to {largest}; "
                f"raise finetune.num_classes or leave it unset"
            )
        self.num_train = len(train_labels)
        self.objective = ClassificationObjective(self.section, self.num_classes)
        if self.objective.mixup is not None and config.train.batch_size % 2:
            raise ConfigError(f"mixup / cutmix need an even train.batch_size, got {config.train.batch_size}")

    def _choose_samples(self, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Set ``keep`` (and ``episode``, ``test_dataset`` for few-shot); the labels [N] of the train and
        test samples that will be used."""
        section = self.section
        train_labels = self.modality.sample_labels(self.modality.finetune_dataset("train"))
        test_labels = self.modality.sample_labels(self.test_dataset)
        if section.ways is not None:
            self.episode = draw_episode(
                train_labels, test_labels, section.ways, section.shots, section.queries, section.episode
            )
            self.keep = self.episode.train
            self.test_dataset = Relabelled(
                self.modality.finetune_dataset("test", self.episode.test), self.episode.mapping
            )
            return torch.arange(section.ways).repeat_interleave(section.shots), torch.arange(section.ways)
        if section.label_fraction < 1.0:
            self.keep = balanced_subset(train_labels, section.label_fraction, seed)
            return train_labels[self.keep], test_labels
        return train_labels, test_labels

    def train_dataset(self) -> Dataset:
        dataset = self.modality.finetune_dataset("train", self.keep)
        return dataset if self.episode is None else Relabelled(dataset, self.episode.mapping)

    def build_model(self) -> nn.Module:
        encoder = self.modality.build_encoder(dict(self.config.encoder))
        head = self.modality.build_head(encoder, self.num_classes, self.head_options)
        if self.source is not None:
            load_encoder_weights(encoder, self.source)
        return Classifier(encoder, head)

    def param_groups(self, model: nn.Module) -> list[dict[str, Any]]:
        assert isinstance(model, Classifier)
        return layer_decay_groups(
            model.encoder, model.head, self.config.train.weight_decay, self.section.layer_decay
        )

    def prepare(
        self, batch: Any, device: torch.device, generator: torch.Generator, sample_keys: torch.Tensor
    ) -> tuple[Tokens, torch.Tensor]:
        """(tokens with mixed inputs, targets [N] or soft targets [N, C])."""
        tokens = self.modality.tokenize(batch, device)
        if tokens.labels is None:
            raise DataError(f"the {self.config.modality} train split has no labels; fine-tuning needs labelled data")
        tokens.inputs, targets = self.objective.mix(tokens.inputs, tokens.labels)
        return tokens, targets

    def forward(self, model: nn.Module, prepared: Any, generator: torch.Generator) -> StepOutput:
        tokens, targets = prepared
        loss, terms = self.objective.loss(model(tokens), targets)
        return StepOutput(loss=loss, terms=terms, views=[])

    def evaluate(self, model: nn.Module, device: torch.device) -> dict[str, float]:
        """Top-1, top-5 (more than 10 classes), balanced accuracy and loss on the test split."""
        loader = DataLoader(
            self.test_dataset, batch_size=EVAL_BATCH_SIZE, shuffle=False, collate_fn=self.modality.collate
        )
        totals: dict[str, torch.Tensor] = {}
        for batch in loader:
            tokens = self.modality.tokenize(batch, device)
            if tokens.labels is None:
                raise DataError(f"the {self.config.modality} test split has no labels; fine-tuning needs labelled data")
            counts = classification_counts(model(tokens).float(), tokens.labels, self.num_classes)
            for key, value in counts.items():
                totals[key] = totals.get(key, 0) + value.cpu()
        if not totals:
            raise DataError(f"the {self.config.modality} test split is empty: nothing to evaluate on")
        return classification_metrics(totals, self.num_classes)

    def report(self, evaluations: list[dict[str, Any]]) -> dict[str, Any]:
        """``results.json``: the run's provenance, best and last evaluations (by top-1), and all of them."""
        best = max(evaluations, key=lambda record: record["top1"]) if evaluations else None
        return {
            "pretrained": self.config.pretrained,
            "random_init": self.section.random_init,
            "num_classes": self.num_classes,
            "train_samples": self.num_train,
            "episode_classes": None if self.episode is None else self.episode.classes.tolist(),
            "best": best,
            "last": evaluations[-1] if evaluations else None,
            "evaluations": evaluations,
        }
