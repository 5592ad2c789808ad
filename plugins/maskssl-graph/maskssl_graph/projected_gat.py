"""A single-head GAT layer that applies its linear map after the attention-weighted sum.

GraphMAE's decoder is one single-head GAT layer from D = 512 to F = 1433 (Cora) features. As
torch-geometric's GATConv computes it, every node's D -> F projection W h_j is formed and then F-wide
messages are gathered, weighted and summed over every edge. The sum is linear, so

    out_i = sum_j a_ij W h_j + b = W (sum_j a_ij h_j) + b,   a_ij = softmax_j(LeakyReLU(s . W h_j + t . W h_i))

and s . W h = (W^T s) . h: the attention scores and the sum need only D-wide vectors, and W is applied
to the rows that are read. The parameters (W, s, t, b) and their initialisation are GraphMAE's, so the
layer computes exactly ``GATConv(D, F, heads=1)`` (tested), at well under half the cost. The sums can also
be handed out before W (``project=False``), for a loss that reads the prediction in that form
(``loss.projected_scaled_cosine_error``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskssl_graph.layers import init_like_graphmae
from maskssl_graph.ops.attention import EdgeLayout, attend


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
        init_like_graphmae(self)

    def forward(self, h: Tensor, edge_index: Tensor, rows: Tensor | None = None, project: bool = True) -> Tensor:
        """h [N, D]; edge_index [2, E] (source, target), self-loops included; rows [M] of the output to compute
        (None: all N). Returns [M, F]; a node without incoming edges gets the bias. ``project=False`` returns the
        attention-weighted sums [M, D] sum_j a_ij h_j instead, before W and b."""
        layout = EdgeLayout.from_edge_index(edge_index, h.shape[0], rows=rows)  # the edges into the rows
        att = torch.cat([self.att_src.view(1, -1), self.att_dst.view(1, -1)]) @ self.lin.weight  # [2, D]
        scores = h @ att.T  # [N, 2]: att_src . W h_j, att_dst . W h_j
        score_dst = scores[:, 1:] if rows is None else scores[:, 1:].index_select(0, rows)  # [M, 1]
        summed = attend(h.unsqueeze(1), scores[:, :1], score_dst, layout, self.negative_slope, self.attn_drop,
                        self.training).squeeze(1)  # [M, D]
        return F.linear(summed, self.lin.weight, self.bias) if project else summed
