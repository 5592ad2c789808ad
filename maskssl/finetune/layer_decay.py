"""Layer-wise learning-rate decay (BEiT / MAE fine-tuning) and no weight decay on norms and biases.

With n encoder blocks: the embeddings (patch / group embedding, tokens, positions) are layer 0, block i
(0-based) is layer i + 1, the encoder's final norm and the head are layer n + 1. Layer l trains at
lr x decay^(n + 1 - l): block i of n gets decay^(n - i), as timm's ``param_groups_layer_decay`` and MAE's
``lrd.param_groups_lrd``. The loop multiplies the scheduled lr by each group's ``lr_scale``.
"""

from __future__ import annotations

import re
from typing import Any

from torch import nn

from maskssl.errors import ConfigError
from maskssl.interfaces import Encoder


def encoder_layer_ids(encoder: Encoder) -> tuple[dict[str, int], int]:
    """Layer of each encoder parameter by name, and the number of blocks n (see the module docstring)."""
    pattern = re.compile(encoder.block_pattern)
    blocks: dict[str, int] = {}
    for name, _ in encoder.named_parameters():
        match = pattern.match(name)
        if match:
            blocks[name] = int(match.group(1)) + 1
    depth = max(blocks.values(), default=0)
    layers = {
        name: blocks.get(name, depth + 1 if name.startswith(encoder.final_norm_prefix) else 0)
        for name, _ in encoder.named_parameters()
    }
    return layers, depth


def layer_decay_groups(
    encoder: Encoder, head: nn.Module, weight_decay: float, layer_decay: float
) -> list[dict[str, Any]]:
    """Optimizer groups of encoder + head: one per (layer, decayed or not), each with its ``lr_scale``.

    Tensors with one dimension (biases, norm weights) get no weight decay.
    """
    layers, depth = encoder_layer_ids(encoder)
    if layer_decay < 1.0 and depth == 0:
        raise ConfigError(
            f"finetune.layer_decay={layer_decay}: no parameter of the {type(encoder).__name__} encoder matches its "
            f"block_pattern {encoder.block_pattern!r}, so there are no layers to decay; set finetune.layer_decay=1.0"
        )
    named = [(layers[name], param) for name, param in encoder.named_parameters()]
    named += [(depth + 1, param) for param in head.parameters()]
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for layer, param in named:
        if not param.requires_grad:
            continue
        decayed = param.ndim > 1
        group = groups.setdefault(
            (layer, decayed),
            {
                "params": [],
                "weight_decay": weight_decay if decayed else 0.0,
                "lr_scale": layer_decay ** (depth + 1 - layer),
                "layer": layer,
            },
        )
        group["params"].append(param)
    return [groups[key] for key in sorted(groups)]
