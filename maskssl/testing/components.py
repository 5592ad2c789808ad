"""The conformance kit over entry points: every component a distribution declares, checked by kind.

    from maskssl.testing import check_component, distribution_components

    for kind, name in distribution_components("maskssl-plugin-template"):
        check_component(kind, name)

Maskers and regularizers are checked alone; a modality with its default recipe; an encoder or a
decoder inside a modality of its own distribution (only a modality knows how to build them), chosen
with ``encoder.name=`` / ``decoder.name=``, whose option checks must refuse bad values as ConfigError
(``check_option_errors``); an exporter on the encoder of such a modality. ``overrides`` maps a modality name to ``key=value`` lines
that keep its model small. The pytest plugin ``maskssl.testing.pytest_plugin`` parametrizes a test
over the components of the distribution under test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import cast

from maskssl import registry
from maskssl.interfaces import Decoder
from maskssl.testing.case import build_case
from maskssl.testing.decoder import check_decoder
from maskssl.testing.encoder import check_encoder
from maskssl.testing.errors import ConformanceError
from maskssl.testing.exporter import check_exporter
from maskssl.testing.masker import check_masker
from maskssl.testing.modality import check_modality
from maskssl.testing.options import check_option_errors
from maskssl.testing.regularizer import check_regularizer


def distribution_components(distribution: str) -> list[tuple[str, str]]:
    """(kind, name) of every maskssl entry point ``distribution`` declares, sorted; ConformanceError when
    the distribution is not installed."""
    try:
        entry_points = metadata.distribution(distribution).entry_points
    except metadata.PackageNotFoundError as exc:
        raise ConformanceError(
            f"distribution '{distribution}'", "is installed", "importlib.metadata does not find it",
            "pip install -e . in its folder, or fix maskssl_distribution in pyproject.toml",
        ) from exc
    kinds = {group: kind for kind, group in registry.GROUPS.items()}
    return sorted((kinds[ep.group], ep.name) for ep in entry_points if ep.group in kinds)


def check_component(kind: str, name: str, overrides: Mapping[str, Sequence[str]] | None = None) -> None:
    """The conformance checks of the ``kind`` registered as ``name`` (see the module docstring)."""
    overrides = overrides or {}
    if kind == "masker":
        check_masker(name)
    elif kind == "regularizer":
        check_regularizer(name)
    elif kind == "modality":
        check_modality(name, list(overrides.get(name, [])))
    elif kind in ("encoder", "decoder"):
        modality = host_modality(kind, name)
        case = build_case(modality, [*overrides.get(modality, []), f"{kind}.name={name}"])
        check_option_errors(kind, name, modality, overrides.get(modality, []))
        if kind == "encoder":
            check_encoder(case.model.encoder, case.tokens, masker=case.model.masker, name=name)
        else:
            decoder = cast(Decoder, case.model.decoders[0])
            check_decoder(decoder, case.model.encoder, case.tokens, masker=case.model.masker, name=name)
    elif kind == "exporter":
        modality = host_modality(kind, name)
        check_exporter(name, build_case(modality, list(overrides.get(modality, []))))
    else:
        raise ValueError(f"unknown component kind '{kind}'; kinds are: {', '.join(registry.GROUPS)}")


def host_modality(kind: str, name: str) -> str:
    """A modality of the distribution that declares the ``kind`` ``name`` (the first by name)."""
    distribution = registry.entries(kind)[name].distribution
    modalities = registry.entries("modality")
    hosts = sorted(m for m, entry in modalities.items() if entry.distribution == distribution)
    if not hosts:
        raise ConformanceError(
            f"{kind} '{name}' ({distribution})", "can be built by a modality of its distribution",
            "the distribution declares no modality",
            f"declare one, or check it with maskssl.testing.check_{kind} and your own tokens",
        )
    return hosts[0]
