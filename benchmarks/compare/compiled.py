"""maskssl's model under torch.compile for the side-by-side scripts, compiled once and checked against eager."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from maskssl.interfaces import Tokens


def compile_with_check(model: nn.Module, tokens: Tokens) -> tuple[Callable, str]:
    """``torch.compile(model)`` (as ``train.compile=true``) and a line reporting it.

    The compiled model is compiled by one train-mode forward + backward on ``tokens`` (its time is the
    report's compile time; the gradients are dropped), then the losses of one eval-mode forward of the
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
    return compiled, (f"torch.compile(maskssl model): first forward + backward (compiling) {seconds:.1f} s; "
                      f"eval-mode loss eager {eager:.7f} compiled {again:.7f}")
