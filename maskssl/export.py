"""Export a pretrained encoder as safetensors weights plus a small JSON file to rebuild it.

    maskssl export runs/digits --out encoder.safetensors     # writes encoder.safetensors + encoder.json

    from maskssl.export import load_encoder
    encoder = load_encoder("encoder.safetensors")             # the installed plugin rebuilds the module

Loading runs no pickled code: the weights are safetensors, the metadata is JSON.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import save_file

from maskssl.build import build_modality
from maskssl.config import RunConfig, from_mapping
from maskssl.errors import CheckpointError
from maskssl.eval.pretrained import load_pretrained
from maskssl.weights import EXPORT_FORMAT, PretrainedSource
from maskssl.interfaces import Encoder



def export_encoder(run: str | Path, out: str | Path) -> tuple[Path, Path]:
    """Write the encoder of a run directory or checkpoint to ``out`` (.safetensors) and its .json beside it."""
    pretrained = load_pretrained(run, torch.device("cpu"))
    weights = Path(out).with_suffix(".safetensors")
    meta = weights.with_suffix(".json")
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {name: t.detach().contiguous() for name, t in pretrained.model.encoder.state_dict().items()}
    _atomic(weights, lambda tmp: save_file(tensors, str(tmp), metadata={"format": EXPORT_FORMAT}))
    info = {
        "format": EXPORT_FORMAT,
        "modality": pretrained.config.modality,
        "encoder": pretrained.config.encoder["name"],
        "embed_dim": pretrained.model.encoder.embed_dim,
        "step": pretrained.step,
        "config": pretrained.config.to_dict(),
    }
    _atomic(meta, lambda tmp: tmp.write_text(json.dumps(info, indent=2, default=list)))
    return weights, meta


def load_encoder(path: str | Path, device: torch.device | str = "cpu") -> Encoder:
    """Rebuild an exported encoder (its modality plugin must be installed) and load its weights."""
    source = PretrainedSource.open(Path(path).with_suffix(".safetensors"))
    config = from_mapping(RunConfig, source.config)
    encoder = build_modality(config).build_encoder(dict(config.encoder))
    try:
        encoder.load_state_dict(source.encoder_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{source.path} does not match the encoder its JSON describes: {exc}") from exc
    return encoder.to(device).eval()


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Write through a temporary file and rename, so ``path`` is never half written."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
