"""The point-cloud modality: datasets, FPS + kNN group tokens, Point-MAE encoder / decoder, Chamfer loss.

    maskssl train --modality pointcloud                                  # procedural shapes, CPU, minutes
    maskssl train --config configs/pointcloud/point_cmae.yaml            # Point-CMAE: views 2 + co-mask term
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset, Subset

from maskssl import Decoded, Decoder, Encoder, Modality, Tokens, registry
from maskssl.errors import ConfigError
from maskssl_pointcloud.augment import augment
from maskssl_pointcloud.config import PointDataConfig, PointModelConfig
from maskssl_pointcloud.data import build_point_dataset
from maskssl_pointcloud.head import PointClassifierHead, PointHeadConfig
from maskssl_pointcloud.loss import hidden_group_chamfer
from maskssl_pointcloud.ops import group_points


class PointCloudModality(Modality):
    """Clouds as G groups of k points: targets are each group's coordinates relative to its centre [B, G, k*3].

    Tokens: ``inputs`` groups [B, G, k, 3], ``targets`` the same flattened [B, G, k*3], ``positions``
    centres [B, G, 3], ``labels`` [B] (None for a folder of unlabelled clouds).

    Augmentation (``data.augment``) belongs to training (pretraining and fine-tuning): ``tokenize`` applies
    it only while autograd records, that is in the training loop's forward pass. Evaluation runs under
    ``torch.no_grad`` and so sees the clouds as stored, train split included.
    """

    name: ClassVar[str] = "pointcloud"
    data_config: ClassVar[type] = PointDataConfig
    model_config: ClassVar[type] = PointModelConfig
    default_recipe: ClassVar[dict[str, Any] | str] = "point_cmae"  # recipes/point_cmae.yaml
    head_config: ClassVar[type] = PointHeadConfig
    default_finetune_recipe: ClassVar[dict[str, Any] | str] = "finetune/procedural"  # recipes/finetune/procedural.yaml

    def __init__(self, data: PointDataConfig, model: PointModelConfig) -> None:
        super().__init__(data, model)
        if data.limit is not None and data.limit < 1:
            raise ConfigError(f"data.limit={data.limit} must be at least 1 (or null for the whole dataset)")
        if not 1 <= model.num_groups <= data.num_points or not 1 <= model.group_size <= data.num_points:
            raise ConfigError(
                f"model.num_groups={model.num_groups} and model.group_size={model.group_size} must each be between "
                f"1 and data.num_points={data.num_points}"
            )
        self.token_dim = 3 * model.group_size

    def build_dataset(self, split: str) -> Dataset:
        """(xyz float32 [num_points, 3], label int) samples of ``split``; see ``maskssl_pointcloud.data``."""
        return build_point_dataset(self.data, split)

    def finetune_dataset(self, split: str, keep: Tensor | None = None) -> Dataset:
        """As ``build_dataset`` (``keep``: indices to keep), but unlabelled clouds are a DataError."""
        dataset = build_point_dataset(self.data, split, require_labels=True)
        return dataset if keep is None else Subset(dataset, keep.tolist())

    def collate(self, samples: list[Any]) -> tuple[Tensor, Tensor | None]:
        """(points [B, N, 3], labels [B]); labels None when the samples' labels are None (unlabelled)."""
        if samples and samples[0][1] is None:
            return torch.stack([points for points, _ in samples]), None
        return torch.utils.data.default_collate(samples)

    def tokenize(self, batch: Any, device: torch.device) -> Tokens:
        """batch (points [B, N, 3], labels [B] or None) -> Tokens of G groups of k points, on ``device``."""
        points, labels = batch
        points = points.to(device, non_blocking=True).float()
        if self.data.augment and torch.is_grad_enabled():
            points = augment(points, self.data.augment)
        centres, groups = group_points(
            points, self.model.num_groups, self.model.group_size, backend=self.model.backend
        )  # [B, G, 3], [B, G, k, 3]
        if labels is not None:
            labels = labels.to(device, non_blocking=True)
        return Tokens(inputs=groups, targets=groups.flatten(2), positions=centres, labels=labels)

    def build_encoder(self, section: dict[str, Any]) -> Encoder:
        """The ``encoder`` section as it is (the encoder needs nothing from the data)."""
        return registry.create("encoder", section)

    def build_decoder(self, section: dict[str, Any], encoder: Encoder) -> Decoder:
        """The ``decoder`` section with encoder_dim and token_dim (k * 3) injected."""
        return registry.create("decoder", section, encoder_dim=encoder.embed_dim, token_dim=self.token_dim)

    def build_head(self, encoder: Encoder, num_classes: int, options: PointHeadConfig) -> nn.Module:
        """Point-MAE's fine-tuning head (``maskssl_pointcloud.head``)."""
        return PointClassifierHead(encoder.embed_dim, num_classes, options)

    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        """Chamfer distance (``model.loss``) between predicted and true points, averaged over hidden groups."""
        return hidden_group_chamfer(
            decoded.prediction, tokens.targets, mask, self.model.group_size, self.model.loss, self.model.backend
        )

    def features(self, encoder: Encoder, tokens: Tokens) -> Tensor:
        """[CLS] concatenated with the max over group tokens, nothing hidden: [B, 2D] (Point-MAE's classifier input).

        Needs an encoder whose latent is [B, 1 + L, D] with [CLS] first, as ``point_transformer``.
        """
        latent = encoder(tokens, None).latent  # [B, 1+L, D]
        return torch.cat([latent[:, 0], latent[:, 1:].max(dim=1).values], dim=-1)
