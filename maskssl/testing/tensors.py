"""Checks on single tensors and on gradients, with messages that say what was expected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from maskssl.testing.errors import fail

Dim = tuple[str, int | None]
"""One dimension of an expected shape: its name in the docs ("B", "L" ...) and its size, None = any."""
Kind = Literal["float", "bool", "integer"]


def format_shape(dims: Sequence[Dim]) -> str:
    """``[("B", 3), ("S", None)]`` -> "[B=3, S]"."""
    return "[" + ", ".join(name if size is None else f"{name}={size}" for name, size in dims) + "]"


def _kind_of(tensor: Tensor) -> Kind | None:
    if tensor.dtype is torch.bool:
        return "bool"
    if tensor.is_floating_point():
        return "float"
    if not tensor.is_complex():
        return "integer"
    return None


def expect_tensor(
    value: Any,
    component: str,
    prop: str,
    what: str,
    dims: Sequence[Dim],
    kind: Kind,
    device: torch.device | None,
    fix: str,
) -> Tensor:
    """Check that ``value`` is a ``kind`` tensor with the shape ``dims`` on ``device``, finite when float.

    Returns the tensor; raises ConformanceError naming ``what`` (e.g. "Encoded.latent") otherwise.
    """
    expected = f"a {kind} tensor {format_shape(dims)}"
    if not isinstance(value, Tensor):
        raise fail(component, prop, f"{what} must be {expected}, got a {type(value).__name__}", fix)
    shape = tuple(value.shape)
    if len(shape) != len(dims) or any(size is not None and size != got for (_, size), got in zip(dims, shape)):
        raise fail(component, prop, f"{what} must be {expected}, got shape {list(shape)}", fix)
    if _kind_of(value) != kind:
        raise fail(component, prop, f"{what} must be {expected}, got dtype {value.dtype}", fix)
    if device is not None and value.device.type != device.type:
        raise fail(
            component, prop, f"{what} is on {value.device}, the input was on {device}",
            "create new tensors on the input's device (device=tokens.device, or torch.zeros_like / new_zeros)",
        )
    if kind == "float" and not bool(torch.isfinite(value.detach()).all()):
        raise fail(component, prop, f"{what} holds NaN or inf values", fix)
    return value


def tolerance(tensor: Tensor) -> tuple[float, float]:
    """(rtol, atol) for two runs that must agree: tight for fp32 on the CPU; loose for CUDA (atomic adds in
    scatter ops reorder sums) and for half precision, still far below what an unseeded dropout changes."""
    if tensor.device.type != "cpu" or tensor.dtype in (torch.float16, torch.bfloat16):
        return 1e-2, 1e-3
    return 1e-4, 1e-5


def expect_close(first: Tensor, second: Tensor, component: str, prop: str, what: str, fix: str) -> None:
    """Two runs that must agree: equal for bool / integer tensors, within ``tolerance`` for floats."""
    a, b = first.detach(), second.detach()
    if a.shape == b.shape and a.is_floating_point():
        rtol, atol = tolerance(a)
        same = torch.allclose(a.float(), b.float(), rtol=rtol, atol=atol)
    else:
        same = a.shape == b.shape and torch.equal(a, b)
    if not same:
        raise fail(component, prop, f"{what} differs between two runs with the same seed and input", fix)


def expect_gradients(module: nn.Module, component: str, context: str) -> None:
    """After a backward pass: every trainable parameter of ``module`` has a finite gradient.

    ``context`` says which loss was backpropagated, for the message.
    """
    named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
    missing = [name for name, p in named if p.grad is None]
    if missing:
        shown = ", ".join(missing[:6]) + (f" and {len(missing) - 6} more" if len(missing) > 6 else "")
        raise fail(
            component, "gradient to every trainable parameter",
            f"{len(missing)} of {len(named)} trainable parameters got no gradient from {context}: {shown}",
            "use every parameter in forward (or create it only when an option needs it), do not detach or "
            "compute under torch.no_grad, and freeze deliberately unused ones with requires_grad_(False)",
        )
    broken = [name for name, p in named if p.grad is not None and not bool(torch.isfinite(p.grad).all())]
    if broken:
        raise fail(
            component, "finite gradients", f"NaN or inf gradients from {context} in: {', '.join(broken[:6])}",
            "guard divisions and norms against zero (clamp_min(eps)) and logs against 0 (log(x + eps))",
        )
