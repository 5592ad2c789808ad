"""Pretrained encoder weights: where they come from (a run, a checkpoint, an export) and loading them.

    PretrainedSource.open("runs/digits")                      # newest good checkpoint of the run
    PretrainedSource.open("runs/digits/checkpoints/step_00000550.pt")
    PretrainedSource.open("encoder.safetensors")              # maskssl export (the .json beside it)

All three give the same thing: the pretraining config (as a dict) and the encoder's weights.
``load_encoder_weights`` puts them into a freshly built encoder: fine-tuning needs every tensor,
continued pretraining (``train.init_from``) takes what matches; a shape mismatch is always an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor, nn

from maskssl import registry
from maskssl.checkpoints.io import load_checkpoint, load_latest
from maskssl.errors import CheckpointError
from maskssl.registry import provenance

EXPORT_FORMAT = "maskssl-encoder-v1"
ENCODER_PREFIX = "encoder."


@dataclass
class PretrainedSource:
    """A pretrained encoder: the run's config, the encoder's state dict and the step it was saved at."""

    path: Path
    config: dict[str, Any]
    encoder_state: dict[str, Tensor]
    step: int

    @classmethod
    def open(cls, path: str | Path) -> PretrainedSource:
        """Read a run directory, a ``.pt`` checkpoint or a ``.safetensors`` / ``.json`` export."""
        path = Path(path)
        if path.suffix in (".yaml", ".yml"):
            raise CheckpointError(
                f"{path} is a YAML config, not pretrained weights: PRETRAINED is a run directory, a checkpoint (.pt) "
                f"or an export (.safetensors); give a fine-tuning recipe with --config"
            )
        if path.is_dir():
            found = load_latest(path)
            if found is None:
                raise CheckpointError(
                    f"no readable checkpoint in {path}/checkpoints; pretrain first (maskssl train --out {path}) "
                    f"or pass a checkpoint or an export"
                )
            return cls._from_checkpoint(path, *found)
        if path.suffix in (".safetensors", ".json"):
            return cls._from_export(path)
        if path.is_file():
            return cls._from_checkpoint(path, path, load_checkpoint(path))
        raise CheckpointError(
            f"{path} does not exist; PRETRAINED is a run directory, a checkpoint (.pt) or an export (.safetensors)"
        )

    @classmethod
    def _from_checkpoint(cls, given: Path, checkpoint: Path, state: dict[str, Any]) -> PretrainedSource:
        kind = state.get("task", "pretrain")
        if kind != "pretrain":
            raise CheckpointError(
                f"{checkpoint} is a {kind} checkpoint; fine-tune from a pretraining run, checkpoint or export"
            )
        config = state["config"]
        encoder_part = {"modality": config["modality"], "encoder": config.get("encoder", {})}
        provenance.check_same_code(state.get("provenance"), encoder_part, checkpoint.parent.parent)
        encoder_state = {
            name[len(ENCODER_PREFIX):]: tensor for name, tensor in state["model"].items()
            if name.startswith(ENCODER_PREFIX)
        }
        return cls(path=given, config=state["config"], encoder_state=encoder_state, step=int(state["step"]))

    @classmethod
    def _from_export(cls, path: Path) -> PretrainedSource:
        weights, meta = path.with_suffix(".safetensors"), path.with_suffix(".json")
        if not weights.is_file() or not meta.is_file():
            raise CheckpointError(f"an exported encoder needs both {weights} and {meta}")
        try:
            info = json.loads(meta.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{meta} is not valid JSON ({exc}); export the encoder again") from exc
        exported_as = written_by(info)
        if exported_as is None:
            raise CheckpointError(f"{meta} is not a maskssl encoder export (expected format {EXPORT_FORMAT})")
        if exported_as != "maskssl":
            raise CheckpointError(
                f"{meta} is a {exported_as} export (maskssl export --format {exported_as}), which {exported_as} "
                f"loads; for maskssl export the run with --format maskssl, or pass the run directory itself"
            )
        try:
            encoder_state = load_file(str(weights))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{weights} is not a readable safetensors file ({exc})") from exc
        return cls(path=path, config=info["config"], encoder_state=encoder_state, step=int(info.get("step", 0)))


def written_by(info: object) -> str | None:
    """Which export wrote the metadata ``info`` (a loaded JSON): "maskssl", an installed exporter's name
    (``maskssl.exporters``), or None. Exporters are imported only for a format that is not maskssl's own."""
    if not isinstance(info, dict):
        return None
    if info.get("format") == EXPORT_FORMAT:
        return "maskssl"
    for name in registry.list_names("exporter"):
        if registry.get("exporter", name).format_id == info.get("format"):
            return name
    return None


@dataclass
class KeyReport:
    """How a pretrained state dict matched a module: tensor names in both, only in the module, only in the source."""

    matched: list[str]
    missing: list[str]
    unexpected: list[str]

    def __str__(self) -> str:
        return (
            f"{len(self.matched)} tensors matched; missing (kept at initialisation): {self.missing or 'none'}; "
            f"unexpected (ignored): {self.unexpected or 'none'}"
        )


def load_encoder_weights(encoder: nn.Module, source: PretrainedSource, *, strict: bool = True) -> KeyReport:
    """Load ``source``'s encoder tensors into ``encoder``.

    A tensor whose shape differs is always an error; with ``strict`` a missing or unexpected one is too,
    otherwise the matching tensors are loaded and the rest reported.
    """
    own = encoder.state_dict()
    report = KeyReport(
        matched=sorted(own.keys() & source.encoder_state.keys()),
        missing=sorted(own.keys() - source.encoder_state.keys()),
        unexpected=sorted(source.encoder_state.keys() - own.keys()),
    )
    mismatched = [
        f"{name} {tuple(source.encoder_state[name].shape)} vs {tuple(own[name].shape)}"
        for name in report.matched
        if own[name].shape != source.encoder_state[name].shape
    ]
    if mismatched or (strict and (report.missing or report.unexpected)):
        raise CheckpointError(
            f"the encoder in {source.path} does not fit the one this config builds (missing: "
            f"{report.missing or 'none'}; unexpected: {report.unexpected or 'none'}; shape pretrained vs built: "
            f"{mismatched or 'none'}); use the pretrained run's modality, data shape and encoder sections"
        )
    encoder.load_state_dict({name: source.encoder_state[name] for name in report.matched}, strict=False)
    return report
