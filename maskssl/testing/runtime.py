"""Devices, seeds and moving batches: what every check needs to run a component reproducibly."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import TypeVar, cast

import torch
from torch import nn

T = TypeVar("T")
DeviceLike = str | torch.device


def available_devices() -> list[torch.device]:
    """The devices the checks run on by default: the CPU, then "cuda" when ``torch.cuda.is_available()``.

    Without CUDA the CUDA part of every check is skipped by this choice: nothing is raised, warned or
    reported, the check simply covers the CPU only. Pass ``devices=`` to a check to choose yourself.
    """
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    return devices


def resolve_devices(devices: Sequence[DeviceLike] | None) -> list[torch.device]:
    """``devices`` as torch.device objects, or ``available_devices()`` when None."""
    return available_devices() if devices is None else [torch.device(d) for d in devices]


def generator(seed: int, device: torch.device) -> torch.Generator:
    """A torch.Generator on ``device`` seeded with ``seed``, as the training loop draws masks from."""
    return torch.Generator(device=device).manual_seed(seed)


@contextlib.contextmanager
def global_seed(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's global RNG (CPU, and ``device`` when it is CUDA) seeded with ``seed``.

    The global state is restored afterwards, so a check never changes the caller's random stream.
    Dropout, stochastic depth and a modality's augmentations draw from this RNG.
    """
    cuda = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


def to_device(value: T, device: torch.device) -> T:
    """``value`` with every tensor moved to ``device``.

    Tensors and objects with their own ``.to(device)`` method (a torch-geometric batch, a sparse
    wrapper) are moved with it; dataclasses (such as ``Tokens``), dicts, lists, tuples and named
    tuples are handled recursively; everything else is returned unchanged.
    """
    if isinstance(value, torch.Tensor):
        return cast(T, value.to(device))  # T is Tensor here; mypy does not narrow a TypeVar by isinstance
    move = getattr(value, "to", None)
    if callable(move) and not isinstance(value, type):
        return move(device)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: to_device(getattr(value, f.name), device) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, dict):
        return cast(T, {k: to_device(v, device) for k, v in value.items()})  # T: a dict (a subclass turns into dict)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple
        return type(value)(*(to_device(v, device) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(v, device) for v in value)
    return value


def module_device(module: nn.Module) -> torch.device:
    """Where ``module``'s first parameter or buffer lives (the CPU for a module without any)."""
    for tensor in [*module.parameters(), *module.buffers()]:
        return tensor.device
    return torch.device("cpu")


@contextlib.contextmanager
def placed(module: nn.Module, device: torch.device, training: bool) -> Iterator[nn.Module]:
    """``module`` moved to ``device`` in train or eval mode; its device, mode and gradients are restored after."""
    home, was_training = module_device(module), module.training
    module.to(device).train(training)
    try:
        yield module
    finally:
        module.zero_grad(set_to_none=True)
        module.to(home).train(was_training)
