"""Random numbers keyed by a sample's identity rather than drawn from a process's generator.

A training step gives every sample of its global batch a key, hash(seed, step, micro-batch, position
in the global micro-batch), the same whichever process holds the sample. A masker that draws from the
keys (``keyed_uniform``) hides the same tokens of a sample on 1 process with batch 2B as on 2 processes
with B each, so the run's losses do not depend on how many processes train it. Counter-based (a
32-bit integer hash, computed in int64 without overflow): no generator state, identical on CPU and CUDA.
"""

from __future__ import annotations

import torch
from torch import Tensor

_M32 = 0xFFFFFFFF
_MULTIPLIER = 0x45D9F3B  # < 2**27: a product with a 32-bit value stays below 2**59


def mix32(x: Tensor) -> Tensor:
    """A 32-bit integer hash of every element of an int64 tensor; values in [0, 2**32)."""
    x = x & _M32
    x = x ^ (x >> 16)
    x = (x * _MULTIPLIER) & _M32
    x = x ^ (x >> 16)
    x = (x * _MULTIPLIER) & _M32
    return x ^ (x >> 16)


def derive(keys: Tensor, salt: int) -> Tensor:
    """Independent keys [B] for a sub-stream (a view, say) of ``keys`` [B]."""
    return mix32(keys ^ mix32(torch.full_like(keys, salt + 0x632BE5AB)))


def batch_keys(seed: int, step: int, micro: int, rank: int, world_size: int, batch_size: int,
               device: torch.device) -> Tensor:
    """Keys [batch_size] (int64) of a rank's micro-batch: sample i sits at i * world_size + rank of the
    global micro-batch (``EpochSampler`` deals the permutation out round-robin)."""
    head = torch.tensor(0x2545F491, dtype=torch.int64)  # not 0, a fixed point of mix32
    for part in (seed, step, micro):
        head = mix32(head * 31 ^ torch.tensor(part & _M32, dtype=torch.int64))
    positions = torch.arange(batch_size, device=device, dtype=torch.int64) * world_size + rank
    return mix32(positions ^ head.to(device))


def keyed_uniform(keys: Tensor, count: int) -> Tensor:
    """Uniform numbers in [0, 1) [B, count], row b a function of keys[b] alone."""
    columns = torch.arange(count, device=keys.device, dtype=torch.int64)
    bits = mix32(mix32(keys)[:, None] ^ (columns * 0x9E3779B1 & _M32)[None, :])  # [B, count]
    return bits.to(torch.float64).div_(2.0**32).float()
