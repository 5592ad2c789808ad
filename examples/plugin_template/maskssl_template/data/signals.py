"""A synthetic, offline dataset of 1-D signals: each class is a pair of frequencies."""

from __future__ import annotations

import math

import torch
from torch.utils.data import TensorDataset

FREQUENCIES = [(1.0, 3.0), (2.0, 5.0), (3.0, 7.0), (4.0, 2.0), (5.0, 9.0), (6.0, 4.0), (7.0, 11.0), (8.0, 6.0)]
"""Cycles per signal of the two sinusoids of each class (up to 8 classes)."""


def make_signals(samples: int, length: int, classes: int, noise: float, seed: int) -> TensorDataset:
    """(signal float32 [length], label int64) samples, the same for the same arguments.

    Signal of class c: a sin(2 pi f1 t + phi) + b sin(2 pi f2 t + psi) + noise, t in [0, 1), with
    (f1, f2) = ``FREQUENCIES[c]``, amplitudes a, b in [0.5, 1.5) and phases drawn per sample.
    """
    if not 1 <= classes <= len(FREQUENCIES):
        raise ValueError(f"classes={classes} must be between 1 and {len(FREQUENCIES)}")
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, classes, (samples,), generator=g)  # [N]
    freqs = torch.tensor(FREQUENCIES[:classes])[labels]  # [N, 2]
    amplitude = 0.5 + torch.rand(samples, 2, 1, generator=g)  # [N, 2, 1]
    phase = 2 * math.pi * torch.rand(samples, 2, 1, generator=g)  # [N, 2, 1]
    t = torch.arange(length) / length  # [length]
    waves = amplitude * torch.sin(2 * math.pi * freqs[:, :, None] * t + phase)  # [N, 2, length]
    signals = waves.sum(dim=1) + noise * torch.randn(samples, length, generator=g)  # [N, length]
    return TensorDataset(signals.float(), labels)
