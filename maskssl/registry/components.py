"""Find maskssl components by name: installed plugins (entry points) and code registered at run time.

Each kind has one entry-point group, read from package metadata without importing anything::

    [project.entry-points."maskssl.maskers"]
    block = "maskssl_image.maskers:BlockMasker"

A plugin is imported only when one of its names is asked for. Code in a user's script registers with
``@register_masker("mine")`` (and siblings); a local registration wins over an entry point of the
same name, with a warning.

    >>> from maskssl import register_masker, create
    >>> masker = create("masker", {"name": "random", "ratio": 0.6})
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata as metadata
import inspect
import re
import typing
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from maskssl.errors import ConfigError, PluginImportError, UnknownComponentError
from maskssl.utils.typecheck import coerce

GROUPS: dict[str, str] = {
    "modality": "maskssl.modalities",
    "masker": "maskssl.maskers",
    "encoder": "maskssl.encoders",
    "decoder": "maskssl.decoders",
    "regularizer": "maskssl.regularizers",
    "exporter": "maskssl.exporters",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Entry:
    """One registered component: where it comes from, and how to load it."""

    kind: str
    name: str
    distribution: str
    version: str
    target: str
    obj: Any = None
    entry_point: metadata.EntryPoint | None = None

    @property
    def is_local(self) -> bool:
        return self.entry_point is None

    def load(self) -> Any:
        """Import the component; a failing plugin raises PluginImportError naming its distribution."""
        if self.entry_point is None:
            return self.obj
        try:
            return self.entry_point.load()
        except Exception as exc:  # any import-time failure of third-party code
            raise PluginImportError(
                f"{self.kind} '{self.name}' from distribution {self.distribution} {self.version} failed to "
                f"import ({self.target}): {type(exc).__name__}: {exc}. Reinstall or upgrade "
                f"'{self.distribution}', or uninstall it if you do not need it."
            ) from exc


_local: dict[str, dict[str, Entry]] = {kind: {} for kind in GROUPS}


def _check_kind(kind: str) -> None:
    if kind not in GROUPS:
        raise ValueError(f"unknown component kind '{kind}'; kinds are: {', '.join(GROUPS)}")


def _entry_point_entries(kind: str) -> dict[str, Entry]:
    """Entry points of ``kind`` by name. Two distributions registering one name: the first on sys.path
    wins (as for imports), with a warning naming both."""
    found: dict[str, Entry] = {}
    for ep in metadata.entry_points(group=GROUPS[kind]):
        dist = ep.dist
        entry = Entry(
            kind=kind,
            name=ep.name,
            distribution=dist.name if dist is not None else "unknown",
            version=dist.version if dist is not None else "unknown",
            target=ep.value,
            entry_point=ep,
        )
        first = found.get(ep.name)
        if first is None:
            found[ep.name] = entry
        elif first.distribution != entry.distribution:
            warnings.warn(
                f"{kind} '{ep.name}' is registered by two distributions: {first.distribution} {first.version} "
                f"({first.target}) and {entry.distribution} {entry.version} ({entry.target}); using the first. "
                f"Uninstall one of them, or register your own under another name",
                stacklevel=3,
            )
    return found


def entries(kind: str) -> dict[str, Entry]:
    """All components of ``kind`` by name: entry points, overridden by local registrations."""
    _check_kind(kind)
    return {**_entry_point_entries(kind), **_local[kind]}


def register(kind: str, name: str) -> Callable[[T], T]:
    """Decorator registering a class or factory under ``name`` for ``kind`` in this process."""
    _check_kind(kind)

    def decorator(obj: T) -> T:
        if name in _entry_point_entries(kind):
            previous = _entry_point_entries(kind)[name]
            warnings.warn(
                f"local {kind} '{name}' overrides the one from {previous.distribution} {previous.version}",
                stacklevel=2,
            )
        module = getattr(obj, "__module__", "?")
        _local[kind][name] = Entry(
            kind=kind,
            name=name,
            distribution="(local)",
            version="",
            target=f"{module}:{getattr(obj, '__qualname__', repr(obj))}",
            obj=obj,
        )
        return obj

    return decorator


def unregister(kind: str, name: str) -> None:
    """Remove a local registration (tests, notebooks). Entry points are not affected."""
    _check_kind(kind)
    _local[kind].pop(name, None)


def register_modality(name: str) -> Callable[[T], T]:
    """Register a ``maskssl.Modality`` subclass under ``name``."""
    return register("modality", name)


def register_masker(name: str) -> Callable[[T], T]:
    """Register a ``maskssl.Masker`` subclass (or factory returning one) under ``name``."""
    return register("masker", name)


def register_encoder(name: str) -> Callable[[T], T]:
    """Register a ``maskssl.Encoder`` subclass (or factory) under ``name``."""
    return register("encoder", name)


def register_decoder(name: str) -> Callable[[T], T]:
    """Register a ``maskssl.Decoder`` subclass (or factory) under ``name``."""
    return register("decoder", name)


def register_regularizer(name: str) -> Callable[[T], T]:
    """Register a ``maskssl.Regularizer`` subclass (or factory) under ``name``."""
    return register("regularizer", name)


@functools.cache
def missing_requirements(distribution: str) -> list[str]:
    """Requirements of an installed distribution that are not installed (extras are not counted).

    Read from package metadata only: nothing is imported.
    """
    try:
        requirements = metadata.requires(distribution) or []
    except metadata.PackageNotFoundError:
        return []
    missing = []
    for requirement in requirements:
        if "extra ==" in requirement.replace('"', "").replace("'", ""):
            continue
        name = re.split(r"[\s;<>=!~\[(]", requirement.strip(), maxsplit=1)[0]
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def list_names(kind: str) -> list[str]:
    """Sorted names of every installed or registered component of ``kind``."""
    return sorted(entries(kind))


def get(kind: str, name: str) -> Any:
    """The class or factory registered as ``name``; raises UnknownComponentError or PluginImportError."""
    available = entries(kind)
    if name not in available:
        names = sorted(available)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        installed = ", ".join(names) if names else "none"
        raise UnknownComponentError(
            f"unknown {kind} '{name}'. Installed: {installed}.{hint} "
            f"(install a plugin that provides it, or register it with maskssl.register_{kind})"
        )
    return available[name].load()


def options_of(factory: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Keyword parameters a factory (class or function) accepts, by name; '**' if it takes **kwargs."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    params = dict(inspect.signature(target).parameters)
    params.pop("self", None)
    return {
        ("**" if p.kind is p.VAR_KEYWORD else n): p for n, p in params.items() if p.kind is not p.VAR_POSITIONAL
    }


def type_hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """Parameter -> resolved type annotation of a factory (class or function); {} when they cannot be resolved."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target)
    except Exception:  # unresolvable annotations: skip type checks rather than fail
        return {}


