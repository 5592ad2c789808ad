"""Batched point-cloud augmentations (Point-BERT / Point-MAE's), drawn on the points' device.

    scale_translate  per cloud and axis: x * U(2/3, 3/2) + U(-0.2, 0.2)   (PointcloudScaleAndTranslate)
    rotate           per cloud: a rotation by U(0, 2 pi) about the vertical y axis (PointcloudRotate)
    jitter           per point: clip(N(0, 0.01^2), -0.05, 0.05) added to each coordinate (PointcloudJitter)

With ``generator=None`` they draw from torch's default generator, which the training loop seeds at every
step from (seed, step, rank): augmented batches are reproducible and ``--resume`` stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor

Augmentation = Literal["scale_translate", "rotate", "jitter"]

SCALE_RANGE = (2.0 / 3.0, 3.0 / 2.0)
TRANSLATE_RANGE = 0.2
JITTER_STD, JITTER_CLIP = 0.01, 0.05


def _uniform(
    shape: tuple[int, ...], low: float, high: float, like: Tensor, generator: torch.Generator | None
) -> Tensor:
    """U(low, high) of ``shape`` with the dtype and device of ``like``."""
    return low + (high - low) * torch.rand(shape, generator=generator, device=like.device, dtype=like.dtype)


def scale_translate(points: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """points [B, N, 3] -> points * U(2/3, 3/2) + U(-0.2, 0.2), one draw per cloud and axis."""
    batch = points.shape[0]
    scale = _uniform((batch, 1, 3), *SCALE_RANGE, points, generator)
    shift = _uniform((batch, 1, 3), -TRANSLATE_RANGE, TRANSLATE_RANGE, points, generator)
    return points * scale + shift


def rotate(points: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """points [B, N, 3] rotated about the y axis by an angle U(0, 2 pi) per cloud."""
    angle = _uniform((points.shape[0],), 0.0, 2.0 * math.pi, points, generator)  # [B]
    cos, sin, zero, one = angle.cos(), angle.sin(), torch.zeros_like(angle), torch.ones_like(angle)
    rotation = torch.stack(
        [torch.stack([cos, zero, sin], -1), torch.stack([zero, one, zero], -1), torch.stack([-sin, zero, cos], -1)], 1
    )  # [B, 3, 3], rows of R
    return points @ rotation.transpose(1, 2)


def jitter(points: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """points [B, N, 3] plus clipped Gaussian noise (std 0.01, clipped to +-0.05) per coordinate."""
    noise = torch.randn(points.shape, generator=generator, device=points.device, dtype=points.dtype)
    return points + (JITTER_STD * noise).clamp(-JITTER_CLIP, JITTER_CLIP)


AUGMENTATIONS = {"scale_translate": scale_translate, "rotate": rotate, "jitter": jitter}


def augment(points: Tensor, names: Sequence[Augmentation], generator: torch.Generator | None = None) -> Tensor:
    """Apply the named augmentations to points [B, N, 3] in the given order."""
    for name in names:
        points = AUGMENTATIONS[name](points, generator)
    return points
