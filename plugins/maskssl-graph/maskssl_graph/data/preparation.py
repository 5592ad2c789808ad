"""Preparing checked graphs as GraphMAE prepares its data sets: undirected edges, self-loops, degree features, splits.

- **Direction**: GraphMAE's graphs are undirected (Planetoid and TU files list both directions; ogbn-arxiv
  goes through ``dgl.to_bidirected``). A graph whose edges are not symmetric is symmetrised with
  ``torch_geometric.utils.to_undirected`` (which also drops duplicate edges), and one line says so.
- **Self-loops**: existing self-loops are removed and one is added per node (GraphMAE's
  ``remove_self_loop().add_self_loop()``); degrees are counted before the loops are added.
- **Features**: a user's features are taken as given. GraphMAE does not normalise features itself: its
  citation graphs come row-normalised from DGL (``datasets.row_normalize`` repeats that for Planetoid) and
  ogbn-arxiv is standardised, so normalise your features before handing them over when they need it (the
  scaled cosine error does not depend on a target row's scale). Graphs without features (or with
  ``data.degree_features``) get one-hot degrees capped at ``MAX_DEGREE``, as GraphMAE for IMDB and COLLAB.
- **Node splits**: given ``train_mask`` / ``test_mask`` (and ``val_mask``) are used as they are; missing
  ones are drawn with ``maskssl.data.holdout.held_out_indices``, stratified by class and seeded (see ``node_masks``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import add_self_loops, degree, is_undirected, remove_self_loops, to_undirected

from maskssl.data.holdout import held_out_indices
from maskssl.errors import DataError
from maskssl_graph.data.checks import check_consistent, check_graph_item, check_node_graph, has_features
from maskssl_graph.data.graphs import GraphList, NodeGraph

MAX_DEGREE = 400
"""Degrees above this share the last one-hot column (GraphMAE's MAX_DEGREES)."""


def note(message: str) -> None:
    """One line on stderr about how the data was prepared (on the first process only under torchrun)."""
    if os.environ.get("RANK", "0") == "0":
        print(f"maskssl-graph: {message}", file=sys.stderr, flush=True)


def with_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """[2, E'] the edges with existing self-loops removed and one added per node."""
    edge_index, _ = remove_self_loops(edge_index)
    return add_self_loops(edge_index, num_nodes=num_nodes)[0]


def undirected(edge_index: Tensor, num_nodes: int) -> tuple[Tensor, bool]:
    """([2, E'] the edges without self-loops and in both directions, whether edges had to be added).
    Edges that already come in both directions are kept as they are, in their order."""
    edge_index, _ = remove_self_loops(edge_index.long())
    if is_undirected(edge_index, num_nodes=num_nodes):
        return edge_index, False
    return to_undirected(edge_index, num_nodes=num_nodes), True


def one_hot_degrees(graphs: list[Data]) -> None:
    """x := one-hot in-degree (before self-loops), capped at MAX_DEGREE, width 1 + the largest (capped) degree."""
    degrees = [degree(g.edge_index[1], g.num_nodes, dtype=torch.long).clamp(max=MAX_DEGREE) for g in graphs]
    width = 1 + max(int(d.max()) if d.numel() else 0 for d in degrees)
    for graph, deg in zip(graphs, degrees):
        graph.x = torch.nn.functional.one_hot(deg, width).float()


def prepare_graphs(graphs: Sequence[Data], sources: Sequence[str], dataset: str, degree_features: bool) -> GraphList:
    """Graph classification data: each graph checked, undirected, with features and self-loops.

    Args:
        graphs: torch-geometric Data with edge_index [2, E], x [N, F] or none, y a graph label or none.
        sources: one description per graph for error messages (its file, or its index in ``dataset``).
        dataset: the whole collection, for messages.
        degree_features: one-hot degrees even when the graphs have features.

    Returns:
        Graphs with x [N, F'] float, edge_index [2, E'] (both directions, one self-loop per node), y [1] long.
    """
    if not graphs:
        raise DataError(f"{dataset} holds no graphs")
    sizes = [check_graph_item(graph, source) for graph, source in zip(graphs, sources)]
    check_consistent(graphs, sources)
    features = has_features(graphs[0]) and not degree_features
    prepared, directed = [], 0
    for graph, num_nodes in zip(graphs, sizes):
        edge_index, made_undirected = undirected(graph.edge_index, num_nodes)
        directed += made_undirected
        y = None if graph.y is None else graph.y.long().view(1)
        prepared.append(Data(x=graph.x.float() if features else None, edge_index=edge_index, y=y, num_nodes=num_nodes))
    if directed:
        note(f"{dataset}: the edges of {directed} of {len(graphs)} graphs were not symmetric; symmetrised "
             f"(to_undirected)")
    if not features:
        one_hot_degrees(prepared)
    for graph in prepared:
        graph.edge_index = with_self_loops(graph.edge_index, graph.num_nodes)
    return GraphList(prepared)


def prepare_node_graph(
    data: Data, source: str, *, degree_features: bool, test_fraction: float, val_fraction: float, seed: int
) -> NodeGraph:
    """Node classification data: one graph checked, undirected, with features, self-loops and splits.

    Args:
        data: Data with edge_index [2, E], x [N, F] (or num_nodes and no x), optional y [N] and optional
            boolean train_mask / val_mask / test_mask [N].
        source: the graph's file or name, for messages.
        degree_features: one-hot degrees even when the graph has features.
        test_fraction, val_fraction, seed: the drawn split of ``node_masks``.
    """
    num_nodes = check_node_graph(data, source)
    edge_index, made_undirected = undirected(data.edge_index, num_nodes)
    if made_undirected:
        note(f"{source}: the edges were not symmetric; symmetrised (to_undirected) to {edge_index.shape[1]} edges "
             f"without self-loops")
    graph = Data(x=data.x.float() if has_features(data) else None, edge_index=edge_index, num_nodes=num_nodes)
    if degree_features or graph.x is None:
        one_hot_degrees([graph])
    graph.edge_index = with_self_loops(edge_index, num_nodes)
    graph.y = None if data.y is None else data.y.long()
    for split, mask in node_masks(data, num_nodes, source, test_fraction, val_fraction, seed).items():
        graph[f"{split}_mask"] = mask
    return NodeGraph.from_data(graph)


def node_masks(
    data: Data, num_nodes: int, source: str, test_fraction: float, val_fraction: float, seed: int
) -> dict[str, Tensor]:
    """bool [N] "train", "val", "test" masks: the graph's own, else drawn with ``held_out_indices``.

    Without train_mask / test_mask, ``test_fraction`` of each class is held out for "test" (all nodes form
    one stratum when the graph has no labels); without val_mask, ``val_fraction`` of each class of the
    train nodes is held out for "val". Both draws are seeded by ``seed``.
    """
    labels = [None] * num_nodes if data.y is None else data.y.tolist()
    if data.get("test_mask") is None:
        test = _mask(held_out_indices(labels, test_fraction, seed, "test"), num_nodes)
        train, what = ~test, "no train_mask / val_mask / test_mask: drew the split"
        settings = f"data.test_fraction={test_fraction:g}, data.val_fraction={val_fraction:g}"
    else:
        test, train, what = data.test_mask, data.train_mask, "no val_mask: drew val from the train_mask nodes"
        settings = f"data.val_fraction={val_fraction:g}"
    if data.get("val_mask") is None:
        pool = train.nonzero().flatten().tolist()
        picked = held_out_indices([labels[i] for i in pool], val_fraction, seed, "test")
        val = _mask([pool[i] for i in picked], num_nodes)
        train = train & ~val
        if data.y is not None:
            counts = ", ".join(f"{int(m.sum())} {name}" for name, m in (("train", train), ("val", val), ("test", test)))
            note(f"{source}: {what} ({settings}, data.seed={seed}, stratified by class): {counts} nodes")
    else:
        val = data.val_mask
    return {"train": train, "val": val, "test": test}


def _mask(indices: list[int], num_nodes: int) -> Tensor:
    mask = torch.zeros(num_nodes, dtype=torch.bool)
    mask[indices] = True
    return mask
