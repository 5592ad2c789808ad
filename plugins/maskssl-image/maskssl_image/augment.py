"""Per-sample image transforms: MAE's training augmentations (torchvision v2, timm) and the evaluation path.

    resized_crop     RandomResizedCrop: area share ``data.crop_scale``, aspect ratio 3/4 .. 4/3, bicubic
    flip             RandomHorizontalFlip, probability 0.5
    rand_augment     timm's RandAugment (``data.rand_augment``, MAE: "rand-m9-mstd0.5-inc1"), on 8-bit pixels
    random_erasing   timm's RandomErasing, pixel mode, one box, probability ``data.erasing_prob`` (MAE: 0.25)

MAE pretrains with [resized_crop, flip] at crop_scale (0.2, 1) and fine-tunes with all four at (0.08, 1),
in timm's order: geometry, RandAugment, normalisation, erasing. For image files the crop is taken from
the decoded original before it is resized, as torchvision's ImageFolder pipeline in MAE's code; images
held in memory (digits, MNIST, CIFAR-10) are cropped at their own resolution. The transforms run in the
dataset (in loader workers) and draw from torch's, numpy's and Python's generators, which the training
loader seeds per sample from (train.seed, epoch, sample index): augmented runs resume exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from PIL import Image
from torch import Tensor
from torchvision.transforms import InterpolationMode, v2

ImageAugmentation = Literal["resized_crop", "flip", "rand_augment", "random_erasing"]
ImageTransform = Callable[[Any], Tensor]
"""A PIL image or float pixels [C, H, W] in [0, 1] -> normalised float32 pixels [C, H, W]."""


@dataclass
class AugmentSettings:
    """What the ``data`` section says about augmentation (``names`` empty: none)."""

    names: Sequence[ImageAugmentation]
    crop_scale: tuple[float, float]
    rand_augment: str
    erasing_prob: float


NO_AUGMENTATION = AugmentSettings(names=(), crop_scale=(0.08, 1.0), rand_augment="", erasing_prob=0.0)


class RandAugmentPixels:
    """timm's RandAugment on a PIL image or float pixels [C, H, W] in [0, 1] (through 8-bit, as timm)."""

    def __init__(self, config: str, side: int, mean: Sequence[float]) -> None:
        from timm.data.auto_augment import rand_augment_transform  # timm takes seconds to import

        hparams = {"translate_const": int(side * 0.45), "img_mean": tuple(min(255, round(255 * m)) for m in mean)}
        self.transform = rand_augment_transform(config, hparams)

    def __call__(self, image: Image.Image | Tensor) -> Image.Image:
        if isinstance(image, Tensor):
            as_bytes = (image.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()  # [H, W, C]
            image = Image.fromarray(as_bytes[..., 0] if as_bytes.shape[-1] == 1 else as_bytes)
        return self.transform(image)


class RandomErasingPixels:
    """timm's RandomErasing (pixel mode, one box) of normalised pixels [C, H, W], with ``probability``."""

    def __init__(self, probability: float) -> None:
        from timm.data.random_erasing import RandomErasing

        self.erase = RandomErasing(probability, mode="pixel", max_count=1, device="cpu")

    def __call__(self, image: Tensor) -> Tensor:
        return self.erase(image.clone())


def image_transform(
    settings: AugmentSettings | None, side: int, from_files: bool, mean: Sequence[float], std: Sequence[float]
) -> ImageTransform:
    """The per-sample pipeline to side x side pixels: ``settings`` None for evaluation, else the training
    augmentations. Image files (``from_files``) are resized (short side) and centre-cropped in evaluation;
    in-memory images already have the side.
    """
    settings = settings or NO_AUGMENTATION
    names = set(settings.names)
    steps: list[Callable[[Any], Any]] = []
    if "resized_crop" in names:
        steps.append(v2.RandomResizedCrop(
            side, scale=settings.crop_scale, ratio=(3 / 4, 4 / 3), interpolation=InterpolationMode.BICUBIC,
            antialias=True,
        ))
    elif from_files:
        steps += [v2.Resize(side, antialias=True), v2.CenterCrop(side)]
    if "flip" in names:
        steps.append(v2.RandomHorizontalFlip())
    if "rand_augment" in names:
        steps.append(RandAugmentPixels(settings.rand_augment, side, mean))
    steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
    if "random_erasing" in names:
        steps.append(RandomErasingPixels(settings.erasing_prob))
    return _Pipeline(v2.Compose(steps))


class _Pipeline:
    """A v2.Compose whose output is a plain Tensor (not a tv_tensors.Image); picklable for loader workers."""

    def __init__(self, compose: v2.Compose) -> None:
        self.compose = compose

    def __call__(self, image: Any) -> Tensor:
        return self.compose(image).as_subclass(Tensor)
