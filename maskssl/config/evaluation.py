"""The ``eval`` section of a run's config: the settings of every frozen-feature protocol of ``maskssl eval``.

Recipes set them (GraphMAE's per-dataset probe settings live in configs/graph/*.yaml), ``maskssl eval RUN
eval.logreg.weight_decay=0.01`` overrides them, and eval.json records the ones used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maskssl.errors import ConfigError


@dataclass
class ProbeSettings:
    """Linear probe on frozen features (MAE's protocol): SGD with momentum, cosine lr, lr = base_lr * batch / 256."""

    epochs: int = 90
    batch_size: int = 256
    base_lr: float = 0.1
    weight_decay: float = 0.0


@dataclass
class KnnSettings:
    """Weighted kNN (DINO's): the k nearest train features by cosine similarity, weights exp(sim / T)."""

    k: int = 20
    temperature: float = 0.07


@dataclass
class LogregSettings:
    """GraphMAE's logistic regression: one linear layer, Adam, selected on the validation split, one run per seed."""

    epochs: int = 300
    lr: float = 0.01
    weight_decay: float = 1e-4
    seeds: int = 5


@dataclass
class SvmSettings:
    """GraphMAE's graph-level protocol: RBF SVC, C chosen from ``c_grid`` per fold, stratified k-fold CV."""

    c_grid: list[float] = field(default_factory=lambda: [1e-3, 1e-2, 1e-1, 1.0, 10.0])
    folds: int = 10


@dataclass
class EvalConfig:
    """Settings of ``maskssl eval`` (and of the sweep's evaluation), by protocol.

    ``alignment_mask_ratio``: mask ratio of the two views whose alignment is measured (None: the run's own).
    ``seed``: first seed of every protocol (logreg runs ``seed ... seed + logreg.seeds - 1``).
    """

    probe: ProbeSettings = field(default_factory=ProbeSettings)
    knn: KnnSettings = field(default_factory=KnnSettings)
    logreg: LogregSettings = field(default_factory=LogregSettings)
    svm: SvmSettings = field(default_factory=SvmSettings)
    alignment_mask_ratio: float | None = None
    batch_size: int = 256
    seed: int = 0


def check_eval(config: EvalConfig) -> None:
    """Range checks of the ``eval`` section (types are checked by ``from_mapping``)."""
    counts = {
        "eval.probe.epochs": config.probe.epochs, "eval.probe.batch_size": config.probe.batch_size,
        "eval.knn.k": config.knn.k, "eval.logreg.epochs": config.logreg.epochs,
        "eval.logreg.seeds": config.logreg.seeds, "eval.batch_size": config.batch_size,
    }
    for key, count in counts.items():
        if count < 1:
            raise ConfigError(f"{key}={count} must be at least 1")
    if config.svm.folds < 2:
        raise ConfigError(f"eval.svm.folds={config.svm.folds} must be at least 2")
    positive = {
        "eval.probe.base_lr": config.probe.base_lr, "eval.knn.temperature": config.knn.temperature,
        "eval.logreg.lr": config.logreg.lr, **{f"eval.svm.c_grid[{i}]": c for i, c in enumerate(config.svm.c_grid)},
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key}={value} must be positive")
    if not config.svm.c_grid:
        raise ConfigError("eval.svm.c_grid needs at least one value of C")
    if min(config.probe.weight_decay, config.logreg.weight_decay) < 0:
        raise ConfigError("eval.probe.weight_decay and eval.logreg.weight_decay cannot be negative")
    ratio = config.alignment_mask_ratio
    if ratio is not None and not 0 < ratio < 1:
        raise ConfigError(f"eval.alignment_mask_ratio={ratio} must be in (0, 1) (or null for the run's own)")
