"""Check and gently coerce config values against type annotations (int -> float, list -> tuple)."""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from maskssl.errors import ConfigError


class _BadValue(ConfigError):
    """The value has the right type but is not allowed (a NaN, a Literal's non-member)."""


def coerce(value: Any, annotation: Any, key: str) -> Any:
    """Return ``value`` converted to ``annotation`` where that is lossless, else raise ConfigError.

    Floats must be finite: NaN and infinity are config mistakes everywhere in maskssl.

    Supports Any, bool, int, float, str, None, Optional/Union, Literal, list[...], tuple[...], dict.
    ``key`` is the dotted config key, used in the message.
    """
    if annotation is Any or annotation is typing.Any:
        return value
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rejected: _BadValue | None = None
        for option in args:
            try:
                return coerce(value, option, key)
            except _BadValue as exc:  # the right type, a bad value: say so if no other option fits
                rejected = rejected or exc
            except ConfigError:
                continue
        raise rejected or _mismatch(value, annotation, key)
    if origin is typing.Literal:
        if value in args:
            return value
        raise _BadValue(f"{key}={value!r} is not allowed; choose one of {', '.join(map(repr, args))}")
    if annotation is type(None) or annotation is None:
        if value is None:
            return None
        raise _mismatch(value, annotation, key)
    if annotation is bool:
        if isinstance(value, bool):
            return value
        raise _mismatch(value, annotation, key)
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _mismatch(value, annotation, key)
    if annotation is float:
        number: float | None = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        elif isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                number = float(value)
            except ValueError:
                pass
        if number is None:
            raise _mismatch(value, annotation, key)
        if not math.isfinite(number):
            raise _BadValue(f"{key}={value!r} is not a finite number")
        return number
    if annotation is str:
        if isinstance(value, str):
            return value
        raise _mismatch(value, annotation, key)
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _mismatch(value, annotation, key)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key} needs {len(args)} values, got {len(value)}: {value!r}")
            return tuple(coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item = args[0] if args else Any
        items = [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if (origin or annotation) is tuple else items
    if origin is dict or annotation is dict:
        if isinstance(value, dict):
            return value
        raise _mismatch(value, annotation, key)
    if isinstance(annotation, type):
        if isinstance(value, annotation):
            return value
        raise _mismatch(value, annotation, key)
    return value


def _mismatch(value: Any, annotation: Any, key: str) -> ConfigError:
    name = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return ConfigError(f"{key}={value!r} has the wrong type: expected {name}")


def require_positive(**values: float) -> None:
    """ConfigError for the first option that is not a positive number (NaN included), named with its value:
    component constructors call it before a size of 0 or less reaches torch as a division or a tensor shape."""
    for name, value in values.items():
        if not value > 0:
            raise ConfigError(f"{name}={value} must be positive")


def require_non_negative(**values: float) -> None:
    """ConfigError for the first option that is negative (or NaN), named with its value."""
    for name, value in values.items():
        if not value >= 0:
            raise ConfigError(f"{name}={value} cannot be negative")


def require_probability(**values: float) -> None:
    """ConfigError for the first option outside [0, 1] (NaN included): dropout and drop-path rates."""
    for name, value in values.items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{name}={value} must be in [0, 1]")
