"""Training-time image augmentations, as timm's ``create_transform`` (MAE's pretraining and fine-tuning).

    resized_crop     random area (``data.crop_scale``) and aspect ratio (3/4 .. 4/3), resized back, bicubic
    flip             horizontal, with probability 0.5
    rand_augment     timm's RandAugment (``data.rand_augment``, MAE: "rand-m9-mstd0.5-inc1"), per image
    random_erasing   timm's RandomErasing, pixel mode, one box, probability ``data.erasing_prob`` (MAE: 0.25)

MAE pretrains with [resized_crop, flip] at crop_scale (0.2, 1) and fine-tunes with all four at (0.08, 1).
They act on a batch on its device (``ImageModality.tokenize``, only while autograd records: in training,
not in evaluation) and draw from torch's, numpy's and Python's generators, which the training loop seeds
at every step from (seed, step, rank): augmented batches are reproducible and ``--resume`` stays exact.
The crop samples scale and ratio once per image and clips the box into the image, where torchvision
retries up to 10 times and then falls back to a centre crop; it is a bicubic resampling of the box
(``grid_sample``), not PIL's resize.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

ImageAugmentation = Literal["resized_crop", "flip", "rand_augment", "random_erasing"]
ORDER: tuple[ImageAugmentation, ...] = ("resized_crop", "flip", "rand_augment", "random_erasing")
"""timm's order: geometry, RandAugment on [0, 1] pixels, then erasing of the normalised image."""


@dataclass
class AugmentSettings:
    """What the ``data`` section says about augmentation, and the dataset's normalisation constants."""

    names: Sequence[ImageAugmentation]
    crop_scale: tuple[float, float]
    rand_augment: str
    erasing_prob: float
    mean: tuple[float, ...]
    std: tuple[float, ...]


def resized_crop(images: Tensor, scale: tuple[float, float]) -> Tensor:
    """images [B, C, H, W] -> a random box of each (area share in ``scale``, ratio 3/4..4/3), resized to H x W."""
    batch = images.shape[0]
    area = torch.empty(batch, device=images.device).uniform_(*scale)
    log_ratio = torch.empty(batch, device=images.device).uniform_(math.log(3 / 4), math.log(4 / 3))
    width = (area * log_ratio.exp()).sqrt().clamp(max=1.0)  # box size as a share of the side
    height = (area / log_ratio.exp()).sqrt().clamp(max=1.0)
    centre_x = (torch.rand(batch, device=images.device) * 2 - 1) * (1 - width)  # in [-1, 1] coordinates
    centre_y = (torch.rand(batch, device=images.device) * 2 - 1) * (1 - height)
    zero = torch.zeros_like(width)
    theta = torch.stack(
        [torch.stack([width, zero, centre_x], -1), torch.stack([zero, height, centre_y], -1)], 1
    )  # [B, 2, 3]: output grid -> input coordinates
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bicubic", padding_mode="border", align_corners=False)


def flip(images: Tensor) -> Tensor:
    """images [B, C, H, W], each mirrored left-right with probability 0.5."""
    mirrored = torch.rand(images.shape[0], device=images.device) < 0.5
    return torch.where(mirrored[:, None, None, None], images.flip(-1), images)


def rand_augment(pixels: Tensor, config: str, mean: Sequence[float]) -> Tensor:
    """pixels [B, C, H, W] in [0, 1] -> timm's RandAugment of each image (through 8-bit PIL, as timm)."""
    from timm.data.auto_augment import rand_augment_transform  # timm takes seconds to import

    side = min(pixels.shape[-2:])
    transform = rand_augment_transform(
        config, {"translate_const": int(side * 0.45), "img_mean": tuple(min(255, round(255 * m)) for m in mean)}
    )
    as_bytes = (pixels.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()  # [B, H, W, C]
    out = []
    for image in as_bytes:
        pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
        out.append(np.asarray(transform(pil), dtype=np.uint8).reshape(image.shape))
    return torch.from_numpy(np.stack(out)).to(pixels.device).permute(0, 3, 1, 2).float() / 255


def random_erasing(images: Tensor, probability: float) -> Tensor:
    """Normalised images [B, C, H, W] with, per image and with ``probability``, one box of Gaussian noise."""
    from timm.data.random_erasing import RandomErasing

    return RandomErasing(probability, mode="pixel", max_count=1, device=str(images.device))(images.clone())


def augment(images: Tensor, settings: AugmentSettings) -> Tensor:
    """Normalised images [B, C, H, W] -> the augmentations ``settings.names`` in timm's order."""
    mean = torch.tensor(settings.mean, device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(settings.std, device=images.device).view(1, -1, 1, 1)
    names = set(settings.names)
    if "resized_crop" in names:
        images = resized_crop(images, settings.crop_scale)
    if "flip" in names:
        images = flip(images)
    if "rand_augment" in names:
        images = (rand_augment(images * std + mean, settings.rand_augment, settings.mean) - mean) / std
    if "random_erasing" in names:
        images = random_erasing(images, settings.erasing_prob)
    return images
