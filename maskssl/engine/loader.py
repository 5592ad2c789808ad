"""Deterministic, resumable, rank-sharded data order, and per-sample randomness keyed by (seed, epoch, index).

The sampler yields (epoch, index) keys; ``KeyedSamples`` seeds torch's, numpy's and Python's global
generators from (seed, epoch, index) before it reads ``dataset[index]``. A dataset's own random
transforms (torchvision's, timm's) therefore draw the same numbers for a sample whichever process,
worker or resumed run reads it: augmentation needs no state in checkpoints, and one process with
batch 2B augments exactly as two with batch B.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sized
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from maskssl.errors import ConfigError

SampleKey = tuple[int, int]
"""(epoch, index of the sample in the training dataset)."""


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of sample ``index``'s random transforms in ``epoch``; below 2**63."""
    return ((seed * 1_000_003 + epoch) * 1_000_000_007 + index) % (2**63 - 1)


class KeyedSamples(Dataset):
    """``dataset`` read by (epoch, index) keys, with the global generators seeded per sample.

    Seeding costs microseconds (``torch.default_generator``, not ``torch.manual_seed``, which also
    visits every accelerator); in the main process the loop keeps the generators' states around each
    batch (``next_keeping_rngs``), in loader workers nothing outside the read sees them.
    """

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset = dataset
        self.seed = seed

    def __len__(self) -> int:
        return len(cast(Sized, self.dataset))

    def __getitem__(self, key: SampleKey) -> Any:
        epoch, index = key
        seed = sample_seed(self.seed, epoch, index)
        torch.default_generator.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        return self.dataset[index]


def next_keeping_rngs(batches: Iterator[Any]) -> Any:
    """``next(batches)`` with torch's (CPU), Python's and numpy's global generator states as they were
    (samples read in this process reseed them)."""
    torch_state, python_state, numpy_state = torch.get_rng_state(), random.getstate(), np.random.get_state()
    try:
        return next(batches)
    finally:
        torch.set_rng_state(torch_state)
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class EpochSampler(Sampler[SampleKey]):
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

    def __iter__(self) -> Iterator[SampleKey]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.dataset_size, generator=generator)[: self.per_rank * self.world_size]
        return ((self.epoch, index) for index in order[self.rank :: self.world_size][self.start :].tolist())

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
    """A loader of ``dataset`` (read through ``KeyedSamples``) over ``sampler`` that drops the last incomplete
    batch, and its batches per full epoch. Workers persist across epochs and each prefetches two batches;
    batches are pinned for a CUDA device (``pin_memory``)."""
    batches_per_epoch = sampler.per_rank // batch_size
    if batches_per_epoch == 0:
        raise ConfigError(
            f"train.batch_size={batch_size} is larger than the {sampler.per_rank} samples each of the "
            f"{sampler.world_size} process(es) gets from the dataset ({sampler.dataset_size} samples); "
            f"lower train.batch_size"
        )
    loader = DataLoader(
        KeyedSamples(dataset, sampler.seed),
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        pin_memory=pin_memory,
        drop_last=True,
        persistent_workers=num_workers > 0,
    )
    return loader, batches_per_epoch
