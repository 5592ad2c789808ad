"""Checks of a user's graph before it is prepared: one DataError per problem, naming the graph and the fix.

A graph is a torch-geometric Data with:

- ``edge_index`` [2, E]: integer node ids from 0 to N - 1 (an empty [2, 0] array when there are no edges);
- ``x`` [N, F]: node features (numbers), or no ``x`` and ``num_nodes`` = N for a graph without features;
- ``y``: node labels [N] (node tasks) or one graph label (graph tasks), integer class ids from 0, optional;
- node tasks only: optional boolean ``train_mask`` / ``val_mask`` / ``test_mask`` [N].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Data

from maskssl.data.checks import check_finite
from maskssl.errors import DataError

MASKS = ("train_mask", "val_mask", "test_mask")


def has_features(data: Data) -> bool:
    """Whether the graph carries node features (an ``x`` with at least one column)."""
    return data.x is not None and data.x.dim() == 2 and data.x.shape[1] > 0


def check_node_graph(data: Data, source: str) -> int:
    """N, the number of nodes, once the graph of a node task passes every check (labels [N], masks)."""
    num_nodes = _check_structure(data, source)
    if data.y is not None:
        _check_class_ids(data.y, source)
        if tuple(data.y.shape) != (num_nodes,):
            raise DataError(
                f"{source}: y must hold one label per node, shape [{num_nodes}], got shape {tuple(data.y.shape)}"
                + (" (flatten it)" if data.y.numel() == num_nodes else "")
            )
    _check_masks(data, num_nodes, source)
    return num_nodes


def check_graph_item(data: Data, source: str) -> int:
    """N, the number of nodes, once one graph of a graph task passes every check (y: one graph label)."""
    num_nodes = _check_structure(data, source)
    if data.y is not None:
        _check_class_ids(data.y, source)
        if data.y.numel() != 1:
            raise DataError(
                f"{source}: y must be one graph label (a scalar), got shape {tuple(data.y.shape)}; graph "
                f"classification reads one class id per graph, not node labels"
            )
    return num_nodes


def check_consistent(graphs: Sequence[Data], sources: Sequence[str]) -> None:
    """The graphs of one data set agree: all labelled or none, all with features of one width or none."""
    for i, graph in enumerate(graphs):
        if (graph.y is None) != (graphs[0].y is None):
            with_y, without = (sources[0], sources[i]) if graph.y is None else (sources[i], sources[0])
            raise DataError(f"{without} has no graph label y but {with_y} has one: label every graph or none")
        if has_features(graph) != has_features(graphs[0]):
            with_x, without = (sources[0], sources[i]) if not has_features(graph) else (sources[i], sources[0])
            raise DataError(
                f"{without} has no node features x but {with_x} has: give every graph x or none (then one-hot "
                f"degrees are used)"
            )
        if has_features(graph) and graph.x.shape[1] != graphs[0].x.shape[1]:
            raise DataError(
                f"{sources[i]}: x has {graph.x.shape[1]} features per node but {sources[0]} has "
                f"{graphs[0].x.shape[1]}: every graph needs the same node features"
            )


def _check_structure(data: Data, source: str) -> int:
    """N after checking x (or num_nodes) and edge_index."""
    x = data.x
    if x is None:
        if "num_nodes" not in data:
            raise DataError(
                f"{source}: no node features x [N, F]; give x, or num_nodes = N for a graph without features "
                f"(then one-hot node degrees are used)"
            )
        num_nodes = int(data.num_nodes)
    else:
        if x.dim() != 2:
            hint = " (one feature per node: reshape it to [N, 1])" if x.dim() == 1 else ""
            raise DataError(f"{source}: x must be node features [N, F], got {tuple(x.shape)}{hint}")
        if x.is_complex():
            raise DataError(f"{source}: x holds {x.dtype}; node features must be real numbers")
        check_finite(x, "node features", source, unit="node")
        num_nodes = x.shape[0]
        if "num_nodes" in data and int(data.num_nodes) != num_nodes:
            raise DataError(f"{source}: num_nodes = {int(data.num_nodes)} but x has {num_nodes} rows")
    if num_nodes < 1:
        raise DataError(f"{source}: the graph has no nodes")
    _check_edges(data.edge_index, num_nodes, source)
    return num_nodes


def _check_edges(edge_index: Tensor | None, num_nodes: int, source: str) -> None:
    if edge_index is None:
        raise DataError(f"{source}: no edge_index [2, E] (for a graph without edges, an empty array of shape [2, 0])")
    if edge_index.dtype == torch.bool or edge_index.is_floating_point() or edge_index.is_complex():
        raise DataError(
            f"{source}: edge_index holds {edge_index.dtype}; node ids must be integers (numpy: "
            f".astype(np.int64), torch: .long())"
        )
    if edge_index.dim() != 2 or edge_index.shape[0] != 2:
        shape = tuple(edge_index.shape)
        hint = ": transpose it" if edge_index.dim() == 2 and edge_index.shape[1] == 2 else ""
        raise DataError(f"{source}: edge_index must have shape [2, E] (sources, targets), got {shape}{hint}")
    if edge_index.numel() == 0:
        return
    smallest, largest = int(edge_index.min()), int(edge_index.max())
    if smallest < 0:
        raise DataError(f"{source}: edge_index holds negative node ids (smallest {smallest}); ids run from 0 to N - 1")
    if largest >= num_nodes:
        hint = "; 1-based ids? subtract 1" if smallest >= 1 and largest == num_nodes else ""
        raise DataError(
            f"{source}: edge_index refers to node {largest}, but the graph has {num_nodes} nodes (ids 0 to "
            f"{num_nodes - 1}, one per row of x){hint}"
        )


def _check_class_ids(y: Tensor, source: str) -> None:
    if y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
        raise DataError(f"{source}: y holds {y.dtype}; labels must be integer class ids (numpy: .astype(np.int64))")
    if y.numel() and int(y.min()) < 0:
        raise DataError(f"{source}: y holds the negative class id {int(y.min())}; class ids run from 0")


def _check_masks(data: Data, num_nodes: int, source: str) -> None:
    given = [name for name in MASKS if data.get(name) is not None]
    for name in given:
        mask = data[name]
        if mask.dtype != torch.bool:
            raise DataError(
                f"{source}: {name} holds {mask.dtype}; it must be a boolean mask [N] (from node ids: "
                f"m = np.zeros(N, bool); m[ids] = True)"
            )
        if tuple(mask.shape) != (num_nodes,):
            raise DataError(f"{source}: {name} must have one entry per node, [{num_nodes}], got {tuple(mask.shape)}")
        if not mask.any():
            raise DataError(f"{source}: {name} selects no node")
    if given and not {"train_mask", "test_mask"} <= set(given):
        raise DataError(
            f"{source}: has {', '.join(given)} only; give train_mask and test_mask together (val_mask is optional), "
            f"or no mask at all for a drawn split"
        )
    for i, first in enumerate(given):
        for second in given[i + 1:]:
            shared = int((data[first] & data[second]).sum())
            if shared:
                raise DataError(f"{source}: {first} and {second} share {shared} nodes; the splits must be disjoint")
