"""One feature row per sample for sample-level regularizers: a graph readout or a sample of nodes."""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor
from torch_geometric.nn import global_add_pool, global_max_pool, global_mean_pool

from maskssl.errors import ConfigError

Pooling = Literal["sum", "mean", "max"]
READOUTS = {"sum": global_add_pool, "mean": global_mean_pool, "max": global_max_pool}


def pool_samples(h: Tensor, context: dict[str, Any], pooling: Pooling) -> Tensor:
    """Node states h [N, D] -> [S, D]: the rows ``context["sample"]`` [S] when the batch is one graph of
    labelled nodes, else the ``pooling`` readout of each graph of ``context["batch"]`` [N] (S = graphs)."""
    if "sample" in context:
        return h[context["sample"]]
    if pooling not in READOUTS:
        raise ConfigError(f"unknown pooling '{pooling}'; choose one of {', '.join(READOUTS)}")
    return READOUTS[pooling](h, context["batch"], size=context["num_graphs"])
