"""Weight initialisation of transformer modules as MAE and Point-MAE do it, for ``Module.apply``."""

from __future__ import annotations

from torch import nn


def init_transformer_weights(module: nn.Module, *, trunc_normal_std: float | None = None) -> None:
    """Linear weights Xavier-uniform (MAE), or truncated-normal with ``trunc_normal_std`` (Point-MAE's
    encoder: 0.02); zero biases; LayerNorms weight 1, bias 0. Other modules are left alone.

    Use with ``module.apply(init_transformer_weights)`` or
    ``module.apply(functools.partial(init_transformer_weights, trunc_normal_std=0.02))``.
    """
    if isinstance(module, nn.Linear):
        if trunc_normal_std is None:
            nn.init.xavier_uniform_(module.weight)
        else:
            nn.init.trunc_normal_(module.weight, std=trunc_normal_std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
