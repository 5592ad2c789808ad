"""Reading a user's graph files: one .npz graph, a folder of .npz graphs, or TU text files in any folder.

    data.dataset=npz         data.root=graph.npz   x [N, F], edge_index [2, E], optional y [N], train_mask /
                                                   val_mask / test_mask [N] (bool), num_nodes (when no x)
    data.dataset=npz_folder  data.root=graphs/     one graph per file (the same arrays, y a scalar), or
                                                   graphs/<class>/*.npz: the label is the class folder's index
                                                   among the sorted class folders (as torchvision's ImageFolder)
    data.dataset=tu_folder   data.root=folder/     NAME_A.txt, NAME_graph_indicator.txt, optional
                                                   NAME_graph_labels.txt, NAME_node_labels.txt, NAME_node_attributes.txt

These functions only read; ``graph_checks`` validates and ``preparation`` prepares what they return.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from maskssl.errors import DataError
from maskssl_graph.data.checks import MASKS
from maskssl_graph.data.preparation import note

ARRAYS = ("x", "edge_index", "y", "num_nodes", *MASKS)
"""The arrays of a .npz graph that are read; others are ignored (``graph_checks`` says which are required)."""


def npz_file(root: str | None) -> Path:
    """The .npz file ``data.root`` names for ``data.dataset=npz``."""
    if root is None:
        raise DataError("data.dataset=npz reads one .npz file: set data.root to its path (data.root=/path/graph.npz)")
    path = Path(root).expanduser()
    if path.is_dir():
        raise DataError(
            f"data.dataset=npz reads one .npz file but data.root={root} is a folder; point data.root at the file, or "
            f"use data.dataset=npz_folder for a folder of graphs (graph classification)"
        )
    if not path.is_file():
        raise DataError(f"data.dataset=npz: {path} does not exist; set data.root to your .npz file")
    return path


def read_npz(path: Path) -> Data:
    """The arrays of one .npz file as a Data (integers as int64, booleans and floats as they are), unchecked."""
    fix = "write it with numpy.savez(path, x=..., edge_index=..., y=...)"
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds one array, not named arrays; {fix}")
        with archive:
            arrays = {key: archive[key] for key in archive.files if key in ARRAYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path} as a .npz file ({type(exc).__name__}: {exc}); {fix}") from exc
    fields = {}
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise DataError(f"{path}: array {key} holds {array.dtype}, not numbers")
        if array.dtype.kind in "iu":
            array = array.astype(np.int64)
        fields[key] = torch.from_numpy(np.ascontiguousarray(array))
    if "num_nodes" in fields:
        count = fields.pop("num_nodes")
        if count.numel() != 1 or count.is_floating_point() or count.dtype == torch.bool:
            raise DataError(f"{path}: num_nodes must be one integer, the number of nodes")
        fields["num_nodes"] = int(count)
    return Data(**fields)


def read_npz_folder(root: str | None) -> tuple[list[Data], list[str]]:
    """(graphs, their files) of ``data.dataset=npz_folder``: *.npz in data.root, or in its class sub-folders."""
    folder = _folder(root, "npz_folder", "the .npz files, one graph each (or class sub-folders of them)")
    files = sorted(folder.glob("*.npz"))
    classes = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.npz")))
    if files and classes:
        raise DataError(
            f"{folder} holds .npz files and class sub-folders ({', '.join(d.name for d in classes[:3])}); put "
            f"every graph in a class folder, or every graph directly in {folder} with its label y"
        )
    if not files and not classes:
        raise DataError(f"no .npz files in {folder} or in its sub-folders; write one graph per file (numpy.savez)")
    if files:
        return [read_npz(path) for path in files], [str(path) for path in files]
    graphs, sources = [], []
    for label, class_folder in enumerate(classes):
        for path in sorted(class_folder.glob("*.npz")):
            graph = read_npz(path)
            if graph.y is not None:
                raise DataError(
                    f"{path} holds y, but its class is its folder {class_folder.name}: remove y, or put the "
                    f"files directly in {folder}"
                )
            graph.y = torch.tensor(label)
            graphs.append(graph)
            sources.append(str(path))
    shown = ", ".join(f"{d.name}={i}" for i, d in enumerate(classes[:10])) + (", ..." if len(classes) > 10 else "")
    note(f"{folder}: {len(graphs)} graphs in {len(classes)} class folders, labelled {shown}")
    return graphs, sources


def tu_files(root: str | None) -> tuple[Path, str]:
    """(folder, NAME) of the TU text files of ``data.dataset=tu_folder``: the one NAME_A.txt in data.root."""
    what = "the TU files NAME_A.txt, NAME_graph_indicator.txt and NAME_graph_labels.txt"
    folder = _folder(root, "tu_folder", what)
    found = sorted(folder.glob("*_A.txt"))
    if not found:
        raise DataError(
            f"data.dataset=tu_folder: no NAME_A.txt in {folder}; put {what} (and optionally NAME_node_labels.txt, "
            f"NAME_node_attributes.txt) directly in data.root"
        )
    if len(found) > 1:
        raise DataError(
            f"{folder} holds several TU data sets ({', '.join(f.name for f in found)}); keep one per folder"
        )
    name = found[0].name[: -len("_A.txt")]
    if not (folder / f"{name}_graph_indicator.txt").is_file():
        raise DataError(f"{folder} has {found[0].name} but no {name}_graph_indicator.txt (the graph of each node)")
    return folder, name


def _folder(root: str | None, dataset: str, what: str) -> Path:
    if root is None:
        raise DataError(f"data.dataset={dataset} reads data.root: set it to the folder that holds {what}")
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(f"data.dataset={dataset}: data.root={root} is not a folder; it must hold {what}")
    return folder
