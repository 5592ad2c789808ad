"""Sparse node features and their product with a dense weight, without paying for the zeros.

Planetoid's bag-of-words features are about 1% non-zero: Cora's [2708, 1433] matrix has 49k entries.
``sparse_matmul`` multiplies the sparse rows by a dense weight with ``torch.sparse.mm`` in the forward
pass and, in the backward pass, multiplies the transposed sparse matrix (whose entry order is
precomputed once) by the incoming gradient: both products cost O(nnz * D) instead of O(N * F * D).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class SparseRows:
    """A sparse feature matrix [N, F] in coalesced COO form, with its transpose's entry order.

    Attributes:
        indices: [2, nnz] (row, column) of every non-zero, sorted by row then column.
        values: [nnz] the non-zero values.
        shape: (N, F).
        transpose_order: [nnz] positions sorting the entries by (column, row): the coalesced transpose
            has indices ``indices.flip(0)[:, transpose_order]`` and values ``values[transpose_order]``.
    """

    indices: Tensor
    values: Tensor
    shape: tuple[int, int]
    transpose_order: Tensor

    @classmethod
    def from_dense(cls, x: Tensor) -> SparseRows:
        """The non-zeros of a dense [N, F] matrix."""
        coo = x.to_sparse_coo().coalesce()
        indices = coo.indices()
        order = torch.argsort(indices[1] * x.shape[0] + indices[0])  # by (column, row)
        return cls(indices, coo.values(), (x.shape[0], x.shape[1]), order)

    def to(self, device: torch.device) -> SparseRows:
        return SparseRows(self.indices.to(device), self.values.to(device), self.shape, self.transpose_order.to(device))

    def to_dense(self) -> Tensor:
        """The dense [N, F] matrix."""
        return torch.sparse_coo_tensor(self.indices, self.values, self.shape, check_invariants=False).to_dense()

    @property
    def density(self) -> float:
        """Fraction of non-zero entries."""
        return self.values.numel() / max(1, self.shape[0] * self.shape[1])


class _SparseMatmul(torch.autograd.Function):
    """x [N, F] (sparse, constant) @ weight [F, D] -> [N, D]; the gradient flows to ``weight`` only."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, rows: SparseRows, values: Tensor, weight: Tensor
    ) -> Tensor:
        ctx.rows = rows
        ctx.save_for_backward(values)
        x = torch.sparse_coo_tensor(rows.indices, values, rows.shape, check_invariants=False, is_coalesced=True)
        return torch.sparse.mm(x, weight)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad: Tensor
    ) -> tuple[None, None, Tensor]:
        (values,) = ctx.saved_tensors
        rows: SparseRows = ctx.rows
        order = rows.transpose_order
        xt = torch.sparse_coo_tensor(
            rows.indices.flip(0)[:, order], values[order], (rows.shape[1], rows.shape[0]),
            check_invariants=False, is_coalesced=True,
        )
        return None, None, torch.sparse.mm(xt, grad.contiguous())


def sparse_matmul(rows: SparseRows, weight: Tensor, values: Tensor | None = None) -> Tensor:
    """rows [N, F] @ weight [F, D] -> dense [N, D], differentiable in ``weight``.

    ``values`` [nnz] replaces the non-zero values (e.g. after dropout); default ``rows.values``.
    """
    return _SparseMatmul.apply(rows, rows.values if values is None else values, weight)
