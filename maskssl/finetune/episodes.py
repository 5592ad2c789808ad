"""N-way K-shot episodes from any labelled dataset (Point-MAE's few-shot protocol).

An episode draws N classes, K training samples of each from the train split and Q test samples of each
(Point-MAE: 20) from the test split, and relabels the classes 0..N-1. Episode e is a pure function of the
labels and e; results are reported as mean ± std over episodes (``benchmarks/finetune_vs_scratch.py``).
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import Tensor
from torch.utils.data import Dataset

from maskssl.errors import ConfigError, DataError


@dataclass
class Episode:
    """classes [N] (original labels, in the order that gives them labels 0..N-1), and the kept indices."""

    classes: Tensor
    train: Tensor
    test: Tensor

    @property
    def mapping(self) -> dict[int, int]:
        return {int(label): index for index, label in enumerate(self.classes)}


def draw_episode(
    train_labels: Tensor, test_labels: Tensor, ways: int, shots: int, queries: int, episode: int
) -> Episode:
    """Episode ``episode``: ``ways`` classes having ``shots`` train and ``queries`` test samples each."""
    generator = torch.Generator().manual_seed(episode)
    eligible = [
        label for label in train_labels.unique().tolist()
        if (train_labels == label).sum() >= shots and (test_labels == label).sum() >= queries
    ]
    if len(eligible) < ways:
        raise ConfigError(
            f"finetune.ways={ways}: only {len(eligible)} classes have {shots} train and {queries} test samples; "
            f"lower finetune.ways, finetune.shots or finetune.queries"
        )
    classes = torch.tensor(eligible)[torch.randperm(len(eligible), generator=generator)[:ways]]
    train: list[Tensor] = []
    test: list[Tensor] = []
    for label in classes.tolist():
        for labels, count, kept in ((train_labels, shots, train), (test_labels, queries, test)):
            members = (labels == label).nonzero().flatten()
            kept.append(members[torch.randperm(members.numel(), generator=generator)[:count]])
    return Episode(classes=classes, train=torch.cat(train).sort().values, test=torch.cat(test).sort().values)


class Relabelled(Dataset):
    """(input, label) samples with their labels mapped to an episode's 0..N-1."""

    def __init__(self, dataset: Dataset, mapping: dict[int, int]) -> None:
        self.dataset, self.mapping = dataset, mapping

    def __len__(self) -> int:
        return len(cast(Sized, self.dataset))

    def __getitem__(self, index: int) -> tuple[Any, int]:
        item = self.dataset[index]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise DataError("few-shot episodes need datasets of (input, label) samples; this one has none")
        return item[0], self.mapping[int(item[1])]
