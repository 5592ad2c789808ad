"""maskssl: masked self-supervised learning across modalities (MAE, U-MAE, double masking).

    maskssl train --modality image            # the CLI
    from maskssl import register_masker        # extend it from Python

The names below are imported when first used (PEP 562), so ``import maskssl`` and the CLI's help do not
pay for torch until something needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_config": "maskssl.config.load",
    "ConfigError": "maskssl.errors",
    "MaskSSLError": "maskssl.errors",
    "Decoded": "maskssl.interfaces",
    "Decoder": "maskssl.interfaces",
    "Encoded": "maskssl.interfaces",
    "Encoder": "maskssl.interfaces",
    "FeatureSet": "maskssl.interfaces",
    "Masker": "maskssl.interfaces",
    "Modality": "maskssl.interfaces",
    "Regularizer": "maskssl.interfaces",
    "Tokens": "maskssl.interfaces",
    "ViewOutput": "maskssl.interfaces",
    "MaskedAutoencoder": "maskssl.model",
    "StepOutput": "maskssl.model",
    "create": "maskssl.registry",
    "list_names": "maskssl.registry",
    "register_decoder": "maskssl.registry",
    "register_encoder": "maskssl.registry",
    "register_masker": "maskssl.registry",
    "register_modality": "maskssl.registry",
    "register_regularizer": "maskssl.registry",
    "TrainResult": "maskssl.engine.loop",
    "train": "maskssl.pretrain",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'maskssl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


if TYPE_CHECKING:  # the names above, for type checkers and IDEs
    from maskssl.config.load import load_config  # noqa: F401
    from maskssl.engine.loop import TrainResult  # noqa: F401
    from maskssl.errors import ConfigError, MaskSSLError  # noqa: F401
    from maskssl.interfaces import (  # noqa: F401
        Decoded,
        Decoder,
        Encoded,
        Encoder,
        FeatureSet,
        Masker,
        Modality,
        Regularizer,
        Tokens,
        ViewOutput,
    )
    from maskssl.model import MaskedAutoencoder, StepOutput  # noqa: F401
    from maskssl.pretrain import train  # noqa: F401
    from maskssl.registry import (  # noqa: F401
        create,
        list_names,
        register_decoder,
        register_encoder,
        register_masker,
        register_modality,
        register_regularizer,
    )
