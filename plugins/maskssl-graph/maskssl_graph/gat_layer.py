"""The encoder's multi-head GAT layer: torch-geometric's ``GATConv`` with its message passing as sparse products."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from maskssl_graph.layers import init_like_graphmae
from maskssl_graph.ops.attention import EdgeLayout, attend


class GATLayer(nn.Module):
    """``GATConv(in_dim, head_dim, heads)`` (heads concatenated) on a graph whose edges include one self-loop
    per node: the same parameters, the same output up to float rounding (tested), computed by ``attend``.

    Args:
        in_dim: D_in, input width.
        heads: H, attention heads.
        head_dim: C, width of each head; the output is [N, H * C].
        attn_drop: dropout on the attention coefficients.
        negative_slope: LeakyReLU slope of the attention scores.
        residual: add a bias-free linear map of the input (GATConv's ``res``).
        project: False for a layer without its own linear map (``lin`` is the identity): its input arrives
            projected, [N, H * C].

    Parameters, named and shaped as GATConv's (a checkpoint of either loads into the other):
    ``lin.weight`` [H * C, D_in], ``att_src`` and ``att_dst`` [1, H, C], ``bias`` [H * C], ``res.weight``
    [H * C, D_in]; initialised as GraphMAE's (``init_like_graphmae``), the bias 0.
    """

    def __init__(
        self, in_dim: int, heads: int, head_dim: int, attn_drop: float = 0.0, negative_slope: float = 0.2,
        residual: bool = False, project: bool = True,
    ) -> None:
        super().__init__()
        if not project and in_dim != heads * head_dim:
            raise ValueError(f"a layer without projection needs in_dim = heads x head_dim, got {in_dim}")
        self.heads, self.head_dim = heads, head_dim
        self.attn_drop, self.negative_slope = attn_drop, negative_slope
        self.lin = nn.Linear(in_dim, heads * head_dim, bias=False) if project else nn.Identity()
        self.att_src = nn.Parameter(torch.empty(1, heads, head_dim))
        self.att_dst = nn.Parameter(torch.empty(1, heads, head_dim))
        self.bias = nn.Parameter(torch.zeros(heads * head_dim))
        self.res = nn.Linear(in_dim, heads * head_dim, bias=False) if residual else None
        init_like_graphmae(self)

    def forward(self, h: Tensor, layout: EdgeLayout) -> Tensor:
        """h [N, D_in]; ``layout`` of the graph's edges for H heads. Returns [N, H * C]."""
        x = self.lin(h)  # [N, H * C]
        # both scores of every head in one product: [N, H * C] @ [H * C, 2H], block-diagonal in the heads
        att = torch.cat([torch.block_diag(*self.att_src[0]), torch.block_diag(*self.att_dst[0])])  # [2H, H * C]
        scores = x @ att.T  # [N, 2H]: att_src . x_h, then att_dst . x_h
        heads, shape = self.heads, (-1, self.heads, self.head_dim)
        out = attend(x.view(shape), scores[:, :heads], scores[:, heads:], layout, self.negative_slope,
                     self.attn_drop, self.training)  # [N, H, C]
        # in place: the attention sum is a fresh tensor that its backward pass does not read
        if self.res is not None:
            out.add_(self.res(h).view(shape))
        return out.add_(self.bias.view(shape[1:])).view(x.shape)
