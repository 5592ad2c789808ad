"""A seeded, stratified held-out split for user data that comes without train / test folders.

A folder of the user's files has no split of its own. Serving it as both splits would score an
evaluation on the samples it was fit on, so readers of such folders call ``held_out_indices``: each
class (or the whole set, when unlabelled) is shuffled from ``seed`` and its first ``fraction`` share
(rounded, at least one sample when the class has two or more) is held out for "test".
The split is a pure function of (labels, fraction, seed): every process and every resume agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from maskssl.errors import ConfigError


def held_out_indices(labels: Sequence[int | None], fraction: float, seed: int, split: str) -> list[int]:
    """Sorted indices of ``split`` ("train" or "test") among ``len(labels)`` samples.

    Args:
        labels: one class label per sample, or None for an unlabelled sample (all unlabelled samples
            form one stratum).
        fraction: share of each stratum held out for "test", in [0, 1).
        seed: seed of the per-stratum shuffles.
        split: "train" (the rest) or "test" (the held-out share).
    """
    if not 0 <= fraction < 1:
        raise ConfigError(f"the held-out fraction {fraction} must be in [0, 1), e.g. 0.1")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    strata: dict[int | None, list[int]] = {}
    for index, label in enumerate(labels):
        strata.setdefault(label, []).append(index)
    held_out: list[int] = []
    generator = torch.Generator().manual_seed(seed)
    for label in sorted(strata, key=lambda key: (key is None, key if key is not None else 0)):
        members = strata[label]
        count = round(fraction * len(members))
        if fraction > 0 and len(members) >= 2:
            count = min(max(count, 1), len(members) - 1)
        order = torch.randperm(len(members), generator=generator)[:count].tolist()
        held_out.extend(members[i] for i in order)
    if split == "test":
        return sorted(held_out)
    chosen = set(held_out)
    return [index for index in range(len(labels)) if index not in chosen]


def describe_held_out(total: int, test_size: int, fraction: float, seed: int, unit: str, labelled: bool) -> str:
    """One log line: how many of ``total`` samples were held out for evaluation, and by which keys."""
    stratified = ", stratified by class" if labelled else ""
    return (
        f"no train/ and test/ folders: held out {test_size} of {total} {unit}s ({fraction:g}{stratified}, seed "
        f"{seed}; data.test_fraction, data.split_seed) for evaluation, {total - test_size} for training"
    )
