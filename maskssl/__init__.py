"""maskssl: masked self-supervised learning across modalities (MAE, U-MAE, double masking).

    maskssl train --modality image            # the CLI
    from maskssl import register_masker        # extend it from Python
"""

from maskssl.build import load_config
from maskssl.errors import ConfigError, MaskSSLError
from maskssl.interfaces import (
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
from maskssl.model import MaskedAutoencoder, StepOutput
from maskssl.registry import (
    create,
    list_names,
    register_decoder,
    register_encoder,
    register_masker,
    register_modality,
    register_regularizer,
)

from maskssl.engine.loop import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "Decoded",
    "Decoder",
    "Encoded",
    "Encoder",
    "FeatureSet",
    "MaskSSLError",
    "MaskedAutoencoder",
    "Masker",
    "Modality",
    "Regularizer",
    "StepOutput",
    "TrainResult",
    "Tokens",
    "ViewOutput",
    "create",
    "list_names",
    "load_config",
    "register_decoder",
    "register_encoder",
    "register_masker",
    "register_modality",
    "register_regularizer",
    "train",
]
