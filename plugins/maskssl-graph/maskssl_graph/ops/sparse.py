"""Sparse node features and sparse-matrix products, without paying for the zeros.

Planetoid's bag-of-words features are about 1% non-zero: Cora's [2708, 1433] matrix has 49k entries.
``sparse_matmul`` multiplies the sparse rows by a dense weight as a CSR matrix in the forward pass and,
in the backward pass, multiplies the transposed CSR matrix (whose entry order is precomputed once) by
the incoming gradient: both products cost O(nnz * D) instead of O(N * F * D). ``csr_product`` is the one
CSR x dense product of this package (here and in the GAT attention, ``attention``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from torch import Tensor


def index_dtype(largest: int) -> torch.dtype:
    """int32 for CSR indices that all stay below ``largest`` < 2**31 (the kernels convert int64 ones on every
    product), else int64."""
    return torch.int32 if largest < 2**31 else torch.long


def pointers(sorted_rows: Tensor, num_rows: int) -> Tensor:
    """CSR row pointers [num_rows + 1] of the row of every entry [nnz] (non-decreasing)."""
    counts = torch.bincount(sorted_rows, minlength=num_rows)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def positions(rows: Tensor, size: int) -> Tensor:
    """[size]: where each of 0 .. size - 1 sits in ``rows`` [M] (distinct), -1 for those not in it."""
    out = torch.full((size,), -1, dtype=torch.long, device=rows.device)
    return out.index_copy_(0, rows, torch.arange(rows.numel(), device=rows.device))


def csr_matrix(crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int]) -> Tensor:
    """The CSR matrix ``shape`` of row pointers crow [R + 1], columns col [nnz] and values [nnz], unchecked."""
    with warnings.catch_warnings():  # torch's once-per-process note that CSR support is "beta"
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
        return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)


def csr_product(matrix: Tensor, dense: Tensor, out: Tensor | None = None) -> Tensor:
    """CSR [R, K] @ dense [K, C] -> [R, C] in the matrix's dtype (the dense operand is cast to it; autocast
    is off: the sparse kernels take no reduced precision), written straight into ``out`` (default: a new
    tensor; ``A @ B`` zero-fills its output on the CPU and copies it once more)."""
    dense = dense.to(matrix.dtype)
    out = dense.new_empty(matrix.shape[0], dense.shape[1]) if out is None else out
    with torch.autocast(dense.device.type, enabled=False):
        return torch.addmm(out, matrix, dense, beta=0.0, out=out)


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
        coo = x.to_sparse_coo().coalesce()  # (cloned: views of a sparse tensor trip up torch.compile)
        return cls.from_indices(coo.indices().clone(), coo.values().clone(), (x.shape[0], x.shape[1]))

    @classmethod
    def from_indices(cls, indices: Tensor, values: Tensor, shape: tuple[int, int]) -> SparseRows:
        """From indices [2, nnz] sorted by (row, column) and their values [nnz]."""
        order = torch.argsort(indices[1] * shape[0] + indices[0])  # by (column, row)
        return cls(indices, values, shape, order)

    def to(self, device: torch.device) -> SparseRows:
        return SparseRows(self.indices.to(device), self.values.to(device), self.shape, self.transpose_order.to(device))

    def to_dense(self) -> Tensor:
        """The dense [N, F] matrix."""
        return torch.sparse_coo_tensor(self.indices, self.values, self.shape, check_invariants=False).to_dense()

    def select_rows(self, rows: Tensor) -> SparseRows:
        """The sparse [M, F] matrix of the rows ``rows`` [M] (ascending, distinct)."""
        row = positions(rows, self.shape[0]).index_select(0, self.indices[0])
        kept = (row >= 0).nonzero().flatten()
        indices = torch.stack([row.index_select(0, kept), self.indices[1].index_select(0, kept)])
        return SparseRows.from_indices(indices, self.values.index_select(0, kept), (rows.numel(), self.shape[1]))

    @property
    def density(self) -> float:
        """Fraction of non-zero entries."""
        return self.values.numel() / max(1, self.shape[0] * self.shape[1])

    @cached_property
    def csr(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(row pointers [N + 1], columns [nnz]) of the CSR matrix and (pointers [F + 1], columns [nnz]) of its
        transpose, whose values are ``values[transpose_order]``."""
        dtype = index_dtype(max(self.values.numel(), *self.shape))
        row, col = self.indices
        return (
            pointers(row, self.shape[0]).to(dtype), col.to(dtype),
            pointers(col.index_select(0, self.transpose_order), self.shape[1]).to(dtype),
            row.index_select(0, self.transpose_order).to(dtype),
        )


class _SparseMatmul(torch.autograd.Function):
    """x [N, F] (sparse, constant) @ weight [F, D] -> [N, D]; the gradient flows to ``weight`` only."""

    @staticmethod
    def forward(ctx: Any, rows: SparseRows, values: Tensor, weight: Tensor) -> Tensor:
        ctx.rows = rows
        ctx.save_for_backward(values)
        crow, col, _, _ = rows.csr
        return csr_product(csr_matrix(crow, col, values, rows.shape), weight)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, Tensor]:
        (values,) = ctx.saved_tensors
        rows: SparseRows = ctx.rows
        _, _, crow, col = rows.csr
        transpose = csr_matrix(crow, col, values.index_select(0, rows.transpose_order), (rows.shape[1], rows.shape[0]))
        return None, None, csr_product(transpose, grad.contiguous())


def sparse_matmul(rows: SparseRows, weight: Tensor, values: Tensor | None = None) -> Tensor:
    """rows [N, F] @ weight [F, D] -> dense [N, D], differentiable in ``weight``.

    ``values`` [nnz] replaces the non-zero values (e.g. after dropout); default ``rows.values``.
    """
    return _SparseMatmul.apply(rows, rows.values if values is None else values, weight)
