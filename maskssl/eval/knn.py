"""Weighted k-nearest-neighbour classification of frozen features (InstDisc, Wu et al. 2018; DINO).

Features are L2-normalised; each test row's k most cosine-similar training rows vote for their label
with weight exp(similarity / temperature); the label with the largest total weight wins. Test rows are
processed in chunks so memory stays O(chunk_size × N).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from maskssl.config.evaluation import KnnSettings


@torch.no_grad()
def knn_classify(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    *,
    k: int = KnnSettings.k,
    temperature: float = KnnSettings.temperature,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> Tensor:
    """Predicted labels [M] (int64, on train_x's device) of test_x [M, D] from train_x [N, D], train_y [N].

    ``k`` larger than N is clamped to N; ``num_classes`` defaults to 1 + the largest training label.
    The weights are exp((sim - max sim of the row) / temperature): the same vote as DINO's
    exp(sim / temperature), without overflow at small temperatures.
    """
    if train_x.ndim != 2 or test_x.ndim != 2 or train_y.shape != (train_x.shape[0],):
        raise ValueError(
            f"expected train [N, D], labels [N], test [M, D]; got {tuple(train_x.shape)}, "
            f"{tuple(train_y.shape)}, {tuple(test_x.shape)}"
        )
    if train_x.shape[0] == 0 or k < 1 or temperature <= 0 or chunk_size < 1:
        raise ValueError("kNN needs N >= 1 training rows, k >= 1, temperature > 0 and chunk_size >= 1")
    device = train_x.device
    train = F.normalize(train_x.float(), dim=1)  # [N, D]
    labels = train_y.to(device).long()  # [N]
    classes = num_classes if num_classes is not None else int(labels.max()) + 1
    k = min(k, train.shape[0])

    predictions = []
    for start in range(0, test_x.shape[0], chunk_size):
        query = F.normalize(test_x[start : start + chunk_size].to(device).float(), dim=1)  # [c, D]
        sim, idx = (query @ train.T).topk(k, dim=1)  # [c, k]
        weights = ((sim - sim[:, :1]) / temperature).exp()  # [c, k], topk is sorted: column 0 is the max
        votes = torch.zeros(query.shape[0], classes, device=device)  # [c, C]
        votes.scatter_add_(1, labels[idx], weights)
        predictions.append(votes.argmax(dim=1))
    if not predictions:
        return torch.empty(0, dtype=torch.long, device=device)
    return torch.cat(predictions)


def knn_accuracy(
    train_x: Tensor,
    train_y: Tensor,
    test_x: Tensor,
    test_y: Tensor,
    *,
    k: int = KnnSettings.k,
    temperature: float = KnnSettings.temperature,
    num_classes: int | None = None,
    chunk_size: int = 1024,
) -> float:
    """Percent (0..100) of test rows whose :func:`knn_classify` label equals test_y [M]."""
    predicted = knn_classify(
        train_x, train_y, test_x, k=k, temperature=temperature, num_classes=num_classes, chunk_size=chunk_size
    )
    if predicted.numel() == 0:
        raise ValueError("kNN accuracy needs at least one test row")
    return 100.0 * (predicted == test_y.to(predicted.device)).float().mean().item()
