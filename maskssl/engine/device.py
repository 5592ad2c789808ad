"""Device and precision choices of the training loop."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch

from maskssl.errors import ConfigError


def select_device(spec: str, local_rank: int = 0) -> torch.device:
    """``auto``: this process's CUDA device when CUDA is available, else the CPU; or an explicit device."""
    if spec == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise ConfigError(f"train.device={spec!r} is not a device; use auto, cpu, cuda or cuda:N") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={spec} but CUDA is not available here; use train.device=auto or cpu")
    return device


def set_cpu_threads(threads: int | None) -> int:
    """Set torch's intra-op CPU threads: ``threads``, or None for the default (torch's own for one process,
    the usable cores // LOCAL_WORLD_SIZE under torchrun). Returns the number in effect."""
    if threads is None:
        local_processes = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        if local_processes <= 1:
            return torch.get_num_threads()
        threads = max(1, len(os.sched_getaffinity(0)) // local_processes)
    torch.set_num_threads(threads)
    return threads


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` (None: full fp32). ``auto`` is bf16 on CUDA, fp32 elsewhere."""
    if precision == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float16 if device.type == "cuda" else None
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("train.precision=fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """Mixed-precision context for the forward pass; a no-op when dtype is None."""
    with torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None):
        yield
