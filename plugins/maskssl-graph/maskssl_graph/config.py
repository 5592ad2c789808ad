"""The graph modality's config sections: ``data`` (``GraphDataConfig``) and ``model`` (``GraphModelConfig``)."""

from __future__ import annotations

from dataclasses import dataclass

from maskssl_graph.pooling import Pooling


@dataclass
class GraphDataConfig:
    """The ``data`` section.

    Attributes:
        dataset: "synthetic" (no files), a Planetoid graph ("Cora", "CiteSeer", "PubMed"; node
            classification), any TU dataset name ("MUTAG", "PROTEINS", ...; graph classification), a
            user's files ("npz": one graph, node classification; "npz_folder", "tu_folder": graph
            classification) or a name given to ``register_graph`` (see ``sources``).
        root: folder holding <dataset>/raw/ in torch-geometric's layout; for "npz" the .npz file, for
            "npz_folder" / "tu_folder" the folder of the files (not used by synthetic and registered graphs).
        degree_features: TU datasets and a user's graphs: one-hot degrees even when the graphs have node
            labels or features (GraphMAE's deg4feat); graphs without them always get them.
        seed: seed of the synthetic graph, of the cross-validation folds of graph tasks and of the drawn
            node split of a user's graph without masks.
        folds, fold: fine-tuning on graph tasks holds out fold ``fold`` (0-based) of a stratified
            ``folds``-fold split (seeded by ``seed``) as the test split; node tasks use the public split.
        test_fraction, val_fraction: a user's node graph without train_mask / test_mask holds out this share
            of each class for "test", and without val_mask this share of each class of the rest for "val".
    """

    dataset: str = "synthetic"
    root: str | None = None
    degree_features: bool = False
    seed: int = 0
    folds: int = 10
    fold: int = 0
    test_fraction: float = 0.2
    val_fraction: float = 0.1


@dataclass
class GraphModelConfig:
    """The ``model`` section.

    Attributes:
        alpha: exponent of the scaled cosine error, (1 - cos)^alpha (GraphMAE's alpha_l).
        pooling: readout of the encoder's node states into one feature per graph (graph tasks): sum,
            mean or max. It is ``Encoded.pooled`` and the evaluation feature.
        pooled_nodes: node tasks: nodes per batch whose states form ``Encoded.pooled`` [S, D] for
            sample-level regularizers (uniformity) and the online probe.
    """

    alpha: float = 2.0
    pooling: Pooling = "mean"
    pooled_nodes: int = 256
