"""GraphMAE's scaled cosine error, with its gradient in closed form, sparse targets read as they are, and a
variant for a prediction given as a linear map of D-wide states that never forms the F-wide prediction.

For rows p_i (prediction) and t_i (target), cos_i = p_i . t_i / (max(|p_i|, EPS) max(|t_i|, EPS)): GraphMAE's
``F.normalize`` of both rows, then their dot product. The loss is mean_i clamp(1 - cos_i, 0) ** alpha and
its gradient, autograd's of that formula with the clamps' gradients included, is grad p_i = a_i t_i + c_i p_i
(``_Cosines.coefficients``): one pass over p instead of autograd's chain of [M, F] temporaries. Targets are
constants: no gradient flows to them.

When p_i = W s_i + b (a decoder's last linear map W [F, D], bias b [F], on states s_i [D]; Cora: D = 512,
F = 1433), everything the loss needs is D-wide:

    p_i . t_i = s_i . (T W)_i + (T b)_i                   T: the targets [M, F], sparse for bag-of-words data
    |p_i|^2   = s_i . (G s_i) + 2 s_i . (W^T b) + |b|^2    G = W^T W [D, D]
    grad s_i  = a_i (T W)_i + c_i (G s_i + W^T b)
    grad W    = T^T (a s) + W (S^T (c s)) + b (c^T S)
    grad b    = T^T a + W (S^T c) + b sum(c)

which costs about half the multiply-adds of forming p = S W^T + b and its two backward products, and no [M, F]
tensor (tested equal to the loss of the formed prediction).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from maskssl_graph.ops.sparse import SparseRows, csr_matrix, csr_product

EPS = 1e-12
"""``F.normalize``'s: a row's norm counts as at least EPS."""

Target = Tensor | SparseRows


def _target_norms(target: Target) -> Tensor:
    """|t_i| [M] of the target rows."""
    if isinstance(target, Tensor):
        return torch.linalg.vector_norm(target.float(), dim=-1)
    squares = target.values.float().square()
    return squares.new_zeros(target.shape[0]).index_add_(0, target.indices[0], squares).sqrt()


def _times(target: Target, dense: Tensor, transpose: bool = False) -> Tensor:
    """T @ dense ([M, F] @ [F, K] -> [M, K]) or, with ``transpose``, T^T @ dense ([F, M] @ [M, K] -> [F, K])."""
    if isinstance(target, Tensor):
        return (target.float().T if transpose else target.float()) @ dense
    crow, col, t_crow, t_col = target.csr
    values = target.values.float()
    if transpose:
        matrix = csr_matrix(t_crow, t_col, values.index_select(0, target.transpose_order), target.shape[::-1])
    else:
        matrix = csr_matrix(crow, col, values, target.shape)
    return csr_product(matrix, dense.contiguous())


class _Cosines:
    """The per-row terms of the loss, from p_i . t_i, |p_i| and |t_i| (all [M])."""

    def __init__(self, dot: Tensor, p_norm: Tensor, t_norm: Tensor) -> None:
        self.dot, self.p_norm = dot, p_norm
        self.denominator = p_norm.clamp_min(EPS) * t_norm.clamp_min(EPS)
        self.error = 1.0 - dot / self.denominator  # [M], may dip below 0 by rounding

    def loss(self, alpha: float) -> Tensor:
        return self.error.clamp_min(0.0).pow(alpha).mean()

    def coefficients(self, grad: Tensor, alpha: float) -> tuple[Tensor, Tensor]:
        """(a, c) [M] with grad p_i = a_i t_i + c_i p_i, for the incoming gradient ``grad`` of the loss."""
        error = self.error
        d_error = grad * alpha * error.clamp_min(0.0).pow(alpha - 1) / error.numel()
        d_cos = -torch.where(error >= 0, d_error, torch.zeros_like(d_error))  # clamp_min's gradient
        a = d_cos / self.denominator
        # d|p_i| / dp_i = p_i / |p_i|, and max(|p_i|, EPS) passes no gradient below EPS
        c = -d_cos * self.dot / (self.denominator * self.p_norm.clamp_min(EPS) ** 2)
        return a, torch.where(self.p_norm >= EPS, c, torch.zeros_like(c))


class _ScaledCosineError(torch.autograd.Function):
    """The loss of a prediction p [M, F] (differentiable) and constant targets [M, F]."""

    @staticmethod
    def forward(ctx: Any, p: Tensor, target: Target, alpha: float) -> Tensor:
        with torch.autocast(p.device.type, enabled=False):  # float32 throughout
            if isinstance(target, Tensor):
                dot = torch.linalg.vecdot(p, target.float())
            else:  # p_i . t_i over the non-zeros only
                row, col = target.indices
                gathered = p.reshape(-1).index_select(0, row * target.shape[1] + col) * target.values.float()
                dot = p.new_zeros(p.shape[0]).index_add_(0, row, gathered)
            ctx.cosines = _Cosines(dot, torch.linalg.vector_norm(p, dim=-1), _target_norms(target))
        ctx.save_for_backward(p)
        ctx.target, ctx.alpha = target, alpha
        return ctx.cosines.loss(alpha)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        (p,) = ctx.saved_tensors
        target = ctx.target
        a, c = ctx.cosines.coefficients(grad, ctx.alpha)
        grad_p = p * c[:, None]
        if isinstance(target, Tensor):
            grad_p.addcmul_(a[:, None], target.float())
        else:
            row, col = target.indices
            flat = row * target.shape[1] + col
            grad_p.view(-1).index_add_(0, flat, a.index_select(0, row) * target.values.float())
        return grad_p, None, None


class _ProjectedScaledCosineError(torch.autograd.Function):
    """The loss of the prediction p = states [M, D] @ weight [F, D]^T + bias [F], without forming it."""

    @staticmethod
    def forward(ctx: Any, states: Tensor, weight: Tensor, bias: Tensor, target: Target, alpha: float) -> Tensor:
        with torch.autocast(states.device.type, enabled=False):  # float32 throughout
            gram = weight.T @ weight  # [D, D]
            weight_bias = weight.T @ bias  # [D] = W^T b
            projected = states @ gram  # [M, D]: G s_i
            p_squared = torch.linalg.vecdot(states, projected + 2.0 * weight_bias) + bias.dot(bias)
            target_weight = _times(target, weight)  # [M, D]: W^T t_i
            dot = torch.linalg.vecdot(states, target_weight) + _times(target, bias[:, None])[:, 0]
            ctx.cosines = _Cosines(dot, p_squared.clamp_min(0.0).sqrt(), _target_norms(target))
        ctx.save_for_backward(states, weight, bias, projected, weight_bias, target_weight)
        ctx.target, ctx.alpha = target, alpha
        return ctx.cosines.loss(alpha)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor, Tensor, None, None]:
        states, weight, bias, projected, weight_bias, target_weight = ctx.saved_tensors
        target = ctx.target
        a, c = ctx.cosines.coefficients(grad, ctx.alpha)
        grad_states = a[:, None] * target_weight + c[:, None] * (projected + weight_bias)
        c_states = c[:, None] * states  # [M, D]
        c_sum = c_states.sum(0)  # [D] = S^T c
        grad_weight = _times(target, a[:, None] * states, transpose=True)  # [F, D] = T^T (a s)
        grad_weight.addmm_(weight, states.T @ c_states).addr_(bias, c_sum)
        grad_bias = _times(target, a[:, None], transpose=True)[:, 0] + weight @ c_sum + bias * c.sum()
        return grad_states, grad_weight, grad_bias, None, None


def _check(prediction_shape: tuple[int, ...], target: Target) -> None:
    if tuple(prediction_shape) != tuple(target.shape) or len(prediction_shape) != 2:
        raise ValueError(f"prediction and target must both be [M, F], got {tuple(prediction_shape)} and "
                         f"{tuple(target.shape)}")
    if isinstance(target, Tensor) and target.requires_grad:
        raise ValueError("the target of the scaled cosine error is data: it must not require a gradient (detach it)")


def scaled_cosine_error(prediction: Tensor, target: Target, alpha: float = 2.0) -> Tensor:
    """Mean over rows of (1 - cos(prediction_i, target_i)) ** alpha, for prediction [M, F] and target
    [M, F], dense or ``SparseRows`` (a constant: no gradient flows to it).

    alpha >= 1 down-weights rows that are already close (GraphMAE's SCE); alpha = 1 is the cosine error.
    Identical rows give 0, orthogonal rows 1 for any alpha. Computed in float32 at least; 1 - cos is
    clamped at 0 so that rounding never raises a negative number to a fractional power.
    """
    _check(tuple(prediction.shape), target)
    return _ScaledCosineError.apply(prediction.float(), target, alpha)


def projected_scaled_cosine_error(
    states: Tensor, weight: Tensor, bias: Tensor, target: Target, alpha: float = 2.0
) -> Tensor:
    """``scaled_cosine_error(F.linear(states, weight, bias), target, alpha)`` for states [M, D], weight [F, D]
    and bias [F], computed from D-wide quantities only (module docstring); differentiable in all three."""
    _check((states.shape[0], weight.shape[0]), target)
    return _ProjectedScaledCosineError.apply(states.float(), weight.float(), bias.float(), target, alpha)
