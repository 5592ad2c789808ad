"""What ``data.dataset`` names, and loading it: built-in graphs, a user's files, or a registered graph.

| ``data.dataset``                  | task   | read from                                                  |
|-----------------------------------|--------|------------------------------------------------------------|
| a name given to ``register_graph``| either | the registered Data (nodes) or Dataset / list (graphs)     |
| synthetic                         | nodes  | nothing (``synthetic.stochastic_block_graph``)             |
| Cora, CiteSeer, PubMed            | nodes  | data.root/<Name>/raw/ (``datasets.load_node_graph``)       |
| npz                               | nodes  | the .npz file data.root (``user_files.read_npz``)          |
| npz_folder                        | graphs | the .npz files in data.root or its class sub-folders       |
| tu_folder                         | graphs | the TU text files NAME_*.txt in data.root, any NAME        |
| any other name: a TU dataset      | graphs | data.root/<NAME>/raw/NAME_*.txt (``datasets.load_tu``)     |
"""

from __future__ import annotations

from torch_geometric.data import Data

from maskssl.errors import DataError
from maskssl_graph.config import GraphDataConfig
from maskssl_graph.data.datasets import PLANETOID, load_node_graph, load_tu, read_tu
from maskssl_graph.data.graphs import GraphList, NodeGraph
from maskssl_graph.data.preparation import prepare_graphs, prepare_node_graph
from maskssl_graph.data.user_files import npz_file, read_npz, read_npz_folder, tu_files
from maskssl_graph.data.user_graphs import read_fields, registered_graph, registered_items, registered_names


def is_node_task(name: str) -> bool:
    """Whether ``data.dataset`` names a node-classification graph (one graph whose nodes are the samples)."""
    registered = registered_graph(name)
    if registered is not None:
        return isinstance(registered, Data)
    return name.lower() in PLANETOID or name.lower() in ("synthetic", "npz")


def load_source(data: GraphDataConfig) -> NodeGraph | GraphList:
    """The ``data`` section's graph(s), checked and prepared: a NodeGraph (node tasks) or a GraphList."""
    name, kind = data.dataset, data.dataset.lower()
    registered = registered_graph(name)
    if isinstance(registered, Data):
        return _node_graph(read_fields(registered, f"registered graph '{name}'"), f"registered graph '{name}'", data)
    if registered is not None:
        graphs, sources = registered_items(name)
        return prepare_graphs(graphs, sources, f"registered graph data set '{name}'", data.degree_features)
    if kind == "npz":
        path = npz_file(data.root)
        return _node_graph(read_npz(path), str(path), data)
    if kind == "npz_folder":
        graphs, sources = read_npz_folder(data.root)
        return prepare_graphs(graphs, sources, f"the .npz graphs in {data.root}", data.degree_features)
    if kind == "tu_folder":
        folder, prefix = tu_files(data.root)
        graphs = read_tu(folder, prefix, node_attributes=True)
        sources = [f"TU files {prefix}_*.txt in {folder}, graph {i + 1}" for i in range(len(graphs))]
        return prepare_graphs(graphs, sources, f"TU files {prefix}_*.txt in {folder}", data.degree_features)
    if is_node_task(name):
        return load_node_graph(name, data.root, data.seed)
    if data.root is None:
        registered_now = ", ".join(registered_names()) or "none"
        raise DataError(
            f"data.dataset='{name}' is not a built-in graph (synthetic, Cora, CiteSeer, PubMed, npz, npz_folder, "
            f"tu_folder) nor a registered one (registered: {registered_now}). A TU dataset needs data.root holding "
            f"{name}/raw/{name}_A.txt ...; a graph of yours from Python needs maskssl_graph.register_graph('{name}', "
            f"data) in a module you pass with --import"
        )
    return load_tu(name, data.root, data.degree_features)


def _node_graph(graph: Data, source: str, data: GraphDataConfig) -> NodeGraph:
    return prepare_node_graph(
        graph, source, degree_features=data.degree_features, test_fraction=data.test_fraction,
        val_fraction=data.val_fraction, seed=data.seed,
    )
