"""The config of a fine-tuning run: the pretrained run's architecture, the ``finetune`` section, ``train``.

Precedence, lowest first: typed defaults below, the pretrained run's ``modality``, ``data``, ``model`` and
``encoder`` sections and its ``train.batch_size`` (a graph run's batch is one graph or a few dozen, an image
run's a hundred or thousands), the modality's ``default_finetune_recipe``, the file given with ``--config``, then
``key=value`` overrides. The encoder section may change what does not change the weights' shapes
(``encoder.drop_path_rate``); a shape change is a clear error when the weights are loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maskssl import registry
from maskssl.checkpoints.sources import PretrainedSource
from maskssl.config.load import recipe_values
from maskssl.config.recipes import recipe_modality, resolve_recipe
from maskssl.config.run import TrainConfig, check_train, from_mapping, parse_overrides
from maskssl.config.yaml_files import deep_merge, load_yaml
from maskssl.errors import ConfigError

if TYPE_CHECKING:
    from maskssl.interfaces import Modality


@dataclass
class FinetuneSection:
    """The ``finetune`` section: what the core adds on top of the shared loop for classification.

    Attributes:
        random_init: train the same architecture from its seeded random initialisation (the baseline).
        head: options of the modality's classification head (``Modality.head_config``).
        num_classes: classes of the head; None: 1 + the largest label of the train and test splits.
        label_smoothing: of the cross-entropy (MAE: 0.1); with mixup it smooths the mixed targets.
        mixup, cutmix: Beta(alpha, alpha) of mixup / cutmix (MAE: 0.8 / 1.0; 0 turns one off); images only.
        mixup_prob: probability of mixing a batch at all; mixup_switch_prob: of cutmix when both are on.
        layer_decay: block i of the encoder's n gets lr x layer_decay^(n - i); its embeddings
            layer_decay^(n + 1); the head and final norm the full lr (MAE: 0.65 ViT-B, 0.75 ViT-L). 1: off.
        label_fraction: share of the train labels used, class-balanced and seeded by ``train.seed``.
        eval_every: evaluate on the test split every this many epochs, and after the last step.
        ways, shots, queries, episode: an N-way K-shot episode (``maskssl.finetune.episodes``): ``ways``
            classes (None: off), ``shots`` train and ``queries`` test samples of each, drawn by ``episode``.
    """

    random_init: bool = False
    head: dict[str, Any] = field(default_factory=dict)
    num_classes: int | None = None
    label_smoothing: float = 0.0
    mixup: float = 0.0
    cutmix: float = 0.0
    mixup_prob: float = 1.0
    mixup_switch_prob: float = 0.5
    layer_decay: float = 1.0
    label_fraction: float = 1.0
    eval_every: int = 1
    ways: int | None = None
    shots: int = 10
    queries: int = 20
    episode: int = 0


@dataclass
class FinetuneConfig:
    """A whole fine-tuning run. ``pretrained`` is where the encoder comes from (run, checkpoint or export)."""

    pretrained: str = ""
    modality: str = "image"
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    finetune: FinetuneSection = field(default_factory=FinetuneSection)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10, blr=5e-4, betas=(0.9, 0.999)))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRETRAINED_SECTIONS = ("modality", "data", "model", "encoder")
"""What a fine-tuning run inherits from its pretrained run."""


def resolve_finetune_config(
    source: PretrainedSource, file_values: dict[str, Any], overrides: dict[str, Any]
) -> FinetuneConfig:
    """Merge defaults < pretrained run < modality recipe < file < overrides, and check the result."""
    inherited = {key: source.config[key] for key in PRETRAINED_SECTIONS}
    inherited["train"] = {"batch_size": source.config["train"]["batch_size"]}
    for key in ("modality", "pretrained"):  # both come from PRETRAINED
        for where, values in (("the recipe", file_values), ("an override", overrides)):
            if key in values and values[key] != (inherited["modality"] if key == "modality" else str(source.path)):
                raise ConfigError(
                    f"{where} sets {key}={values[key]!r}, but a fine-tuning run takes its {key} from PRETRAINED "
                    f"({source.path}); remove it"
                )
    modality_cls = registry.get("modality", inherited["modality"])
    merged = deep_merge(FinetuneConfig().to_dict(), {**inherited, "pretrained": str(source.path)})
    for layer in (recipe_values(modality_cls.default_finetune_recipe, inherited["modality"]), file_values, overrides):
        merged = deep_merge(merged, layer)
    config = from_mapping(FinetuneConfig, merged)
    _check(config, modality_cls)
    return config


def load_finetune_config(
    pretrained: str | Path, config_path: str | Path | None = None, overrides: list[str] | None = None
) -> FinetuneConfig:
    """Resolve a fine-tuning run's config from PRETRAINED, an optional YAML recipe and ``key=value`` overrides."""
    source = PretrainedSource.open(pretrained)
    file_values = load_yaml(config_path) if config_path is not None else {}
    if config_path is not None:
        recipe_for = file_values.get("modality") or recipe_modality(resolve_recipe(config_path))
        if recipe_for is not None and recipe_for != source.config["modality"]:
            raise ConfigError(
                f"{config_path} is a fine-tuning recipe for the {recipe_for} modality, but {pretrained} is a "
                f"{source.config['modality']} run: choose a {source.config['modality']} recipe (maskssl config list)"
            )
    return resolve_finetune_config(source, file_values, parse_overrides(list(overrides or [])))


def _check(config: FinetuneConfig, modality_cls: type[Modality]) -> None:
    check_train(config.train)
    if config.train.init_from is not None:
        raise ConfigError("train.init_from is for pretraining; a fine-tuning run starts from PRETRAINED: remove it")
    section = config.finetune
    if not 0.0 < section.label_fraction <= 1.0:
        raise ConfigError(f"finetune.label_fraction={section.label_fraction} must be in (0, 1]")
    if not 0.0 < section.layer_decay <= 1.0:
        raise ConfigError(f"finetune.layer_decay={section.layer_decay} must be in (0, 1] (1: no decay)")
    if not 0.0 <= section.label_smoothing < 1.0:
        raise ConfigError(f"finetune.label_smoothing={section.label_smoothing} must be in [0, 1)")
    if min(section.mixup, section.cutmix) < 0 or not 0 <= section.mixup_prob <= 1:
        raise ConfigError("finetune.mixup and finetune.cutmix must be >= 0 and finetune.mixup_prob in [0, 1]")
    if (section.mixup or section.cutmix) and not modality_cls.mixup_allowed:
        raise ConfigError(
            f"finetune.mixup / finetune.cutmix blend two samples' inputs, which the {config.modality} modality "
            f"does not allow; set finetune.mixup=0 finetune.cutmix=0"
        )
    if section.eval_every < 0:
        raise ConfigError(f"finetune.eval_every={section.eval_every} cannot be negative (0: only after the last step)")
    if section.num_classes is not None and section.num_classes < 2:
        raise ConfigError(f"finetune.num_classes={section.num_classes}: a classifier needs at least 2 classes")
    if section.ways is not None:
        if section.ways < 2 or section.shots < 1 or section.queries < 1 or section.episode < 0:
            raise ConfigError("finetune.ways must be at least 2, finetune.shots and finetune.queries at least 1")
        if section.label_fraction < 1.0:
            raise ConfigError("finetune.ways (few-shot episodes) and finetune.label_fraction exclude each other")
    from_mapping(modality_cls.head_config, section.head, "finetune.head")
