"""A deterministic stochastic-block-model graph with class-dependent sparse bag-of-words features.

The offline default of ``maskssl train --modality graph``: no files, a Planetoid-like task in seconds.
Each class is a block that mostly links inside itself (``homophily``) and owns a "topic" of
``num_features / num_classes`` words; each node draws ``words_per_node`` words, a ``topic_share`` of
them from its class's topic and the rest from the whole vocabulary. Neither the features nor the
links alone give the labels away: a node's neighbourhood tells more than the node.
"""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops, to_undirected


def _edges(y: torch.Tensor, num_edges: int, homophily: float, generator: torch.Generator) -> torch.Tensor:
    """[2, E] undirected edges without self-loops: each drawn inside the source's block with probability
    ``homophily``, else to a uniformly random node."""
    n = y.numel()
    by_class = torch.argsort(y, stable=True)
    counts = torch.bincount(y)
    starts = torch.cumsum(counts, 0) - counts
    src = torch.randint(n, (num_edges,), generator=generator)
    within = by_class[starts[y[src]] + (torch.rand(num_edges, generator=generator) * counts[y[src]]).long()]
    anywhere = torch.randint(n, (num_edges,), generator=generator)
    dst = torch.where(torch.rand(num_edges, generator=generator) < homophily, within, anywhere)
    edge_index, _ = remove_self_loops(torch.stack([src, dst]))
    return coalesce(to_undirected(edge_index, num_nodes=n), num_nodes=n)


def _features(
    y: torch.Tensor, num_classes: int, num_features: int, words: int, topic_share: float, generator: torch.Generator
) -> torch.Tensor:
    """[N, F] binary bag of words: a ``topic_share`` of each node's words from its class's topic."""
    n = y.numel()
    topic_size = num_features // num_classes
    topical = torch.rand(n, words, generator=generator) < topic_share
    in_topic = y[:, None] * topic_size + torch.randint(topic_size, (n, words), generator=generator)
    anywhere = torch.randint(num_features, (n, words), generator=generator)
    word = torch.where(topical, in_topic, anywhere)
    x = torch.zeros(n, num_features)
    x[torch.arange(n)[:, None].expand(-1, words), word] = 1.0
    return x


def _split_masks(
    y: torch.Tensor, num_classes: int, train_per_class: int, num_val: int, generator: torch.Generator
) -> dict[str, torch.Tensor]:
    """Planetoid-style split: ``train_per_class`` nodes of each class, then ``num_val`` val, the rest test."""
    n = y.numel()
    order = torch.randperm(n, generator=generator)
    train = torch.zeros(n, dtype=torch.bool)
    for c in range(num_classes):
        train[order[y[order] == c][:train_per_class]] = True
    rest = order[~train[order]]
    val = torch.zeros(n, dtype=torch.bool)
    val[rest[:num_val]] = True
    return {"train": train, "val": val, "test": ~(train | val)}


def stochastic_block_graph(
    num_nodes: int = 1000,
    num_classes: int = 5,
    num_features: int = 500,
    avg_degree: float = 6.0,
    homophily: float = 0.7,
    words_per_node: int = 10,
    topic_share: float = 0.3,
    train_per_class: int = 20,
    num_val: int = 200,
    seed: int = 0,
) -> Data:
    """The graph as torch-geometric Data: x [N, F] binary (not normalised), edge_index [2, E] (undirected,
    no self-loops), y [N], and train_mask / val_mask / test_mask [N]. The same seed gives the same graph."""
    if num_nodes < num_classes * (train_per_class + 1) + num_val:
        raise ValueError(f"num_nodes={num_nodes} is too small for {num_classes} classes and the split")
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(num_nodes) % num_classes
    y = y[torch.randperm(num_nodes, generator=generator)]
    edge_index = _edges(y, round(num_nodes * avg_degree / 2), homophily, generator)
    x = _features(y, num_classes, num_features, words_per_node, topic_share, generator)
    masks = _split_masks(y, num_classes, train_per_class, num_val, generator)
    return Data(x=x, edge_index=edge_index, y=y, **{f"{k}_mask": v for k, v in masks.items()})

