"""Load a pretrained model back from a run directory or a checkpoint file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from maskssl.build import build_modality, build_model
from maskssl.checkpoints.io import check_model_matches, load_checkpoint, load_latest
from maskssl.config.run import RunConfig, from_mapping
from maskssl.config.yaml_files import load_yaml
from maskssl.errors import CheckpointError
from maskssl.interfaces import Modality
from maskssl.model import MaskedAutoencoder
from maskssl.registry import provenance


@dataclass
class Pretrained:
    """A model rebuilt from a run's saved config, with its weights (or seeded random ones)."""

    config: RunConfig
    modality: Modality
    model: MaskedAutoencoder
    step: int
    checkpoint: Path | None


def load_pretrained(
    path: str | Path, device: torch.device, *, random_init: bool = False, data_root: str | None = None
) -> Pretrained:
    """Rebuild the model of a run directory (newest good checkpoint) or of one checkpoint file.

    ``random_init=True`` keeps the freshly built weights (seeded by ``train.seed``): the baseline a
    pretrained encoder should beat. ``data_root`` replaces the run's ``data.root`` (its data folder moved;
    the data, and so every result, stay the same). The model is returned in eval mode on ``device``.
    """
    path = Path(path)
    if path.is_dir():
        found = load_latest(path)
        if found is None:
            raise CheckpointError(f"no readable checkpoint in {path}/checkpoints; train first or pass a .pt file")
        checkpoint, state = found
    elif path.is_file():
        checkpoint, state = path, load_checkpoint(path)
    else:
        raise CheckpointError(f"{path} is neither a run directory nor a checkpoint file")
    if state.get("task", "pretrain") != "pretrain":
        raise CheckpointError(
            f"{checkpoint} is a {state['task']} checkpoint; evaluation and export read pretraining runs "
            f"(a fine-tuning run's test accuracy is in its results.json)"
        )
    config, built_from = _run_config(checkpoint, state)
    if data_root is not None:
        config.data = {**config.data, "root": data_root}
    provenance.check_same_code(state.get("provenance"), config.to_dict(), checkpoint.parent.parent)
    modality = build_modality(config)
    torch.manual_seed(config.train.seed)
    model = build_model(modality, config)
    if not random_init:
        check_model_matches(state, model, checkpoint, built_from)
        model.load_state_dict(state["model"])
    return Pretrained(
        config=config,
        modality=modality,
        model=model.to(device).eval(),
        step=0 if random_init else int(state["step"]),
        checkpoint=None if random_init else checkpoint,
    )


def _run_config(checkpoint: Path, state: dict[str, Any]) -> tuple[RunConfig, str]:
    """The config of the run a checkpoint sits in (``<run>/config.yaml``), else the checkpoint's own.

    A checkpoint copied into another run (say a graph checkpoint in an image run) is an error.
    """
    saved = checkpoint.parent.parent / "config.yaml"
    if checkpoint.parent.name != "checkpoints" or not saved.is_file():
        return from_mapping(RunConfig, state["config"]), "its own config"
    values = load_yaml(saved)
    if values.get("modality") != state["modality"]:
        raise CheckpointError(
            f"{checkpoint} is a '{state['modality']}' checkpoint, but its run's {saved} is "
            f"'{values.get('modality')}': it belongs to another run"
        )
    return from_mapping(RunConfig, values), str(saved)
