"""Process-group helpers: rank/world queries and an all-gather whose gradients are exact.

Launch with torchrun; ``init_distributed`` reads its environment (RANK, WORLD_SIZE, LOCAL_RANK).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import torch
import torch.distributed as dist
from torch import Tensor

from maskssl import errors

T = TypeVar("T")


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: global rank, world size, rank on this node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device_type: str) -> DistInfo:
    """Join the process group torchrun set up (NCCL on CUDA, gloo on CPU); a no-op in one process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if device_type == "cuda":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank)


def agree(info: DistInfo, action: Callable[[], T]) -> T:
    """Run ``action`` on every rank, then let every rank learn whether any rank failed.

    Replaces a barrier after work that may fail on one rank only (the main rank's checkpoint write, a
    dataset missing on one node): without it the others would wait in the barrier or the next collective
    and end in a gloo / NCCL traceback. When ranks fail, the lowest failing rank's error is raised on every
    rank: its own exception there, a ``maskssl`` error of the same class and message on the others.
    """
    error: BaseException | None = None
    result: T | None = None
    try:
        result = action()
    except Exception as exc:
        error = exc
    if info.enabled:
        outcome = None if error is None else (type(error).__name__, str(error))
        outcomes: list[tuple[str, str] | None] = [None] * info.world_size
        dist.all_gather_object(outcomes, outcome)
        failed = [(rank, found) for rank, found in enumerate(outcomes) if found is not None]
        if failed and error is None:
            rank, (name, message) = failed[0]
            cls = getattr(errors, name, None)
            if isinstance(cls, type) and issubclass(cls, errors.MaskSSLError):
                raise cls(message)
            raise errors.MaskSSLError(f"rank {rank} failed ({name}): {message}")
    if error is not None:
        raise error
    return cast(T, result)  # no error: action() returned, and result holds its value (itself maybe None)


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


class _GatherWithGradient(torch.autograd.Function):
    """all_gather forward; backward sums every rank's gradient of the gathered tensor, keeps our slice.

    Each rank computes the same global loss, so the summed gradient is world_size times the gradient
    of that loss; DDP's averaging divides by world_size again, which gives exactly the gradient of a
    single process holding the whole batch. (Returning only the local slice, as some public code does,
    scales the term by 1/world_size.)
    """

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:  # ctx: a FunctionCtx, which carries local_size to backward
        ctx.local_size = x.shape[0]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = dist.get_rank() * ctx.local_size
        return grad[start : start + ctx.local_size]


def gather_with_grad(x: Tensor) -> Tensor:
    """Concatenate ``x`` [B, ...] from every rank into [world_size * B, ...], differentiably.

    All ranks must hold the same B (training drops the last incomplete batch). One process: returns x.
    """
    if world_size() == 1:
        return x
    sizes = [torch.zeros(1, dtype=torch.long, device=x.device) for _ in range(world_size())]
    dist.all_gather(sizes, torch.tensor([x.shape[0]], device=x.device))
    if len({int(s) for s in sizes}) != 1:
        raise RuntimeError(f"gather_with_grad needs equal batch sizes on every rank, got {[int(s) for s in sizes]}")
    return _GatherWithGradient.apply(x)
