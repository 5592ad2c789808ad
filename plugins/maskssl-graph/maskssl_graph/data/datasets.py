"""Named graph datasets from local files in torch-geometric's raw layout, prepared as GraphMAE prepares them.

    Planetoid (node classification): <root>/<Cora|CiteSeer|PubMed>/raw/ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}
    TUDataset (graph classification): <root>/<NAME>/raw/NAME_A.txt, NAME_graph_indicator.txt, NAME_graph_labels.txt
                                      (and NAME_node_labels.txt when the graphs have node labels)
    synthetic: no files (``maskssl_graph.data.synthetic``)

Nothing is downloaded. torch-geometric's processed files go to a temporary folder that is removed once
the data is in memory, so ``root`` may be read-only.

Preparation, as GraphMAE's code: Planetoid and synthetic features are row-normalised (each row sums to
1, as DGL's citation datasets); TU graphs take one-hot node labels as features, or one-hot degrees
(capped at 400, GraphMAE's MAX_DEGREES) when they have no node labels or ``degree_features`` is set, and go
through ``preparation.prepare_graphs`` as a user's graphs do. Every graph gets one self-loop per node
(GraphMAE's ``remove_self_loop().add_self_loop()``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.datasets import Planetoid, TUDataset

from maskssl.data.checks import check_finite
from maskssl.errors import DataError
from maskssl_graph.data.graphs import GraphList, NodeGraph
from maskssl_graph.data.preparation import prepare_graphs, with_self_loops
from maskssl_graph.data.synthetic import stochastic_block_graph

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
PLANETOID_FILES = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
TU_FILES = ("A", "graph_indicator", "graph_labels")


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by its sum (rows summing to 0 stay 0), as DGL's citation-graph preprocessing."""
    total = x.sum(dim=1, keepdim=True)
    return x / torch.where(total == 0, torch.ones_like(total), total)


def _raw_folder(root: str | None, name: str, files: list[str], what: str) -> Path:
    """<root>/<name>/raw when it holds every file, else a DataError saying what to put where."""
    if root is None:
        raise DataError(
            f"dataset '{name}' reads local files but data.root is not set: set data.root to the folder "
            f"that holds {name}/raw/ with {what}"
        )
    folder = Path(root).expanduser() / name / "raw"
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise DataError(
            f"dataset '{name}': {folder} lacks {', '.join(missing)}. Put {what} in {folder}/ "
            f"(data.root={root} must hold {name}/raw/); nothing is downloaded"
        )
    return folder


class _Quiet:
    """Mixed into torch-geometric datasets: their "Processing... Done!" lines stay out of maskssl's output."""

    @property
    def log(self) -> bool:
        return False

    @log.setter
    def log(self, value: bool) -> None:  # torch-geometric's Dataset.__init__ assigns it
        pass


class _OfflinePlanetoid(_Quiet, Planetoid):
    """Planetoid whose processed files go to a folder of our choosing and which never downloads."""

    def __init__(self, root: str, name: str, processed: str) -> None:
        self._processed = processed
        super().__init__(root, name)

    @property
    def processed_dir(self) -> str:
        return self._processed

    def download(self) -> None:
        raise DataError(f"the raw files of Planetoid {self.name} are missing in {self.raw_dir}")


class _OfflineTUDataset(_Quiet, TUDataset):
    """TUDataset reading NAME_*.txt from any folder, whose processed files go to a folder of our choosing and
    which never downloads."""

    def __init__(self, raw: Path, name: str, processed: str, node_attributes: bool) -> None:
        self._raw, self._processed = raw, processed
        super().__init__(str(raw), name, use_node_attr=node_attributes)

    @property
    def raw_dir(self) -> str:
        return str(self._raw)

    @property
    def processed_dir(self) -> str:
        return self._processed

    def download(self) -> None:
        raise DataError(f"the raw files of TU dataset {self.name} are missing in {self.raw_dir}")


def load_node_graph(name: str, root: str | None, seed: int = 0) -> NodeGraph:
    """Cora, CiteSeer or PubMed (public split) from ``root``, or the synthetic graph of ``seed``."""
    if name.lower() == "synthetic":
        data = stochastic_block_graph(seed=seed)
    else:
        canonical = PLANETOID[name.lower()]
        files = [f"ind.{canonical.lower()}.{suffix}" for suffix in PLANETOID_FILES]
        what = "the Planetoid files ind.<name>.* (github.com/kimiyoung/planetoid)"
        folder = _raw_folder(root, canonical, files, what)
        with tempfile.TemporaryDirectory(prefix="maskssl-graph-") as processed:
            data = _OfflinePlanetoid(str(folder.parent.parent), canonical, processed)[0]
        check_finite(data.x.float(), "node features", f"{canonical} in {folder}", unit="node")
    data.x = row_normalize(data.x.float())
    data.edge_index = with_self_loops(data.edge_index, data.num_nodes)
    return NodeGraph.from_data(data)


def read_tu(folder: Path, name: str, node_attributes: bool) -> list[Data]:
    """The graphs of the TU text files ``folder``/NAME_*.txt, unchecked: edge_index [2, E] (0-based, per graph),
    x [N, F] (node attributes when ``node_attributes``, then one-hot node labels) or num_nodes, y [1] per graph
    (the graph labels renumbered 0..C-1) when NAME_graph_labels.txt exists."""
    with tempfile.TemporaryDirectory(prefix="maskssl-graph-") as processed:
        try:
            dataset = _OfflineTUDataset(folder, name, processed, node_attributes)
        except (ValueError, RuntimeError, IndexError) as exc:  # a non-number ('nan', text), or an id out of range
            raise DataError(
                f"cannot read TU dataset {name} in {folder} ({type(exc).__name__}: {exc}); its label and index "
                f"files must hold integers only, node ids from 1 to the number of lines of {name}_graph_indicator.txt"
            ) from exc
        graphs = [dataset[i] for i in range(len(dataset))]
    indicator = (folder / f"{name}_graph_indicator.txt").read_text().split()
    if indicator and len(graphs) != int(indicator[-1]):
        raise DataError(
            f"TU dataset {name} in {folder}: {name}_graph_indicator.txt lists {indicator[-1]} graphs but "
            f"torch-geometric read {len(graphs)}: its reader splits the graphs by their edges and merges graphs at "
            f"the end that have no edge; write these graphs as .npz files instead (data.dataset=npz_folder)"
        )
    for graph in graphs:
        if graph.x is None:
            graph.num_nodes = graph.num_nodes
        graph.edge_attr = None
    return graphs


def load_tu(name: str, root: str | None, degree_features: bool = False) -> GraphList:
    """A TU graph-classification dataset from ``root``: x, edge_index (self-loops added), y [1] per graph.
    GraphMAE's features: one-hot node labels (node attributes are not read), else one-hot degrees."""
    files = [f"{name}_{suffix}.txt" for suffix in TU_FILES]
    folder = _raw_folder(root, name, files, f"the TU Dortmund files {name}_*.txt (chrsmrrs.github.io/datasets)")
    graphs = read_tu(folder, name, node_attributes=False)
    sources = [f"TU dataset {name} in {folder}, graph {i + 1}" for i in range(len(graphs))]
    return prepare_graphs(graphs, sources, f"TU dataset {name} in {folder}", degree_features)
