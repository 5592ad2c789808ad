"""Conformance of an export format (entry point ``maskssl.exporters``): it exports a real encoder.

    from maskssl.testing import check_exporter
    check_exporter("timm", case)        # case: maskssl.testing.build_case(<a modality of its distribution>)

The exporter is instantiated without arguments and must give a ``format_id`` string (written as the JSON's
"format", so an export can be recognised), ``export(encoder, encoder_name, modality, dataset, weights, meta)``
returning (a state dict of tensors, a JSON-serialisable dict), and ``describe(weights, meta, info)``
returning the line the CLI prints.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from torch import Tensor

from maskssl import registry
from maskssl.testing.case import ModalityCase
from maskssl.testing.errors import describe, fail, run


def check_exporter(name: str, case: ModalityCase) -> None:
    """Export ``case``'s encoder with the exporter registered as ``name``; ConformanceError on any breach."""
    exporter = registry.get("exporter", name)()
    component = describe("exporter", exporter, name)
    if not isinstance(getattr(exporter, "format_id", None), str) or not exporter.format_id:
        raise fail(component, "has a format id", f"format_id is {getattr(exporter, 'format_id', None)!r}",
                   "set a class attribute format_id = '<your format>-v1'")
    encoder = case.model.encoder
    dataset = str(getattr(case.modality.data, "dataset", None))
    with tempfile.TemporaryDirectory() as folder:
        weights, meta = Path(folder) / "encoder.safetensors", Path(folder) / "encoder.json"
        tensors, info = run(component, "exports an encoder", "export(...)", lambda: exporter.export(
            encoder, case.config.encoder["name"], case.name, dataset, weights, meta))
        if not isinstance(tensors, dict) or not tensors or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in tensors.items()
        ):
            raise fail(component, "exports an encoder", "the first value returned is not a non-empty {name: Tensor}",
                       "return the state dict to save as safetensors")
        try:
            json.dumps(info)
        except (TypeError, ValueError) as exc:
            raise fail(component, "exports an encoder", "the metadata is not JSON-serialisable",
                       "return plain dicts, lists, strings and numbers", exc) from exc
        line = run(component, "describes an export", "describe(...)", lambda: exporter.describe(weights, meta, info))
        if not isinstance(line, str) or not line:
            raise fail(component, "describes an export", f"describe returned {line!r}",
                       "return the text the CLI prints after exporting")
