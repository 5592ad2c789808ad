"""Conformance of a component's option checks: out-of-range values are refused as ConfigError (one line on the
command line), never as another exception from deep inside torch.

    from maskssl.testing import check_option_errors
    check_option_errors("encoder", "vit", "image", ["encoder.depth=1"])

Every typed option of the component's constructor is given each value of ``hostile_values`` in turn; building the
model with it (as a run does) and one training forward pass on a batch must either succeed or raise ConfigError:
a value the constructor accepts must not fail later (a dropout rate of 2 at the first step).
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any, Literal

from maskssl import registry
from maskssl.build import build_model
from maskssl.config.load import load_config
from maskssl.errors import ConfigError
from maskssl.testing.case import build_case
from maskssl.testing.errors import describe, fail


def hostile_values(annotation: Any) -> list[str]:
    """Values (as ``key=value`` text) that an option of this type must survive: out of range, non-finite, unknown."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return ["bogus"]
    if args and type(None) in args:  # X | None: the X values
        return hostile_values(next(arg for arg in args if arg is not type(None)))
    if origin is tuple:
        return ["[2.0, 3.0]", "[0.9]", "[-1.0, nan]"]
    if annotation is bool:
        return ["maybe"]
    if annotation is int:
        return ["-3", "0", "1.5"]
    if annotation is float:
        return ["-1", "0", "nan", "inf"]
    if annotation is str:
        return ["''"]
    return []


def typed_options(kind: str, name: str) -> dict[str, Any]:
    """Option -> type annotation of the component registered as ``name`` (options without one are left out)."""
    factory = registry.get(kind, name)
    hints = registry.type_hints(factory)
    return {option: hints[option] for option in registry.options_of(factory) if option in hints}


def check_option_errors(kind: str, name: str, modality: str, overrides: Sequence[str] = ()) -> None:
    """Build the model with the ``kind`` (encoder or decoder) ``name`` inside ``modality`` and run one training
    forward, with each hostile value of each of its typed options; ConformanceError naming the first value that
    raises anything but ConfigError."""
    component = describe(kind, registry.get(kind, name), name)
    base = [*overrides, f"{kind}.name={name}"]
    case = build_case(modality, base)
    tokens = case.tokens()
    for option, annotation in typed_options(kind, name).items():
        for value in hostile_values(annotation):
            try:
                model = build_model(case.modality, load_config(modality, None, [*base, f"{kind}.{option}={value}"]))
                model.train()(tokens).loss.backward()
            except ConfigError:
                continue
            except Exception as exc:  # the component's own code, or torch below it
                raise fail(component, "refuses bad options as ConfigError", f"{kind}.{option}={value} raised",
                           f"check {option}'s range in the constructor and raise maskssl.errors.ConfigError "
                           f"(maskssl.utils.typecheck.require_positive and friends)", exc) from exc
