"""Deterministic, resumable, rank-sharded data order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from maskssl.errors import ConfigError


class EpochSampler(Sampler[int]):
    """A fresh permutation per epoch from (seed, epoch), split over ranks, startable mid-epoch.

    Each rank takes every world_size-th index of the permutation (the tail that does not divide
    evenly is dropped), so the ranks' first batches together are the permutation's first
    world_size * batch_size indices: the same samples one process would see with the whole batch.
    """

    def __init__(self, dataset_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.dataset_size = dataset_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.per_rank = dataset_size // world_size
        self.epoch = 0
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        """Yield epoch ``epoch``'s indices from position ``start`` of this rank's share."""
        self.epoch, self.start = epoch, start

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.dataset_size, generator=generator)[: self.per_rank * self.world_size]
        return iter(order[self.rank :: self.world_size][self.start :].tolist())

    def __len__(self) -> int:
        return self.per_rank - self.start


def make_loader(
    dataset: Dataset,
    sampler: EpochSampler,
    batch_size: int,
    collate: Callable[[list[Any]], Any],
    num_workers: int,
    pin_memory: bool,
) -> tuple[DataLoader, int]:
    """A loader over ``sampler`` that drops the last incomplete batch, and its batches per full epoch."""
    batches_per_epoch = sampler.per_rank // batch_size
    if batches_per_epoch == 0:
        raise ConfigError(
            f"train.batch_size={batch_size} is larger than the {sampler.per_rank} samples each of the "
            f"{sampler.world_size} process(es) gets from the dataset ({sampler.dataset_size} samples); "
            f"lower train.batch_size"
        )
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=False,
    )
    return loader, batches_per_epoch
