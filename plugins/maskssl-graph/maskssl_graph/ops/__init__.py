"""Sparse kernels of the graph modality: sparse node features and products, GAT attention as sparse products."""

from maskssl_graph.ops.attention import EdgeLayout, attend
from maskssl_graph.ops.sparse import SparseRows, sparse_matmul

__all__ = ["EdgeLayout", "SparseRows", "attend", "sparse_matmul"]
