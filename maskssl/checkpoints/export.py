"""Export a pretrained encoder as safetensors weights plus a small JSON file to rebuild it.

    maskssl export runs/digits --out encoder.safetensors     # writes encoder.safetensors + encoder.json

    from maskssl.checkpoints.export import load_encoder
    encoder = load_encoder("encoder.safetensors")             # the installed plugin rebuilds the module

    maskssl export runs/digits --format timm --out vit.safetensors   # a timm VisionTransformer state dict

Loading runs no pickled code: the weights are safetensors, the metadata is JSON. Formats other than
maskssl's own come from plugins (entry points in ``maskssl.exporters``): the image plugin's ``timm``
(``maskssl_image.export_timm``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save

from maskssl import registry
from maskssl.build import build_modality
from maskssl.checkpoints.pretrained import load_pretrained
from maskssl.checkpoints.sources import EXPORT_FORMAT, PretrainedSource, written_by
from maskssl.config.run import RunConfig, from_mapping
from maskssl.errors import CheckpointError, MaskSSLError, WriteError
from maskssl.interfaces import Encoder
from maskssl.utils.files import explain_os_error, write_atomic, write_text_atomic

OWN_FORMAT = "maskssl"


def formats() -> list[str]:
    """The export formats: maskssl's own, then the installed plugins' (``maskssl.exporters``)."""
    return [OWN_FORMAT, *registry.list_names("exporter")]


def export_encoder(run: str | Path, out: str | Path, format: str = OWN_FORMAT) -> tuple[Path, Path]:  # noqa: A002
    """Write the encoder of a run directory or checkpoint to ``out`` (.safetensors) and its .json beside it.

    ``format="maskssl"``: the encoder's own state dict, rebuilt by ``load_encoder``; the JSON's
    "rebuild" entry names the plugin, the class and its constructor kwargs. Another format is the
    exporter registered under that name: ``format="timm"`` (ViT image encoders only) writes a timm
    ``VisionTransformer`` state dict, the JSON's "timm" entry gives the constructor kwargs and the Python
    that loads it.
    """
    if format not in formats():
        raise MaskSSLError(f"unknown export format '{format}'; choose one of: {', '.join(formats())}")
    pretrained = load_pretrained(run, torch.device("cpu"))
    config, encoder = pretrained.config, pretrained.model.encoder
    weights = Path(out).with_suffix(".safetensors")
    meta = weights.with_suffix(".json")
    if meta != Path(out) and meta.exists() and not _is_export_metadata(meta):
        raise MaskSSLError(
            f"{meta} exists and is not the metadata of a maskssl export: exporting to {weights} would replace it "
            f"(the metadata goes beside the weights); choose another --out or move that file"
        )
    info: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "modality": config.modality,
        "encoder": config.encoder["name"],
        "embed_dim": encoder.embed_dim,
        "step": pretrained.step,
        "config": config.to_dict(),
    }
    if format != OWN_FORMAT:
        exporter = registry.get("exporter", format)()
        dataset = str(getattr(pretrained.modality.data, "dataset", None))
        tensors, info[format] = exporter.export(encoder, info["encoder"], config.modality, dataset, weights, meta)
        info["format"] = exporter.format_id
    else:
        tensors = {name: t.detach().contiguous() for name, t in encoder.state_dict().items()}
        info["rebuild"] = _rebuild_info(encoder, config.modality, config.encoder["name"], weights)
    try:
        weights.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{explain_os_error(exc, weights.parent)}; pass another --out") from exc
    data = save(tensors, metadata={"format": info["format"]})
    write_atomic(weights, lambda handle: handle.write(data), needed_bytes=len(data))
    write_text_atomic(meta, json.dumps(info, indent=2, default=list))
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


def _is_export_metadata(meta: Path) -> bool:
    """Whether ``meta`` is the JSON an earlier export wrote (maskssl's format or an installed exporter's)."""
    try:
        return written_by(json.loads(meta.read_text())) is not None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False


def _rebuild_info(encoder: Encoder, modality: str, name: str, weights: Path) -> dict[str, Any]:
    """How to rebuild the module: the plugin that provides it, its class, and the Python that loads it
    (the modality builds the class from "config" above, injecting what it reads off the data)."""
    entry = registry.entries("encoder").get(name)
    return {
        "distribution": entry.distribution if entry else "unknown",
        "version": entry.version if entry else "",
        "class": f"{type(encoder).__module__}:{type(encoder).__qualname__}",
        "built_by": f"the '{modality}' modality's build_encoder(config['encoder'])",
        "python": f"from maskssl.checkpoints.export import load_encoder; encoder = load_encoder('{weights}')",
    }
