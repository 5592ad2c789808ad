"""MAE's weight initialisation for transformer modules."""

from __future__ import annotations

from torch import nn


def init_mae_weights(module: nn.Module) -> None:
    """Xavier-uniform linear weights with zero bias, unit LayerNorms (use with ``Module.apply``)."""
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
