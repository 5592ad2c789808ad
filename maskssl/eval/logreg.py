"""Logistic regression on frozen features, selected on a validation split (GraphMAE's node protocol).

As GraphMAE's ``linear_probing_for_transductive_node_classiifcation``: one linear layer (PyTorch's default
initialisation), full-batch Adam with lr 0.01 and weight decay 1e-4 (L2 added to the gradient, as
``torch.optim.Adam``), 300 epochs of cross-entropy on the train split. After every epoch the validation
accuracy is measured; the weights of the best epoch (the latest one on ties) are kept and their test
accuracy is the result (GraphMAE's "early-stopping" accuracy); the test accuracy of the last epoch's
weights (GraphMAE's "final_acc") is reported beside it. :func:`logreg_over_seeds` repeats this with several initialisation seeds and
reports mean ± std (population std, as NumPy's default).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskssl.config.evaluation import LogregSettings
from maskssl.interfaces import FeatureSet


@dataclass
class LogRegResult:
    """Accuracies in percent (0..100) of the weights selected on validation, and their epoch (0-based);
    ``final_test_accuracy``: the test accuracy of the last epoch's weights."""

    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    best_epoch: int
    final_test_accuracy: float


def _accuracy(logits: Tensor, labels: Tensor) -> float:
    return 100.0 * (logits.argmax(dim=1) == labels).float().mean().item()


def _seeded_linear(in_dim: int, num_classes: int, seed: int) -> nn.Linear:
    """nn.Linear with PyTorch's default initialisation drawn from a seeded generator (global RNG untouched)."""
    generator = torch.Generator().manual_seed(seed)
    linear = nn.Linear(in_dim, num_classes)
    nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
    bound = 1.0 / math.sqrt(in_dim)
    nn.init.uniform_(linear.bias, -bound, bound, generator=generator)
    return linear


def logistic_regression(
    train: FeatureSet,
    val: FeatureSet,
    test: FeatureSet,
    *,
    num_classes: int | None = None,
    epochs: int = LogregSettings.epochs,
    lr: float = LogregSettings.lr,
    weight_decay: float = LogregSettings.weight_decay,
    seed: int = 0,
) -> LogRegResult:
    """Fit on ``train`` (features [N, D], labels [N]), select the epoch on ``val``, score on ``test``.

    ``num_classes`` defaults to 1 + the largest label of the three splits. Runs on the device of the
    train features, in float32.
    """
    labels: list[Tensor] = []
    for name, split in (("train", train), ("val", val), ("test", test)):
        if split.labels is None or split.features.ndim != 2 or split.features.shape[0] != split.labels.shape[0]:
            raise ValueError(f"logistic regression needs labelled {name} features [N, D] with labels [N]")
        labels.append(split.labels)
    device = train.features.device
    xs = [s.features.detach().to(device).float() for s in (train, val, test)]
    ys = [y.to(device).long() for y in labels]
    if num_classes is None:
        num_classes = int(torch.cat(ys).max()) + 1
    head = _seeded_linear(xs[0].shape[1], num_classes, seed).to(device)
    optimizer = torch.optim.Adam(head.parameters(), lr=lr, weight_decay=weight_decay)
    best_val, best_epoch, best_state = -1.0, 0, None
    for epoch in range(epochs):
        loss = F.cross_entropy(head(xs[0]), ys[0])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            val_accuracy = _accuracy(head(xs[1]), ys[1])
        if val_accuracy >= best_val:
            best_val, best_epoch = val_accuracy, epoch
            best_state = {k: v.detach().clone() for k, v in head.state_dict().items()}
    with torch.no_grad():
        final_test_accuracy = _accuracy(head(xs[2]), ys[2])
    if best_state is not None:
        head.load_state_dict(best_state)
    with torch.no_grad():
        train_accuracy, val_accuracy, test_accuracy = (_accuracy(head(x), y) for x, y in zip(xs, ys))
    return LogRegResult(train_accuracy, val_accuracy, test_accuracy, best_epoch, final_test_accuracy)


def _mean_std(values: list[float]) -> tuple[float, float]:
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std(unbiased=False))


def logreg_over_seeds(
    train: FeatureSet,
    val: FeatureSet,
    test: FeatureSet,
    *,
    seeds: list[int],
    epochs: int = LogregSettings.epochs,
    lr: float = LogregSettings.lr,
    weight_decay: float = LogregSettings.weight_decay,
) -> dict[str, Any]:
    """:func:`logistic_regression` once per seed: settings, mean ± std of each accuracy, and every run."""
    if not seeds:
        raise ValueError("logreg_over_seeds needs at least one seed")
    runs = [
        logistic_regression(train, val, test, epochs=epochs, lr=lr, weight_decay=weight_decay, seed=seed)
        for seed in seeds
    ]
    report: dict[str, Any] = {"epochs": epochs, "lr": lr, "weight_decay": weight_decay, "seeds": list(seeds)}
    for name in ("train", "val", "test", "final_test"):
        mean, std = _mean_std([getattr(run, f"{name}_accuracy") for run in runs])
        report[f"{name}_accuracy_mean"], report[f"{name}_accuracy_std"] = mean, std
    report["runs"] = [asdict(run) for run in runs]
    return report
