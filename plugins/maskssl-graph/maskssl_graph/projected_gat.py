"""A single-head GAT layer that applies its linear map after the attention-weighted sum.

GraphMAE's decoder is one single-head GAT layer from D = 512 to F = 1433 (Cora) features. As
torch-geometric's GATConv computes it, every node's D -> F projection W h_j is formed and then F-wide
messages are gathered, weighted and summed over every edge. The sum is linear, so

    out_i = sum_j a_ij W h_j + b = W (sum_j a_ij h_j) + b,   a_ij = softmax_j(LeakyReLU(s . W h_j + t . W h_i))

and s . W h = (W^T s) . h: the attention scores and the sum need only D-wide vectors, and W is applied
to the rows that are read. The parameters (W, s, t, b) and their initialisation are GraphMAE's, so the
layer computes exactly ``GATConv(D, F, heads=1)`` (tested), at well under half the cost.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.utils import scatter, softmax


class ProjectedGATLayer(nn.Module):
    """One attention head from ``in_dim`` to ``out_dim`` features, W applied after aggregation.

    Args:
        in_dim: D, input width.
        out_dim: F, output width.
        attn_drop: dropout on the attention coefficients.
        negative_slope: LeakyReLU slope of the attention scores.

    Parameters as GraphMAE's GATConv: ``lin`` (W [F, D], no bias; Xavier-normal, ReLU gain), ``att_src``
    and ``att_dst`` [1, 1, F] (the same), ``bias`` [F] (zeros).
    """

    def __init__(self, in_dim: int, out_dim: int, attn_drop: float = 0.0, negative_slope: float = 0.2) -> None:
        super().__init__()
        self.attn_drop = attn_drop
        self.negative_slope = negative_slope
        self.lin = nn.Linear(in_dim, out_dim, bias=False)
        self.att_src = nn.Parameter(torch.empty(1, 1, out_dim))
        self.att_dst = nn.Parameter(torch.empty(1, 1, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        gain = nn.init.calculate_gain("relu")
        for weight in (self.lin.weight, self.att_src, self.att_dst):
            nn.init.xavier_normal_(weight, gain=gain)

    def forward(self, h: Tensor, edge_index: Tensor, rows: Tensor | None = None) -> Tensor:
        """h [N, D]; edge_index [2, E] (source, target), self-loops included; rows [M] of the output
        to compute (None: all N). Returns [M, F]; a node without incoming edges gets the bias."""
        weight = self.lin.weight  # [F, D]
        score_src = h @ (self.att_src.view(-1) @ weight)  # [N] = att_src . W h_j
        score_dst = h @ (self.att_dst.view(-1) @ weight)  # [N]
        src, dst = edge_index
        logits = F.leaky_relu(score_src[src] + score_dst[dst], self.negative_slope)  # [E]
        alpha = softmax(logits, dst, num_nodes=h.shape[0])
        alpha = F.dropout(alpha, self.attn_drop, self.training)
        summed = scatter(h[src] * alpha.unsqueeze(-1), dst, dim=0, dim_size=h.shape[0], reduce="sum")  # [N, D]
        if rows is not None:
            summed = summed[rows]
        return self.lin(summed) + self.bias
