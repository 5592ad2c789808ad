"""GraphMAE's input corruption of the hidden nodes: a learnable mask token, or another node's features.

Of the M hidden nodes (the masker's choice), ``int(replace_rate * M)`` take the input features of
random other nodes ("noise" nodes, drawn without replacement from all N nodes, as GraphMAE's
``randperm(N)[:num_noise]``), and the rest take the mask token ("token" nodes). GraphMAE gives
``int((1 - replace_rate) * M)`` nodes the token, which can leave one or two hidden nodes with their own
features through rounding; here every hidden node is corrupted.

The split is drawn from torch's global generator, which the training loop seeds from (seed, step, rank)
for dropout: it is reproducible and resumes exactly, like the masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from maskssl.errors import ConfigError


@dataclass
class Corruption:
    """Which hidden nodes get the mask token, which get another node's features, and whose.

    Attributes:
        token: [M_t] indices of the nodes whose input becomes the mask token.
        noise: [M_n] indices of the nodes whose input becomes another node's features.
        source: [M_n] the node each noise node copies (its uncorrupted features).
    """

    token: Tensor
    noise: Tensor
    source: Tensor


def sample_corruption(mask: Tensor, replace_rate: float) -> Corruption:
    """Split the hidden nodes of ``mask`` [N] (bool, True = hidden) into token and noise nodes."""
    if not 0.0 <= replace_rate < 1.0:
        raise ConfigError(f"replace_rate must be in [0, 1), got {replace_rate}")
    hidden = mask.nonzero().flatten()  # [M]
    hidden = hidden[torch.randperm(hidden.numel(), device=mask.device)]
    num_noise = int(replace_rate * hidden.numel())
    source = torch.randperm(mask.numel(), device=mask.device)[:num_noise]
    return Corruption(token=hidden[num_noise:], noise=hidden[:num_noise], source=source)


class _CorruptRows(torch.autograd.Function):
    """out = x [N, K] with out[noise] = x[source] and out[token rows] = token [K]; the backward pass is one
    copy of the gradient (autograd's of index_copy / index_put zero-fills and adds several [N, K] tensors)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, token: Tensor, corruption: Corruption) -> Tensor:
        ctx.corruption, ctx.token_dtype = corruption, token.dtype
        out = x.index_copy(0, corruption.noise, x.index_select(0, corruption.source))
        return out.index_put_((corruption.token,), token.to(x.dtype).expand(corruption.token.numel(), -1))

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        corruption: Corruption = ctx.corruption
        grad_x = grad_token = None
        if ctx.needs_input_grad[0]:  # replaced rows pass nothing; each source receives its copies' gradient
            grad_x = grad.index_fill(0, torch.cat([corruption.noise, corruption.token]), 0.0)
            grad_x.index_add_(0, corruption.source, grad.index_select(0, corruption.noise))
        if ctx.needs_input_grad[1]:
            grad_token = grad.index_select(0, corruption.token).sum(0).to(ctx.token_dtype)
        return grad_x, grad_token, None


def corrupt_dense(x: Tensor, mask_token: Tensor, corruption: Corruption) -> Tensor:
    """GraphMAE's corruption of dense rows x [N, K] (out of place): noise rows take their source's row, token
    rows the mask token [K]. Differentiable in x and in the token."""
    return _CorruptRows.apply(x, mask_token, corruption)
