"""Linear probing of frozen features, as MAE's protocol (the head: ``maskssl.layers.probe_head.probe_head``).

MAE (He et al. 2021) probes a frozen encoder with a linear head on its [CLS] feature, standardised by a
``BatchNorm1d(D, affine=False, eps=1e-6)``; the head's weight is drawn from a truncated normal with std
0.01 and its bias is 0. MAE trains it with LARS for 90 epochs at batch 16384 (10 warmup epochs, cosine).

Substitute for small data (documented, each a keyword argument of :func:`linear_probe`): SGD with
momentum 0.9, weight decay 0, per-step linear warmup over the first 10% of the steps then half-cosine
decay to 0 (``maskssl.engine.schedule.lr_at``), lr = base_lr × batch / 256 with base_lr 0.1, batch 256,
90 epochs. Batches are drawn without replacement and the last incomplete one is dropped, as MAE's
loader; when N < batch the batch is N (and the lr is scaled by N / 256).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskssl.config.evaluation import ProbeSettings
from maskssl.engine.schedule import lr_at
from maskssl.layers.probe_head import probe_head

WARMUP_FRACTION = 0.1


@dataclass
class ProbeResult:
    """Outcome of :func:`linear_probe`: accuracies in percent (0..100), epochs run and peak lr."""

    train_accuracy: float
    test_accuracy: float
    epochs: int
    lr: float


@torch.no_grad()
def _accuracy(head: nn.Module, x: Tensor, y: Tensor, batch_size: int) -> float:
    """Percent of rows of x [M, D] whose argmax logit equals y [M]; the head in eval mode."""
    head.eval()
    correct = sum(
        int((head(x[i : i + batch_size]).argmax(dim=1) == y[i : i + batch_size]).sum())
        for i in range(0, x.shape[0], batch_size)
    )
    return 100.0 * correct / max(1, x.shape[0])


def _check_pair(x: Tensor, y: Tensor, name: str) -> None:
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"{name} features must be [N, D] and labels [N], got {tuple(x.shape)} and {tuple(y.shape)}")


def linear_probe(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    *,
    num_classes: int | None = None,
    epochs: int = ProbeSettings.epochs,
    batch_size: int = ProbeSettings.batch_size,
    base_lr: float = ProbeSettings.base_lr,
    weight_decay: float = ProbeSettings.weight_decay,
    seed: int = 0,
) -> ProbeResult:
    """Train MAE's linear probe on frozen features and report its accuracies.

    Args:
        train_x: [N, D] training features (N >= 2); train_y: [N] integer labels.
        test_x: [M, D] test features; test_y: [M] integer labels.
        num_classes: C; default 1 + the largest label of either split.
        epochs, batch_size, base_lr, weight_decay: the SGD substitute for LARS (module docstring).
        seed: head initialisation and per-epoch shuffling (a seeded CPU generator).

    Runs on the device of ``train_x``; features are cast to float32.
    """
    _check_pair(train_x, train_y, "train")
    _check_pair(test_x, test_y, "test")
    if train_x.shape[0] < 2:
        raise ValueError("the linear probe needs at least 2 training samples (BatchNorm statistics)")
    device = train_x.device
    train_x, test_x = train_x.detach().float(), test_x.detach().to(device).float()
    train_y, test_y = train_y.to(device).long(), test_y.to(device).long()
    if num_classes is None:
        num_classes = int(torch.cat([train_y, test_y]).max()) + 1

    generator = torch.Generator().manual_seed(seed)
    head = probe_head(train_x.shape[1], num_classes, generator).to(device)
    n = train_x.shape[0]
    batch = min(batch_size, n)
    steps_per_epoch = n // batch
    total_steps = epochs * steps_per_epoch
    warmup_steps = int(WARMUP_FRACTION * total_steps)
    peak_lr = base_lr * batch / 256
    optimizer = torch.optim.SGD(head.parameters(), lr=peak_lr, momentum=0.9, weight_decay=weight_decay)

    step = 0
    for _ in range(epochs):
        head.train()
        order = torch.randperm(n, generator=generator).to(device)
        for i in range(steps_per_epoch):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, peak_lr, 0.0, warmup_steps, total_steps)
            idx = order[i * batch : (i + 1) * batch]
            loss = F.cross_entropy(head(train_x[idx]), train_y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1

    return ProbeResult(
        train_accuracy=_accuracy(head, train_x, train_y, batch_size),
        test_accuracy=_accuracy(head, test_x, test_y, batch_size),
        epochs=epochs,
        lr=peak_lr,
    )
