"""Load a pretrained model back from a run directory or a checkpoint file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from maskssl.build import build_modality, build_model
from maskssl.config import RunConfig, from_mapping
from maskssl.engine.checkpoint import load_checkpoint, load_latest
from maskssl.errors import CheckpointError
from maskssl.interfaces import Modality
from maskssl.model import MaskedAutoencoder


@dataclass
class Pretrained:
    """A model rebuilt from a run's saved config, with its weights (or seeded random ones)."""

    config: RunConfig
    modality: Modality
    model: MaskedAutoencoder
    step: int
    checkpoint: Path | None


def load_pretrained(path: str | Path, device: torch.device, *, random_init: bool = False) -> Pretrained:
    """Rebuild the model of a run directory (newest good checkpoint) or of one checkpoint file.

    ``random_init=True`` keeps the freshly built weights (seeded by ``train.seed``): the baseline a
    pretrained encoder should beat. The model is returned in eval mode on ``device``.
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
    config = from_mapping(RunConfig, state["config"])
    modality = build_modality(config)
    torch.manual_seed(config.train.seed)
    model = build_model(modality, config)
    if not random_init:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as exc:
            raise CheckpointError(f"{checkpoint} does not match the model its config builds: {exc}") from exc
    return Pretrained(
        config=config,
        modality=modality,
        model=model.to(device).eval(),
        step=0 if random_init else int(state["step"]),
        checkpoint=None if random_init else checkpoint,
    )
