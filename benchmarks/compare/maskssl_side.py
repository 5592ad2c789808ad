"""maskssl's side of the side-by-side scripts: what its training loop hands the model and how it steps, its
model under torch.compile (compiled once and checked against eager), and the copy of the published
weights into its model for the equivalence checks."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
from harness import Step, train_step
from torch import Tensor, nn

from maskssl.config.run import TrainConfig
from maskssl.engine.optim import build_optimizer, param_groups
from maskssl.interfaces import Tokens
from maskssl.utils.keyed_random import batch_keys

CPU = torch.device("cpu")


def loop_tokens(modality: Any, batch: Any, step: int, seed: int = 0) -> Tokens:
    """What maskssl's training loop (one process) hands the model at ``step``: ``modality.tokenize(batch)``
    with the samples' keys (``batch_keys`` as ``loop._accumulate``, set as ``PretrainTask.prepare``), so that
    the masker draws its noise the way a real run does."""
    tokens = modality.tokenize(batch, CPU)
    tokens.sample_keys = batch_keys(seed, step, 0, 0, 1, tokens.batch_size, CPU)
    return tokens


def maskssl_steps(model: nn.Module, compiled: Callable | None, modality: Any, batch: Any, train: TrainConfig,
                  lr: float | None = None, labelled: bool = False) -> tuple[dict[str, Step], torch.optim.Optimizer]:
    """Train steps on ``batch`` of "maskssl" and, given ``compiled`` (``torch.compile(model)``: same parameters and
    optimizer), "maskssl compiled", with one step count (for ``loop_tokens``) and one generator; and the
    optimizer, as maskssl's training loop builds it (``lr`` default: ``train.lr``)."""
    lr = train.lr if lr is None else lr
    optimizer = build_optimizer(param_groups(model, train.weight_decay), lr, tuple(train.betas), CPU, train.optimizer)
    generator, counter = torch.Generator().manual_seed(0), itertools.count()
    model.train()

    def loss(forward: Callable) -> Callable[[], Tensor]:
        return lambda: forward(loop_tokens(modality, batch, next(counter), train.seed), generator).loss

    forwards: dict[str, Callable] = {"maskssl": model, **({} if compiled is None else {"maskssl compiled": compiled})}
    return {name: train_step(loss(forward), optimizer, labelled) for name, forward in forwards.items()}, optimizer


def compile_with_check(model: nn.Module, tokens: Tokens) -> Callable:
    """``torch.compile(model)`` (as ``train.compile=true``), after printing a line reporting it.

    The compiled model is compiled by one train-mode forward + backward on ``tokens`` (its time is the
    line's compile time; the gradients are dropped), then the losses of one eval-mode forward of the
    eager and the compiled model on the same tokens and mask noise are reported side by side (eval mode:
    BatchNorm's running statistics and no drop path, so that both compute the same function).
    """
    compiled = torch.compile(model)
    start = time.perf_counter()
    compiled(tokens, torch.Generator().manual_seed(5)).loss.backward()
    seconds = time.perf_counter() - start
    model.zero_grad(set_to_none=True)
    model.eval()
    with torch.no_grad():
        eager = model(tokens, torch.Generator().manual_seed(5)).loss.item()
        again = compiled(tokens, torch.Generator().manual_seed(5)).loss.item()
    model.train()
    print(f"torch.compile(maskssl model): first forward + backward (compiling) {seconds:.1f} s; "
          f"eval-mode loss eager {eager:.7f} compiled {again:.7f}")
    return compiled


def renamed(name: str, prefixes: Sequence[tuple[str, str]], default: str | None = None) -> str:
    """``name`` with the first ``old`` prefix of ``prefixes`` (old, new) it starts with replaced by ``new``; else
    ``default`` + ``name`` (KeyError without a ``default``)."""
    for old, new in prefixes:
        if name.startswith(old):
            return new + name[len(old):]
    if default is None:
        raise KeyError(name)
    return default + name


def copy_weights(theirs: nn.Module, ours: nn.Module, prefixes: Sequence[tuple[str, str]],
                 default: str | None = None) -> set[str]:
    """Copy each parameter and buffer of ``theirs`` into the tensor of ``ours`` named ``renamed(name, prefixes,
    default)``, which must have its shape up to size-1 axes; returns the names of ours' tensors left out."""
    target = {**dict(ours.named_parameters()), **dict(ours.named_buffers())}
    copied = set()
    for name, value in {**dict(theirs.named_parameters()), **dict(theirs.named_buffers())}.items():
        mine = renamed(name, prefixes, default)
        assert [s for s in value.shape if s != 1] == [s for s in target[mine].shape if s != 1], name
        with torch.no_grad():
            target[mine].copy_(value.detach().reshape(target[mine].shape))
        copied.add(mine)
    return set(target) - copied
