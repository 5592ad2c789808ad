"""In-memory graph data as the training loop sees it: one graph of labelled nodes, or a list of graphs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch
from torch import Tensor
from torch.utils.data import Dataset
from torch_geometric.data import Data

from maskssl_graph.ops.sparse import SparseRows

SPARSE_BELOW = 0.2
"""Node features with a smaller share of non-zeros are also kept as ``SparseRows`` for the encoder."""


@dataclass
class NodeGraph:
    """One graph whose nodes are the samples (transductive node classification), prepared once.

    Attributes:
        x: [N, F] dense node features (the reconstruction target).
        edge_index: [2, E] edges, both directions and one self-loop per node.
        y: [N] node labels, or None for a graph without labels (pretraining only).
        masks: split name ("train", "val", "test") -> bool [N].
        sparse: ``x`` as ``SparseRows`` when less than ``SPARSE_BELOW`` of it is non-zero, else None.
        labelled: [S] the nodes a fine-tuning batch classifies (a split's nodes), or None in pretraining.
    """

    x: Tensor
    edge_index: Tensor
    y: Tensor | None
    masks: dict[str, Tensor]
    sparse: SparseRows | None = field(default=None)
    labelled: Tensor | None = field(default=None)

    @classmethod
    def from_data(cls, data: Data) -> NodeGraph:
        """From a torch-geometric Data with x, edge_index (self-loops included), y (or None), train/val/test masks."""
        rows = SparseRows.from_dense(data.x)
        return cls(
            x=data.x,
            edge_index=data.edge_index,
            y=data.y,
            masks={split: data[f"{split}_mask"] for split in ("train", "val", "test")},
            sparse=rows if rows.density < SPARSE_BELOW else None,
        )

    @property
    def num_nodes(self) -> int:
        return self.x.shape[0]

    @property
    def inputs(self) -> Tensor | SparseRows:
        """What the encoder reads: the sparse rows when kept, else the dense features."""
        return self.sparse if self.sparse is not None else self.x

    def to(self, device: torch.device) -> NodeGraph:
        """This graph on ``device`` (itself when it is already there)."""
        if self.x.device == device:
            return self
        return NodeGraph(
            x=self.x.to(device),
            edge_index=self.edge_index.to(device),
            y=self.y.to(device) if self.y is not None else None,
            masks={k: v.to(device) for k, v in self.masks.items()},
            sparse=self.sparse.to(device) if self.sparse is not None else None,
            labelled=self.labelled.to(device) if self.labelled is not None else None,
        )

    def with_labelled(self, nodes: Tensor) -> NodeGraph:
        """The same graph, whose fine-tuning batches classify ``nodes`` [S]."""
        return dataclasses.replace(self, labelled=nodes)


class SingleGraph(Dataset):
    """A dataset of one item, the whole graph: full-batch training, one step per epoch."""

    def __init__(self, graph: NodeGraph) -> None:
        self.graph = graph

    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> NodeGraph:
        if index != 0:
            raise IndexError(index)
        return self.graph


class GraphList(Dataset):
    """Graphs as samples (graph classification): torch-geometric Data with x, edge_index and y [1]."""

    def __init__(self, graphs: list[Data]) -> None:
        self.graphs = graphs

    def __len__(self) -> int:
        return len(self.graphs)

    def __getitem__(self, index: int) -> Data:
        return self.graphs[index]
