"""Run configuration: typed defaults in code, YAML recipes, dotted ``key=value`` overrides.

Precedence, lowest first: the defaults below, the modality's ``default_recipe``, the YAML file
(``--config``), then command-line overrides such as ``train.epochs=5 masker.ratio=0.6``. Every key is
checked: a typo is an error that names the key and lists the valid ones.

Sections:
    modality      name of the modality plugin ("image", ...)
    data, model   the modality's own dataclasses (``Modality.data_config`` / ``model_config``)
    encoder, decoder, masker   {name: <registered name>, **options of that component}
    views         number of masked views per sample (1: MAE, 2: double masking)
    regularizers  {<registered name>: {weight: float, **options}}; ``<name>: null`` removes one
                  (e.g. a MAE recipe drops the image default's uniformity: ``uniformity: null``)
    reconstruction_weight  factor on the summed reconstruction losses
    online_probe_classes   number of classes of an online linear probe trained on detached features
                  during pretraining (U-MAE's monitor; logged as probe_loss / probe_accuracy); null: off
    train         ``TrainConfig`` below
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import yaml

from maskssl.config.evaluation import EvalConfig, check_eval
from maskssl.config.yaml_files import deep_merge
from maskssl.errors import ConfigError
from maskssl.utils.typecheck import coerce

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


@dataclass
class TrainConfig:
    """Optimisation and bookkeeping of the shared training loop."""

    epochs: int = 10
    max_steps: int | None = None
    """Stop after this many optimizer steps even if epochs remain (None: run all epochs)."""
    batch_size: int = 64
    """Samples per process per micro-batch; the effective batch is batch_size * accum_steps * processes."""
    accum_steps: int = 1
    lr: float | None = None
    """Peak learning rate; None means MAE's rule blr * effective_batch / 256."""
    blr: float = 1.5e-4
    min_lr: float = 0.0
    warmup_epochs: float = 0.0
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    optimizer: Literal["adamw", "adam"] = "adamw"
    """adamw: decoupled weight decay (MAE's); adam: torch.optim.Adam, decay added to the gradient (L2, GraphMAE's)."""
    clip_grad: float | None = None
    """Clip the global gradient norm to this value (None: no clipping)."""
    nonfinite_skips: int = 0
    """Steps with a NaN/inf loss that may be skipped (no update) over the run before it stops; 0: stop at once."""
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """auto: bf16 autocast on CUDA, fp32 on CPU."""
    device: str = "auto"
    """auto: CUDA when available, else CPU; or any torch device string."""
    compile: bool = False
    """Run the model through torch.compile (worth it on GPUs for long runs; compiling takes a while)."""
    num_workers: int = 0
    threads: int | None = None
    """CPU threads of each process (torch.set_num_threads; ``maskssl eval`` of the run uses it too). None:
    torch's default (all cores) for one process, the cores shared out under torchrun (cores // local
    processes): two processes with all cores each slow each other down many times over."""
    on_unreadable: Literal["stop", "skip"] = "stop"
    """A train sample that cannot be read: stop the run with an error naming it, or ``skip``: read every
    sample once before training (as ``maskssl data check``) and leave the failing ones out, with a count."""
    log_every: int = 10
    ckpt_every: int = 0
    """Save a checkpoint every N optimizer steps; 0 means at the end of every epoch."""
    keep_checkpoints: int = 2
    seed: int = 0
    init_from: str | None = None
    """Pretraining only: start the encoder from another run directory, checkpoint or export (continued
    pretraining, e.g. MAE then U-MAE); matching tensors are loaded and reported, a shape mismatch is an error."""


