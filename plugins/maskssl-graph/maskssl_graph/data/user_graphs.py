"""Graphs handed over from Python: ``register_graph(name, data)``, then ``data.dataset=<name>``.

    # my_graphs.py
    from maskssl_graph import register_graph
    register_graph("my_graph", data)        # one torch_geometric Data: node classification
    register_graph("my_graphs", dataset)    # a Dataset (torch_geometric's too) or list of Data: graph classification

    maskssl train --modality graph --import my_graphs.py data.dataset=my_graph

A run records its ``--import``s and repeats them on ``--resume``, ``maskssl eval`` and ``maskssl finetune``,
so the module is the place to register. From Python, call ``register_graph`` before ``maskssl.train``
(and again in a new process before resuming). The data is read when a run starts, not when it is
registered; it is checked and prepared as the graphs of files are (``preparation``). Only x, edge_index, y,
the masks and num_nodes are read; other attributes are ignored and the registered objects are not changed.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.data import Dataset
from torch_geometric.data import Data

from maskssl.errors import ConfigError, DataError
from maskssl_graph.data.checks import MASKS

BUILT_IN = ("synthetic", "cora", "citeseer", "pubmed", "npz", "npz_folder", "tu_folder")
"""``data.dataset`` names a registration may not take (compared without case)."""

RegisteredGraph = Data | Dataset | Sequence[Data]

_registered: dict[str, RegisteredGraph] = {}


def register_graph(name: str, graph: RegisteredGraph) -> None:
    """Make ``graph`` available as ``data.dataset=<name>``; registering a name again replaces its graph.

    Args:
        name: the data set's name in configs; not one of the built-in names (``BUILT_IN``).
        graph: one torch_geometric ``Data`` (node classification: x [N, F] or num_nodes, edge_index [2, E],
            optional y [N] and boolean train_mask / val_mask / test_mask [N]), or a ``Dataset`` (torch's or
            torch_geometric's) / list / tuple of ``Data`` (graph classification: each with x [N, F] or
            num_nodes, edge_index [2, E] and an optional graph label y).
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"register_graph: the name must be a non-empty string, got {name!r}")
    if name.lower() in BUILT_IN:
        raise ConfigError(
            f"register_graph: '{name}' is a built-in data.dataset name ({', '.join(BUILT_IN)}); pick another"
        )
    if not isinstance(graph, (Data, Dataset, list, tuple)):
        raise TypeError(
            f"register_graph('{name}', ...): expected a torch_geometric Data (one graph, node classification) or a "
            f"Dataset / list of Data (graph classification), got {type(graph).__name__}"
        )
    _registered[name] = graph


def registered_names() -> list[str]:
    """The names registered in this process, sorted."""
    return sorted(_registered)


def registered_graph(name: str) -> RegisteredGraph | None:
    """What ``name`` was registered with, or None."""
    return _registered.get(name)


def registered_items(name: str) -> tuple[list[Data], list[str]]:
    """(the graphs of the data set registered as ``name``, their descriptions) as new Data (``read_fields``)."""
    dataset = _registered[name]
    graphs, sources = [], []
    for index in range(len(dataset)):  # type: ignore[arg-type]
        item = dataset[index]  # type: ignore[index]
        source = f"registered graph data set '{name}', graph {index}"
        if not isinstance(item, Data):
            raise DataError(f"{source} is a {type(item).__name__}, not a torch_geometric Data")
        graphs.append(read_fields(item, source))
        sources.append(source)
    return graphs, sources


def read_fields(data: Data, source: str) -> Data:
    """A new Data with the fields maskssl reads (x, edge_index, y, the masks, num_nodes) as tensors, unchecked."""
    fields = {}
    for key in ("x", "edge_index", "y", *MASKS):
        value = data.get(key)
        if value is not None:
            try:
                fields[key] = torch.as_tensor(value)
            except (TypeError, ValueError, RuntimeError) as exc:
                raise DataError(f"{source}: {key} is not an array of numbers ({type(exc).__name__}: {exc})") from exc
    if "num_nodes" in data:
        fields["num_nodes"] = int(data.num_nodes)
    return Data(**fields)
