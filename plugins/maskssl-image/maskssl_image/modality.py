"""The image modality: datasets, patch tokens, ViT encoder / MAE decoder wiring, masked-patch MSE."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl import Decoded, Decoder, Encoder, Modality, Tokens, registry
from maskssl.errors import ConfigError, DataError
from maskssl_image.augment import AugmentSettings
from maskssl_image.config import DEFAULT_AUGMENT, ImageDataConfig, ImageModelConfig
from maskssl_image.data.datasets import SHAPES, build_image_dataset
from maskssl_image.head import ImageClassifierHead, ImageHeadConfig
from maskssl_image.loss import masked_patch_mse
from maskssl_image.ops.patches import patchify


class ImageModality(Modality):
    """Images as a grid of p x p patches; targets are the patches' pixels [B, L, p*p*C]."""

    name: ClassVar[str] = "image"
    data_config: ClassVar[type] = ImageDataConfig
    model_config: ClassVar[type] = ImageModelConfig
    default_recipe: ClassVar[dict[str, Any] | str] = "digits_umae"  # recipes/digits_umae.yaml
    head_config: ClassVar[type] = ImageHeadConfig
    mixup_allowed: ClassVar[bool] = True
    default_finetune_recipe: ClassVar[dict[str, Any] | str] = "finetune/digits"  # recipes/finetune/digits.yaml

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
        """(image float32 [C, H, W], label int or None) samples of ``split``; see ``maskssl_image.data.datasets``."""
        return self._dataset(split, None)

    def build_augmented_dataset(self, split: str) -> Dataset:
        """``build_dataset(split)`` with the ``data.augment`` augmentations, drawn per sample."""
        return self._dataset(split, self.augment)

    def _dataset(self, split: str, augment: AugmentSettings | None) -> Dataset:
        data = self.data
        return build_image_dataset(
            data.dataset, split, data.root, data.image_size, data.limit, augment=augment,
            test_fraction=data.test_fraction, split_seed=data.split_seed,
        )

    def collate(self, samples: list[Any]) -> tuple[Tensor, Tensor | None]:
        """(images [B, C, H, W], labels [B]), labels None when the samples have none (unlabelled folders)."""
        images = torch.stack([image for image, _ in samples])
        labels = [label for _, label in samples]
        return images, None if any(label is None for label in labels) else torch.as_tensor(labels)

    def tokenize(self, batch: Any, device: torch.device) -> Tokens:
        """batch (images [B, C, H, W], labels [B] or None) -> Tokens with targets [B, L, p*p*C] on ``device``."""
        images, labels = batch
        if tuple(images.shape[1:]) != self.image_shape:
            channels, height, width = self.image_shape
            raise DataError(
                f"a batch of images has shape {tuple(images.shape)}, but the model takes [B, {channels}, {height}, "
                f"{width}] images (data.dataset={self.data.dataset}): give the dataset {channels}-channel "
                f"{height}x{width} images, or configure the model for yours (data.image_size for imagefolder)"
            )
        images = images.to(device, non_blocking=True)
        if labels is not None:
            labels = labels.to(device, non_blocking=True)
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
        return masked_patch_mse(decoded.prediction, tokens.targets, mask, self.model.norm_pix_loss)


def _augment_settings(data: ImageDataConfig) -> AugmentSettings | None:
    """The checked augmentation settings of the ``data`` section, or None without augmentation."""
    if not 0 <= data.test_fraction < 1:
        raise ConfigError(f"data.test_fraction={data.test_fraction} must be in [0, 1) (the share held out)")
    names = data.augment if data.augment is not None else DEFAULT_AUGMENT[data.dataset]
    if not names:
        return None
    low, high = data.crop_scale
    if not 0 < low <= high <= 1:
        raise ConfigError(f"data.crop_scale={list(data.crop_scale)} must be two area shares 0 < low <= high <= 1")
    if not 0 <= data.erasing_prob <= 1:
        raise ConfigError(f"data.erasing_prob={data.erasing_prob} must be in [0, 1]")
    if "rand_augment" in names:
        from timm.data.auto_augment import rand_augment_transform

        try:
            rand_augment_transform(data.rand_augment, {})
        except (AssertionError, ValueError, KeyError, IndexError) as exc:
            raise ConfigError(
                f"data.rand_augment={data.rand_augment!r} is not a timm RandAugment string such as "
                f"'rand-m9-mstd0.5-inc1' ({exc!r})"
            ) from exc
    return AugmentSettings(names, data.crop_scale, data.rand_augment, data.erasing_prob)
