"""A conformance kit for plugin authors: call these in your plugin's tests.

    from maskssl.testing import check_masker, check_modality

    def test_my_masker():
        check_masker("checkerboard")                      # by registered name, or pass an instance

    def test_my_modality():
        check_modality("signal", ["encoder.depth=1"])     # data, tokens, encoder, decoders, loss, gradients

Or all of a distribution's entry points at once: ``check_component(kind, name)`` for each
``distribution_components("my-plugin")``, or the pytest plugin ``maskssl.testing.pytest_plugin``.

Every check raises ``ConformanceError`` (an AssertionError) naming the component, the property it
breaks and the fix. Components given by name are built through the registry exactly as a run builds
them (``maskssl.registry.create``, ``maskssl.build.build_modality`` / ``build_model``). Every check runs
on ``available_devices()``: the CPU, plus CUDA when ``torch.cuda.is_available()``; without CUDA that
part is skipped (no error, no warning), or choose with ``devices=[...]``.

Shapes (``maskssl.interfaces``): mask bool [B, L] with exactly ``num_hidden(L)`` True per row,
``Encoded.latent`` [B, Q, D] and ``pooled`` [N, D] with D = ``encoder.embed_dim``,
``Decoded.prediction`` [B, L, T] like ``Tokens.targets`` and ``hidden`` [B, L, Dd], regularizer and
loss outputs 0-dim float tensors.
"""

from maskssl.testing.case import ModalityCase, build_case
from maskssl.testing.components import check_component, distribution_components
from maskssl.testing.decoder import check_decoded, check_decoder
from maskssl.testing.encoder import check_encoded, check_encoder
from maskssl.testing.errors import ConformanceError
from maskssl.testing.exporter import check_exporter
from maskssl.testing.masker import check_mask, check_masker, make_tokens
from maskssl.testing.modality import check_modality, check_tokens
from maskssl.testing.options import check_option_errors, hostile_values
from maskssl.testing.regularizer import check_regularizer, make_views
from maskssl.testing.runtime import available_devices, to_device

__all__ = [
    "ConformanceError",
    "ModalityCase",
    "available_devices",
    "build_case",
    "check_component",
    "check_decoded",
    "check_decoder",
    "check_encoded",
    "check_encoder",
    "check_exporter",
    "check_mask",
    "check_masker",
    "check_modality",
    "check_option_errors",
    "check_regularizer",
    "check_tokens",
    "distribution_components",
    "hostile_values",
    "make_tokens",
    "make_views",
    "to_device",
]
