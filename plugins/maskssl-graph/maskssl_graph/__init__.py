"""maskssl-graph: the graph modality plugin of maskssl (GraphMAE on torch-geometric).

    maskssl train --modality graph                          # synthetic graph, no files, CPU, seconds
    maskssl train --config configs/graph/cora.yaml --out runs/cora && maskssl eval runs/cora
    maskssl train --modality graph data.dataset=npz data.root=graph.npz      # your own graph (README)
    maskssl train --modality graph --import my_graphs.py data.dataset=mine   # register_graph("mine", data)
"""

import warnings

with warnings.catch_warnings():
    # torch-geometric applies torch.jit.script at import time, which recent torch releases deprecate with a
    # FutureWarning on every run; it is theirs to change, not the user's to act on
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
    import torch_geometric  # noqa: F401

from maskssl_graph.config import GraphDataConfig, GraphModelConfig
from maskssl_graph.corruption import Corruption, corrupt_dense, sample_corruption
from maskssl_graph.data.datasets import load_node_graph, load_tu, row_normalize
from maskssl_graph.data.graphs import GraphList, NodeGraph, SingleGraph
from maskssl_graph.data.synthetic import stochastic_block_graph
from maskssl_graph.data.user_graphs import register_graph
from maskssl_graph.gat import GATDecoder, GATEncoder
from maskssl_graph.gat_layer import GATLayer
from maskssl_graph.gin import GINDecoder, GINEncoder
from maskssl_graph.loss import projected_scaled_cosine_error, scaled_cosine_error
from maskssl_graph.modality import GraphModality
from maskssl_graph.ops.sparse import SparseRows, sparse_matmul
from maskssl_graph.projected_gat import ProjectedGATLayer
from maskssl_graph.projection import MaskedInputProjection

__version__ = "0.1.0"

__all__ = [
    "Corruption",
    "GATDecoder",
    "GATEncoder",
    "GATLayer",
    "GINDecoder",
    "GINEncoder",
    "GraphDataConfig",
    "GraphList",
    "GraphModality",
    "GraphModelConfig",
    "MaskedInputProjection",
    "NodeGraph",
    "ProjectedGATLayer",
    "SingleGraph",
    "SparseRows",
    "corrupt_dense",
    "load_node_graph",
    "load_tu",
    "projected_scaled_cosine_error",
    "register_graph",
    "row_normalize",
    "sample_corruption",
    "scaled_cosine_error",
    "sparse_matmul",
    "stochastic_block_graph",
]
