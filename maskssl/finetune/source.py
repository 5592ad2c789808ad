"""Where a pretrained encoder comes from: a run directory, one of its checkpoints, or an export.

    PretrainedSource.open("runs/digits")                      # newest good checkpoint of the run
    PretrainedSource.open("runs/digits/checkpoints/step_00000550.pt")
    PretrainedSource.open("encoder.safetensors")              # maskssl export (the .json beside it)

All three give the same thing: the pretraining config (as a dict) and the encoder's weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import Tensor

from maskssl.engine.checkpoint import load_checkpoint, load_latest
from maskssl.errors import CheckpointError

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
        if not isinstance(info, dict) or info.get("format") != EXPORT_FORMAT:
            raise CheckpointError(f"{meta} is not a maskssl encoder export (expected format {EXPORT_FORMAT})")
        try:
            encoder_state = load_file(str(weights))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{weights} is not a readable safetensors file ({exc})") from exc
        return cls(path=path, config=info["config"], encoder_state=encoder_state, step=int(info.get("step", 0)))
