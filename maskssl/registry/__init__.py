"""Where names resolve: the component registry (entry points and run-time registrations), the user's
``--import`` modules, and the provenance record that ties a run to the code it was trained with.

    from maskssl import registry
    masker = registry.create("masker", {"name": "random", "ratio": 0.6})

This package re-exports the registry's functions (``maskssl.registry.components``), the face plugins use.
"""

from maskssl.registry.components import (
    GROUPS,
    Entry,
    create,
    entries,
    get,
    list_names,
    missing_requirements,
    options_of,
    register,
    register_decoder,
    register_encoder,
    register_masker,
    register_modality,
    register_regularizer,
    type_hints,
    unregister,
)

__all__ = [
    "GROUPS",
    "Entry",
    "create",
    "entries",
    "get",
    "list_names",
    "missing_requirements",
    "options_of",
    "register",
    "register_decoder",
    "register_encoder",
    "register_masker",
    "register_modality",
    "register_regularizer",
    "type_hints",
    "unregister",
]