@dataclass
class RunConfig:
    """A whole run. ``data`` and ``model`` are checked by the modality's own dataclasses."""

    modality: str = "image"
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    decoder: dict[str, Any] = field(default_factory=dict)
    masker: dict[str, Any] = field(default_factory=lambda: {"name": "random", "ratio": 0.75})
    views: int = 1
    regularizers: dict[str, dict[str, Any]] = field(default_factory=dict)
    reconstruction_weight: float = 1.0
    online_probe_classes: int | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    """Settings of ``maskssl eval``'s protocols (``maskssl.config.evaluation``); they do not affect training."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def from_mapping(cls: type[D], values: dict[str, Any], prefix: str = "") -> D:
    """Build dataclass ``cls`` from ``values``, rejecting unknown keys and wrong types."""
    if not isinstance(values, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping of keys to values, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in fields:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" Did you mean '{(prefix + '.') if prefix else ''}{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{dotted}'; valid keys: {', '.join(fields)}.{hint}")
        hint_type = hints[key]
        if dataclasses.is_dataclass(hint_type):
            kwargs[key] = from_mapping(cast("type[DataclassInstance]", hint_type), value, dotted)
        else:
            kwargs[key] = coerce(value, hint_type, dotted)
    return cls(**kwargs)


def parse_overrides(overrides: list[str]) -> dict[str, Any]:
    """Turn ``["train.epochs=5", "masker.name=block"]`` into a nested dict; values are parsed as YAML."""
    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override '{item}' is not of the form key=value (for example train.epochs=5)")
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or exc  # ReaderError (control characters) has no .problem
            raise ConfigError(f"override '{item}': the value is not valid YAML ({problem})") from exc
        node = nested
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override '{item}' conflicts with an earlier override of '{part}'")
            node = child
        node[parts[-1]] = value
    return nested


def resolve(
    modality_recipe: dict[str, Any], file_values: dict[str, Any], overrides: dict[str, Any]
) -> RunConfig:
    """Merge core defaults < modality recipe < file < overrides, and check every section the core owns."""
    merged = deep_merge(deep_merge(deep_merge(RunConfig().to_dict(), modality_recipe), file_values), overrides)
    if isinstance(merged.get("regularizers"), dict):
        merged["regularizers"] = {k: v for k, v in merged["regularizers"].items() if v is not None}
    config = from_mapping(RunConfig, merged)
    _check_sections(config)
    return config


def _check_sections(config: RunConfig) -> None:
    if config.views < 1:
        raise ConfigError(f"views={config.views}: need at least 1 masked view")
    if config.online_probe_classes is not None and config.online_probe_classes < 2:
        raise ConfigError(f"online_probe_classes={config.online_probe_classes}: a probe needs at least 2 classes")
    for name, section in config.regularizers.items():
        if not isinstance(section, dict) or "weight" not in section:
            raise ConfigError(f"regularizers.{name} needs a weight, e.g. regularizers.{name}.weight=0.01")
        if coerce(section["weight"], float, f"regularizers.{name}.weight") < 0:
            raise ConfigError(f"regularizers.{name}.weight={section['weight']} cannot be negative (0 turns it off)")
    if config.reconstruction_weight < 0:
        raise ConfigError(f"reconstruction_weight={config.reconstruction_weight} cannot be negative")
    check_train(config.train)
    check_eval(config.eval)


def check_train(train: TrainConfig) -> None:
    """Range checks of the ``train`` section (its types are checked by ``from_mapping``)."""
    for key in ("epochs", "batch_size", "accum_steps", "log_every", "keep_checkpoints"):
        if getattr(train, key) < 1:
            raise ConfigError(f"train.{key}={getattr(train, key)} must be at least 1")
    if train.max_steps is not None and train.max_steps < 1:
        raise ConfigError(f"train.max_steps={train.max_steps} must be at least 1 (or null for all epochs)")
    if train.threads is not None and train.threads < 1:
        raise ConfigError(f"train.threads={train.threads} must be at least 1 (or null for the default)")
    if min(train.ckpt_every, train.num_workers, train.warmup_epochs, train.nonfinite_skips) < 0:
        raise ConfigError(
            "train.ckpt_every, train.num_workers, train.warmup_epochs and train.nonfinite_skips cannot be negative"
        )
    for key in ("lr", "blr"):
        value = getattr(train, key)
        if value is not None and value <= 0:
            raise ConfigError(f"train.{key}={value} must be positive")
    for key in ("min_lr", "weight_decay"):
        if getattr(train, key) < 0:
            raise ConfigError(f"train.{key}={getattr(train, key)} cannot be negative")
    if not all(0 <= beta < 1 for beta in train.betas):
        raise ConfigError(f"train.betas={list(train.betas)} must both be in [0, 1)")
    if train.clip_grad is not None and train.clip_grad <= 0:
        raise ConfigError(f"train.clip_grad={train.clip_grad} must be positive (or null for no clipping)")
