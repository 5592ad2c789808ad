"""Graph data sets: the named ones (Planetoid, TU, synthetic), a user's files and Python graphs, checked and
prepared as GraphMAE prepares its data; ``sources.load_source`` is what ``data.dataset`` resolves through."""

from maskssl_graph.data.datasets import load_node_graph, load_tu, row_normalize
from maskssl_graph.data.graphs import GraphList, NodeGraph, SingleGraph
from maskssl_graph.data.sources import is_node_task, load_source
from maskssl_graph.data.synthetic import stochastic_block_graph
from maskssl_graph.data.user_graphs import register_graph

__all__ = [
    "GraphList",
    "NodeGraph",
    "SingleGraph",
    "is_node_task",
    "load_node_graph",
    "load_source",
    "load_tu",
    "register_graph",
    "row_normalize",
    "stochastic_block_graph",
]
