"""The image modality's config sections: ``data`` (``ImageDataConfig``) and ``model`` (``ImageModelConfig``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from maskssl_image.augment import ImageAugmentation

DEFAULT_AUGMENT: dict[str, list[ImageAugmentation]] = {
    "digits": [], "mnist": [], "cifar10": [], "imagefolder": ["resized_crop", "flip"],
}
"""``data.augment`` when the config leaves it null: MAE's pretraining augmentation for image files only."""


@dataclass
class ImageDataConfig:
    """The ``data`` section.

    Attributes:
        dataset: digits (sklearn, 8x8, always available), mnist (IDX files), cifar10 (python batches)
            or imagefolder (any folder tree of images, or a list file; ``maskssl_image.data.files``).
        root: folder the dataset's files are under (not used by digits); a list file for imagefolder.
        image_size: side imagefolder images are cropped to (resized and centre-cropped in evaluation).
        test_fraction: imagefolder without train/ and test/ folders: share of each class held out for
            evaluation (never trained on).
        split_seed: seed of that held-out split.
        limit: keep only the first N samples of each split.
        augment: per-sample training augmentations (``maskssl_image.augment``), applied in timm's order:
            resized_crop, flip, rand_augment, random_erasing. null (the default) means the dataset's:
            MAE's pretraining pair [resized_crop, flip] for imagefolder, none for digits and MNIST (a
            flipped digit is another digit) and CIFAR-10 (the CIFAR MAE code trains without). MAE's
            fine-tuning uses all four.
        crop_scale: area share range of resized_crop (MAE: (0.2, 1) pretraining, the default; (0.08, 1)
            fine-tuning).
        rand_augment: timm's RandAugment config string.
        erasing_prob: probability of random_erasing per image.
    """

    dataset: Literal["digits", "mnist", "cifar10", "imagefolder"] = "digits"
    root: str | None = None
    image_size: int | None = None
    test_fraction: float = 0.1
    split_seed: int = 0
    limit: int | None = None
    augment: list[ImageAugmentation] | None = None
    crop_scale: tuple[float, float] = (0.2, 1.0)
    rand_augment: str = "rand-m9-mstd0.5-inc1"
    erasing_prob: float = 0.25


@dataclass
class ImageModelConfig:
    """The ``model`` section.

    Attributes:
        patch_size: side p of a square patch (token); the image side must be divisible by it.
        norm_pix_loss: MAE's option: regress each patch normalised by its own mean and std.
    """

    patch_size: int = 2
    norm_pix_loss: bool = False