def create(kind: str, section: Mapping[str, Any], *, prefix: str | None = None, **injected: Any) -> Any:
    """Build a component from a config section ``{"name": ..., **options}``.

    ``injected`` are arguments the caller supplies from context (a modality passes image size and
    channels to its encoder); they may not be set in the section. Options are checked against the
    factory's signature: an unknown key raises ConfigError listing the valid ones. A ConfigError the factory
    raises (its own check of its options) is named with the section; any other exception propagates
    unchanged, with a note naming the component and its options: a bug in a component is not reported as
    a mistake in the config.
    """
    prefix = prefix or kind
    if "name" not in section:
        raise ConfigError(f"{prefix}.name is missing; choose one of: {', '.join(list_names(kind))}")
    name = section["name"]
    factory = get(kind, name)
    options = {k: v for k, v in section.items() if k != "name"}
    accepted = options_of(factory)
    hints = type_hints(factory)
    valid = sorted(k for k in accepted if k != "**" and k not in injected)
    for key, value in options.items():
        if key in injected:
            raise ConfigError(f"{prefix}.{key} is set by the modality from the data and cannot be configured")
        if key not in accepted and "**" not in accepted:
            close = difflib.get_close_matches(key, valid, n=1)
            hint = f" Did you mean '{prefix}.{close[0]}'?" if close else ""
            raise ConfigError(
                f"unknown key '{prefix}.{key}' for {kind} '{name}'; valid keys: {', '.join(valid) or 'none'}.{hint}"
            )
        if key in hints:
            options[key] = coerce(value, hints[key], f"{prefix}.{key}")
    missing = [k for k in injected if k not in accepted and "**" not in accepted]
    if missing:
        raise ConfigError(
            f"{kind} '{name}' must accept the argument(s) {', '.join(missing)}, which the modality supplies"
        )
    try:
        return factory(**injected, **options)
    except ConfigError as exc:  # the component's own check of its options: a config mistake
        raise ConfigError(f"{prefix} ({kind} '{name}'): {exc}") from exc
    except Exception as exc:  # anything else is a bug in the component: keep its type and traceback
        exc.add_note(f"maskssl: raised while building {prefix} = {kind} '{name}' ({entries(kind)[name].target}) "
                     f"with options {dict(section)}; a config mistake would be a ConfigError")
        raise

