"""The first layer's linear map of GraphMAE's corrupted input, without paying for the zeros of sparse data."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskssl_graph.corruption import Corruption, corrupt_dense
from maskssl_graph.ops.sparse import SparseRows, sparse_matmul


class MaskedInputProjection(nn.Module):
    """Corrupt the hidden nodes' inputs (mask token / other nodes' features), drop out, project to D.

    Args:
        in_dim: F, input features per node.
        out_dim: D, the projected width.
        dropout: GraphMAE's input dropout ("in_drop") on the features before the projection.

    Parameters: ``weight`` [F, D] (Xavier-normal, ReLU gain, as GraphMAE's GAT) and the learnable
    ``mask_token`` [F] (zero-initialised, as GraphMAE's ``enc_mask_token``).

    Dense features [N, F] follow GraphMAE exactly: corrupt, dropout, project (O(N F D)).
    ``SparseRows`` features are projected once through their non-zeros (O(nnz D)) and the corruption is
    applied to the projected rows, which is the same map because a row copy commutes with the
    projection: noise rows take their source's projected row and token rows ``mask_token @ weight``.
    Two documented differences on this path: dropout acts on the data's non-zeros before noise rows
    copy them (a noise node shares its source's dropout pattern), and the mask token is not dropped out
    (dropping it per row would cost a dense [M, F] x [F, D] product).
    """

    def __init__(self, in_dim: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        self.mask_token = nn.Parameter(torch.zeros(in_dim))
        self.dropout = dropout
        nn.init.xavier_normal_(self.weight, gain=nn.init.calculate_gain("relu"))

    def forward(self, x: Tensor | SparseRows, corruption: Corruption | None = None) -> Tensor:
        """x: [N, F] dense or sparse; corruption: the hidden nodes' split, None for a clean pass. Returns [N, D]."""
        if isinstance(x, Tensor):
            if corruption is not None:
                x = corrupt_dense(x, self.mask_token, corruption)
            return F.dropout(x, self.dropout, self.training) @ self.weight
        projected = sparse_matmul(x, self.weight, F.dropout(x.values, self.dropout, self.training))  # [N, D]
        if corruption is None:
            return projected
        return corrupt_dense(projected, self.mask_token @ self.weight, corruption)
