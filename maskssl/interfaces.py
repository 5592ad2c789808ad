"""The four pieces every masked autoencoder is made of, and the plugin face of a modality.

Shapes used throughout: B = batch, L = tokens per sample, Q = encoder sequence length (e.g. 1 + visible
tokens), N = samples the pooled features describe (N = B for images and clouds; the sampled nodes of one
graph), V = masked views, D = feature width:

    Tokens.targets   [B, L, T]   what the decoder must predict per token (T values per token)
    mask             [B, L] bool True = hidden (MAE's "1 = removed")
    Encoded.latent   [B, Q, D]   encoder states (Q is encoder-specific)
    Encoded.pooled   [N, D]      one row per sample (image, graph, or sampled node); regularizers read it
    Decoded.prediction [B, L, T] prediction for every token (the loss reads the hidden ones)
    Decoded.hidden   [B, L, Dd]  decoder states per token, before the prediction head

The core never looks inside ``Tokens.inputs``: it belongs to the modality (images [B, C, H, W],
point groups [B, L, K, 3], node features ...) and is read only by that modality's encoder.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sized
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, cast

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from maskssl.errors import ConfigError, DataError


@dataclass
class Tokens:
    """A batch after tokenization, on the training device.

    Attributes:
        inputs: the modality's raw input, read by its encoder only (e.g. images [B, C, H, W]).
        targets: [B, L, T] reconstruction target of each token.
        positions: [B, L, P] per-token positions (patch coordinates, group centres) or None.
        grid: the tokens' spatial layout when they form a grid, e.g. (H/p, W/p), for structured maskers.
        labels: [N] class labels of the samples ``Encoded.pooled`` describes, when the dataset has them
            (the online probe and evaluation read them), else None.
        context: anything else the modality's encoder or loss needs (edge indices, ...).
        sample_keys: [B] int64, set by the training loop: each sample's identity in the global batch of
            this step (``maskssl.utils.keyed_random``). Maskers that draw from it give the same masks on 1 or
            N processes; None outside training.
    """

    inputs: Any
    targets: Tensor
    positions: Tensor | None = None
    grid: tuple[int, ...] | None = None
    labels: Tensor | None = None
    context: dict[str, Any] = field(default_factory=dict)
    sample_keys: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.targets.shape[0]

    @property
    def num_tokens(self) -> int:
        return self.targets.shape[1]

    @property
    def device(self) -> torch.device:
        return self.targets.device


@dataclass
class Encoded:
    """Encoder output for one masked view.

    Attributes:
        latent: [B, Q, D] encoder states handed to the decoder (Q: the encoder's sequence length).
        pooled: [N, D], one row per sample (image, graph, or sampled node), the input of sample-level
            regularizers; N = B when the samples are the batch's items.
    """

    latent: Tensor
    pooled: Tensor


@dataclass
class Decoded:
    """Decoder output for one masked view.

    Attributes:
        prediction: [B, L, T] predicted targets for every token position.
        hidden: [B, L, Dd] decoder states per token before the prediction head.
    """

    prediction: Tensor
    hidden: Tensor


class FeatureSet(NamedTuple):
    """Frozen features of one evaluation split: features [N, D] and labels [N] (None when unlabelled)."""

    features: Tensor
    labels: Tensor | None


@dataclass
class ViewOutput:
    """Everything one masked view produced: its mask [B, L], encoder and decoder outputs."""

    mask: Tensor
    encoded: Encoded
    decoded: Decoded


@dataclass
class NoHeadOptions:
    """A fine-tuning head without options."""


class Masker(ABC):
    """Decides which tokens are hidden. Pure: the same generator state gives the same mask.

    Subclasses take their options as keyword arguments (they become the config's ``masker.*`` keys)
    and must hide exactly ``num_hidden(L)`` tokens per sample, so that encoders which drop hidden
    tokens can batch the visible ones.
    """

    def __init__(self, ratio: float = 0.75) -> None:
        if not 0.0 < ratio < 1.0:
            raise ConfigError(f"mask ratio must be in (0, 1), got {ratio}; set masker.ratio=0.75 for example")
        self.ratio = ratio

    def num_hidden(self, num_tokens: int) -> int:
        """MAE's count: ``L - int(L * (1 - ratio))`` hidden tokens out of L."""
        return num_tokens - int(num_tokens * (1.0 - self.ratio))

    @abstractmethod
    def __call__(self, tokens: Tokens, generator: torch.Generator | None = None) -> Tensor:
        """Return a bool mask [B, L] on ``tokens.device``; True = hidden."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(ratio={self.ratio})"


class Encoder(nn.Module, ABC):
    """Encodes a masked view. ``mask=None`` means nothing is hidden (feature extraction).

    Attributes:
        embed_dim: width D of ``Encoded.latent`` and ``Encoded.pooled``.
        block_pattern: regex whose group 1 is the block index in a parameter's name (fine-tuning's
            layer-wise lr decay); parameters of no block are the embeddings (layer 0), except those
            starting with ``final_norm_prefix``, which come after the last block.
    """

    embed_dim: int
    block_pattern: ClassVar[str] = r"^blocks\.(\d+)\."
    final_norm_prefix: ClassVar[str] = "norm."

    @abstractmethod
    def forward(self, tokens: Tokens, mask: Tensor | None = None) -> Encoded:
        """tokens: the batch; mask: [B, L] bool (True = hidden) or None. Returns Encoded."""


class Decoder(nn.Module, ABC):
    """Predicts the targets of every token of a view from the encoder's output."""

    @abstractmethod
    def forward(self, encoded: Encoded, mask: Tensor, tokens: Tokens) -> Decoded:
        """encoded: this view's encoder output; mask: [B, L] bool (True = hidden). Returns Decoded."""


class Regularizer(nn.Module, ABC):
    """A loss term over all views of a batch (e.g. uniformity of pooled features).

    Implementations that compare samples must use the global batch under DDP and give gradients
    that do not depend on how the batch is split over processes (see ``maskssl.utils.distributed``).
    """

    @abstractmethod
    def forward(self, views: list[ViewOutput]) -> Tensor:
        """views: the V views of one batch. Returns a scalar."""


class Modality(ABC):
    """The plugin face of a modality: data, tokenization, model parts and reconstruction loss.

    A modality is built from the ``data`` and ``model`` sections of a run's config, which are
    validated against the dataclasses ``data_config`` and ``model_config``. It builds its encoder
    and decoders from the ``encoder`` / ``decoder`` sections through the registry, injecting what
    it knows from the data (image size, channels, token count ...).
    """

    name: ClassVar[str]
    data_config: ClassVar[type]
    model_config: ClassVar[type]
    default_recipe: ClassVar[dict[str, Any] | str] = {}
    """Overrides of the core defaults (masker, train ...) for ``maskssl train --modality NAME``, or the name
    of one of the plugin's recipes (``maskssl.config.recipes``: "point_cmae" for recipes/point_cmae.yaml)."""

    def __init__(self, data: Any, model: Any) -> None:
        self.data = data
        self.model = model

    @abstractmethod
    def build_dataset(self, split: str) -> Dataset:
        """The dataset for ``split`` ("train" or "test"), loaded from a local root (no downloads)."""

    def build_augmented_dataset(self, split: str) -> Dataset:
        """``build_dataset(split)`` as training reads it, with the modality's per-sample augmentations
        (pretraining, and the train split of fine-tuning); the default adds none. Random draws in
        ``__getitem__`` should come from torch's, numpy's or Python's global generators: the training
        loader seeds them per sample from (train.seed, epoch, index), so runs resume exactly."""
        return self.build_dataset(split)

    def collate(self, samples: list[Any]) -> Any:
        """Turn dataset samples into a batch; the default stacks like torch's default_collate."""
        return torch.utils.data.default_collate(samples)

    @abstractmethod
    def tokenize(self, batch: Any, device: torch.device) -> Tokens:
        """Move a collated batch to ``device`` and turn it into Tokens (no learned parameters here)."""

    @abstractmethod
    def build_encoder(self, section: dict[str, Any]) -> Encoder:
        """Build the encoder from the config's ``encoder`` section ({name, **options})."""

    @abstractmethod
    def build_decoder(self, section: dict[str, Any], encoder: Encoder) -> Decoder:
        """Build one decoder from the config's ``decoder`` section for ``encoder``'s width."""

    @abstractmethod
    def reconstruction_loss(self, decoded: Decoded, mask: Tensor, tokens: Tokens) -> Tensor:
        """Scalar reconstruction loss of one view, on hidden tokens (mask [B, L], True = hidden)."""

    # -- fine-tuning (``maskssl finetune``) ------------------------------------------------------------
    head_config: ClassVar[type] = NoHeadOptions
    """Dataclass of the fine-tuning head's options (the config's ``finetune.head`` section)."""
    mixup_allowed: ClassVar[bool] = False
    """Whether fine-tuning may blend the inputs of two samples (mixup / cutmix); images yes, clouds and graphs no."""
    default_finetune_recipe: ClassVar[dict[str, Any] | str] = {}
    """Overrides of the fine-tuning defaults for ``maskssl finetune`` on this modality's pretrained runs."""

    def build_head(self, encoder: Encoder, num_classes: int, options: Any) -> nn.Module:
        """The classification head: ``head(encoded, tokens) -> logits [N, num_classes]``, one row per label
        of ``tokens.labels`` [N]. ``encoded`` is ``encoder(tokens, None)``; ``options`` a ``head_config``."""
        raise NotImplementedError(f"the {self.name} modality does not support fine-tuning (it has no head)")

    def sample_labels(self, dataset: Dataset) -> Tensor:
        """Labels [N] of a dataset's samples: its ``targets``, else item[1] of (input, label) items or item.y."""
        labels = getattr(dataset, "targets", None)
        if labels is None and isinstance(dataset, torch.utils.data.Subset):  # data.limit, a label fraction
            inner = getattr(dataset.dataset, "targets", None)
            labels = None if inner is None else [inner[i] for i in dataset.indices]
        if isinstance(labels, Tensor):
            return labels.long().flatten()
        if labels is None:
            items = (dataset[index] for index in range(len(cast(Sized, dataset))))
            labels = [item[1] if isinstance(item, (tuple, list)) else item.y for item in items]
        if any(label is None for label in labels):
            raise DataError(
                f"the {self.name} dataset has unlabelled samples: fine-tuning needs a class label for every "
                f"sample (e.g. the class sub-folders of a folder dataset)"
            )
        return torch.as_tensor([int(label) for label in labels], dtype=torch.long)

    def finetune_dataset(self, split: str, keep: Tensor | None = None) -> Dataset:
        """Labelled samples of ``split`` ("train" or "test") for fine-tuning; ``keep`` [M]: indices (into
        ``sample_labels(finetune_dataset(split))``) of the samples to keep (label fraction), None for all.
        The train split is augmented (``build_augmented_dataset``), the test split is not."""
        dataset = self.build_augmented_dataset(split) if split == "train" else self.build_dataset(split)
        return dataset if keep is None else torch.utils.data.Subset(dataset, keep.tolist())

    def features(self, encoder: Encoder, tokens: Tokens) -> Tensor:
        """Frozen features [B, D] for evaluation; by default the pooled output with nothing hidden."""
        return encoder(tokens, None).pooled

    def evaluation_protocol(self) -> str:
        """The classification protocol ``maskssl eval`` runs on the frozen features (``maskssl.eval.protocols``).

        "probe" (default): MAE's linear probe and kNN, fit on split "train", scored on "test".
        "logreg": logistic regression fit on "train", selected on "val", scored on "test", over seeds.
        "svm": an SVM with a C grid under stratified k-fold cross-validation over split "all".
        """
        return "probe"

    def evaluation_features(
        self, encoder: Encoder, device: torch.device, batch_size: int
    ) -> dict[str, FeatureSet] | None:
        """Frozen features per evaluation split, or None (the default) to let the core extract them.

        The default extracts splits "train" and "test" of ``build_dataset`` through ``features``.
        Override it when evaluation samples are not dataset items (e.g. the nodes of one graph with
        a public train / val / test split). Split names: "train", "val", "test", and "all" (every
        sample; when present, the effective rank, spectrum and uniformity are computed on it).
        """
        return None

