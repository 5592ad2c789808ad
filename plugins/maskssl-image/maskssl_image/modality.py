"""The image modality: datasets, patch tokens, ViT encoder / MAE decoder wiring, masked-patch MSE."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from maskssl import Decoded, Decoder, Encoder, Modality, Tokens, registry
from maskssl.errors import ConfigError, DataError
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl_image.augment import AugmentSettings, ImageAugmentation, augment
from maskssl_image.datasets import SHAPES, STATS, build_image_dataset
from maskssl_image.head import ImageClassifierHead, ImageHeadConfig
from maskssl_image.patches import normalize_patches, patchify


@dataclass
class ImageDataConfig:
    """The ``data`` section.

    Attributes:
        dataset: digits (sklearn, 8x8, always available), mnist (IDX files), cifar10 (python batches)
            or imagefolder (torchvision ImageFolder); see ``maskssl_image.datasets``.
        root: folder the dataset's files are under (not used by digits).
        image_size: side images are resized and center-cropped to; required by imagefolder only.
        limit: keep only the first N samples of each split.
        augment: training-time augmentations (``maskssl_image.augment``), applied in timm's order:
            resized_crop, flip, rand_augment, random_erasing. None by default (as the CIFAR-10 MAE code);
            MAE's ImageNet pretraining: [resized_crop, flip]; its fine-tuning: all four.
        crop_scale: area share range of resized_crop (MAE: (0.2, 1) pretraining, (0.08, 1) fine-tuning).
        rand_augment: timm's RandAugment config string.
        erasing_prob: probability of random_erasing per image.
    """

    dataset: Literal["digits", "mnist", "cifar10", "imagefolder"] = "digits"
    root: str | None = None
    image_size: int | None = None
    limit: int | None = None
    augment: list[ImageAugmentation] = field(default_factory=list)
    crop_scale: tuple[float, float] = (0.08, 1.0)
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


class ImageModality(Modality):
    """Images as a grid of p x p patches; targets are the patches' pixels [B, L, p*p*C]."""

    name: ClassVar[str] = "image"
    data_config: ClassVar[type] = ImageDataConfig
    model_config: ClassVar[type] = ImageModelConfig
    default_recipe: ClassVar[dict[str, Any]] = {
        "encoder": {"name": "vit", "embed_dim": 128, "depth": 4, "num_heads": 4},
        "decoder": {"name": "mae", "embed_dim": 64, "depth": 2, "num_heads": 4},
        "masker": {"name": "random", "ratio": 0.75},
        "regularizers": {"uniformity": {"weight": 0.01}},
        # lr = blr * 128 / 256 = 7.5e-4: small batches need a larger blr than MAE's 1.5e-4 (tuned for 4096)
        "train": {"epochs": 50, "batch_size": 128, "warmup_epochs": 5, "blr": 1.5e-3},
    }
    head_config: ClassVar[type] = ImageHeadConfig
    mixup_allowed: ClassVar[bool] = True
    default_finetune_recipe: ClassVar[dict[str, Any]] = {  # = configs/image/finetune/digits.yaml (a test checks it)
        "encoder": {"drop_path_rate": 0.1},
        "finetune": {"head": {"pool": "mean"}, "label_smoothing": 0.1, "layer_decay": 0.75, "eval_every": 5},
        "train": {
            "epochs": 30, "batch_size": 128, "blr": 1e-3, "warmup_epochs": 3, "weight_decay": 0.05,
            "betas": [0.9, 0.999],
        },
    }

    def __init__(self, data: ImageDataConfig, model: ImageModelConfig) -> None:
        super().__init__(data, model)
        if data.limit is not None and data.limit < 1:
            raise ConfigError(f"data.limit={data.limit} must be at least 1 (or null for the whole dataset)")
        if data.dataset == "imagefolder":
            if data.image_size is None or data.image_size < 1:
                raise ConfigError("data.image_size must be set for dataset imagefolder, e.g. data.image_size=224")
            self.image_shape = (3, data.image_size, data.image_size)
        else:
            self.image_shape = SHAPES[data.dataset]
            native = self.image_shape[1]
            if data.image_size is not None and data.image_size != native:
                raise ConfigError(
                    f"data.image_size={data.image_size} does not apply to {data.dataset}, whose images are "
                    f"{native}x{native}; remove it (it is for imagefolder only)"
                )
        channels, height, width = self.image_shape
        p = model.patch_size
        if p < 1 or height % p or width % p:
            raise ConfigError(
                f"model.patch_size={p} must divide the {height}x{width} images of {data.dataset}; "
                f"choose a divisor of {height}" + (f" and {width}" if width != height else "")
            )
        self.grid = (height // p, width // p)
        self.token_dim = p * p * channels
        self.augment = _augment_settings(data)

    def build_dataset(self, split: str) -> Dataset:
        """(image float32 [C, H, W], label int) samples of ``split``; see ``maskssl_image.datasets``."""
        return build_image_dataset(self.data.dataset, split, self.data.root, self.data.image_size, self.data.limit)

    def tokenize(self, batch: Any, device: torch.device) -> Tokens:
        """batch (images [B, C, H, W], labels [B]) -> Tokens with targets [B, L, p*p*C] on ``device``."""
        images, labels = batch
        if tuple(images.shape[1:]) != self.image_shape:
            channels, height, width = self.image_shape
            raise DataError(
                f"a batch of images has shape {tuple(images.shape)}, but the model takes [B, {channels}, {height}, "
                f"{width}] images (data.dataset={self.data.dataset}): give the dataset {channels}-channel "
                f"{height}x{width} images, or configure the model for yours (data.image_size for imagefolder)"
            )
        images = images.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        if self.augment is not None and torch.is_grad_enabled():  # training, not evaluation
            images = augment(images, self.augment)
        targets = patchify(images, self.model.patch_size)  # [B, L, p*p*C]
        return Tokens(inputs=images, targets=targets, grid=self.grid, labels=labels)

    def build_encoder(self, section: dict[str, Any]) -> Encoder:
        """The ``encoder`` section with img_size, in_chans and patch_size injected from the data."""
        channels, height, width = self.image_shape
        return registry.create(
            "encoder", section, img_size=(height, width), in_chans=channels, patch_size=self.model.patch_size
        )

    def build_decoder(self, section: dict[str, Any], encoder: Encoder) -> Decoder:
        """The ``decoder`` section with grid_size, encoder_dim and token_dim injected."""
        return registry.create(
            "decoder", section, grid_size=self.grid, encoder_dim=encoder.embed_dim, token_dim=self.token_dim
        )

    def build_head(self, encoder: Encoder, num_classes: int, options: ImageHeadConfig) -> nn.Module:
        """MAE's fine-tuning head (``maskssl_image.head``)."""
        return ImageClassifierHead(encoder.embed_dim, num_classes, options)

    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        """MAE's loss: per-patch mean squared error, averaged over hidden patches (mask [B, L], True = hidden)."""
        target = tokens.targets.float()  # [B, L, T]
        if self.model.norm_pix_loss:
            target = normalize_patches(target)
        per_patch = (decoded.prediction.float() - target).square().mean(dim=-1)  # [B, L]
        hidden = mask.float()
        return (per_patch * hidden).sum() / hidden.sum()


def _augment_settings(data: ImageDataConfig) -> AugmentSettings | None:
    """The checked augmentation settings of the ``data`` section, or None without augmentation."""
    if not data.augment:
        return None
    low, high = data.crop_scale
    if not 0 < low <= high <= 1:
        raise ConfigError(f"data.crop_scale={list(data.crop_scale)} must be two area shares 0 < low <= high <= 1")
    if not 0 <= data.erasing_prob <= 1:
        raise ConfigError(f"data.erasing_prob={data.erasing_prob} must be in [0, 1]")
    if "rand_augment" in data.augment:
        from timm.data.auto_augment import rand_augment_transform

        try:
            rand_augment_transform(data.rand_augment, {})
        except (AssertionError, ValueError, KeyError, IndexError) as exc:
            raise ConfigError(
                f"data.rand_augment={data.rand_augment!r} is not a timm RandAugment string such as "
                f"'rand-m9-mstd0.5-inc1' ({exc!r})"
            ) from exc
    mean, std = STATS[data.dataset]
    return AugmentSettings(data.augment, data.crop_scale, data.rand_augment, data.erasing_prob, mean, std)
