"""The image modality's ViT encoder as a timm ``VisionTransformer`` state dict (``maskssl export --format timm``).

    maskssl export runs/digits --format timm --out vit.safetensors     # vit.safetensors + vit.json

    import json
    from safetensors.torch import load_file
    from timm.models.vision_transformer import VisionTransformer
    kwargs = json.load(open("vit.json"))["timm"]["kwargs"]
    model = VisionTransformer(**kwargs, num_classes=10)
    model.load_state_dict(load_file("vit.safetensors"), strict=False)    # missing: head.weight, head.bias only

The keys are already timm's (``ViTEncoder`` is built from timm's PatchEmbed and Block); the export adds
the fixed 2-D sin-cos ``pos_embed`` (a non-persistent buffer in maskssl) as a tensor, so that
``model.forward_features(images)`` equals the maskssl encoder's ``encoder(tokens, None).latent``.
timm is imported only inside functions (it takes seconds to import). ``TimmExporter`` is the image plugin's
entry point in ``maskssl.exporters``, through which the core's ``maskssl export --format timm`` finds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

from maskssl.errors import CheckpointError, MaskSSLError

TIMM_FORMAT = "maskssl-timm-vit-v1"
TIMM_ENCODERS = ("vit",)
POOLS = {"cls": "token", "mean": "avg"}  # ViTEncoder.pool -> VisionTransformer global_pool


def check_timm_exportable(encoder: nn.Module, encoder_name: str, modality: str) -> None:
    """Raise MaskSSLError unless the run's encoder is one timm can rebuild (the image plugin's ViT)."""
    parts = ("patch_embed", "cls_token", "pos_embed", "blocks", "norm", "pool")
    if encoder_name not in TIMM_ENCODERS or not all(hasattr(encoder, part) for part in parts):
        raise MaskSSLError(
            f"--format timm exports ViT image encoders (encoder.name=vit); this run's encoder is {encoder_name} "
            f"({type(encoder).__name__}, modality {modality}): use --format maskssl"
        )


def timm_state_dict(encoder: nn.Module) -> dict[str, Tensor]:
    """The encoder's weights under timm's names.

    patch_embed.proj.weight [D, C, p, p] and .bias [D]; cls_token [1, 1, D]; pos_embed [1, 1+L, D]
    (the fixed sin-cos values, row 0 is zero, for [CLS]); blocks.{i}.* ; norm.weight and norm.bias [D].
    """
    state = {name: tensor.detach().contiguous() for name, tensor in encoder.state_dict().items()}
    state["pos_embed"] = cast(Tensor, encoder.pos_embed).detach().clone().contiguous()
    return state


def timm_kwargs(encoder: nn.Module) -> dict[str, Any]:
    """``VisionTransformer`` constructor arguments that rebuild ``encoder``'s architecture, read off the module.

    norm_layer is not passed: VisionTransformer's default is LayerNorm with eps 1e-6, as ViTEncoder's.
    """
    # the image plugin's ViTEncoder (not importable here): nn.Module types its submodules as Tensor | Module
    vit: Any = encoder
    embed = vit.patch_embed
    block = vit.blocks[0]
    height, width = embed.img_size
    dim = vit.embed_dim
    return {
        "img_size": height if height == width else [height, width],
        "patch_size": embed.patch_size[0],
        "in_chans": embed.proj.in_channels,
        "embed_dim": dim,
        "depth": len(vit.blocks),
        "num_heads": block.attn.num_heads,
        "mlp_ratio": block.mlp.fc1.out_features / dim,
        "qkv_bias": block.attn.qkv.bias is not None,
        "class_token": True,
        "global_pool": POOLS[vit.pool],
        "fc_norm": False,  # the final norm acts on every token before pooling, as in ViTEncoder
    }


def check_loads_in_timm(state: dict[str, Tensor], kwargs: dict[str, Any]) -> None:
    """Build the timm model on the meta device (no memory, no init cost) and load ``state`` into it.

    Raises CheckpointError if a key is missing or unexpected (besides the head) or a shape differs.
    """
    from timm.models.vision_transformer import VisionTransformer

    with torch.device("meta"):
        model = VisionTransformer(**kwargs, num_classes=0)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as exc:
        raise CheckpointError(f"the encoder does not fit timm's VisionTransformer({kwargs}): {exc}") from exc
    if missing or unexpected:
        raise CheckpointError(
            f"the encoder does not fit timm's VisionTransformer({kwargs}): missing {missing}, unexpected {unexpected}"
        )


def timm_export(
    encoder: nn.Module, encoder_name: str, modality: str, dataset: str, weights: Path, meta: Path
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(timm state dict, the JSON "timm" entry) of a ViT encoder; MaskSSLError for any other encoder."""
    check_timm_exportable(encoder, encoder_name, modality)
    state, kwargs = timm_state_dict(encoder), timm_kwargs(encoder)
    check_loads_in_timm(state, kwargs)
    return state, timm_info(kwargs, weights, meta, dataset)


def timm_info(kwargs: dict[str, Any], weights: Path, meta: Path, dataset: str) -> dict[str, Any]:
    """The JSON ``timm`` entry: constructor kwargs, the Python that loads the weights, what comes out."""
    python = (
        "import json; from safetensors.torch import load_file; "
        "from timm.models.vision_transformer import VisionTransformer; "
        f"kwargs = json.load(open('{meta}'))['timm']['kwargs']; "
        "model = VisionTransformer(**kwargs, num_classes=NUM_CLASSES); "
        f"missing, unexpected = model.load_state_dict(load_file('{weights}'), strict=False)"
    )
    return {
        "class": "timm.models.vision_transformer:VisionTransformer",
        "kwargs": kwargs,
        "norm_layer": "LayerNorm eps=1e-6, VisionTransformer's default: do not pass norm_layer",
        "python": python,
        "missing_keys": ["head.weight", "head.bias"],
        "missing_keys_note": "with num_classes=0 the head is nn.Identity and no key is missing",
        "features": "model.forward_features(images [B, C, H, W]) -> [B, 1+L, D]; row 0 is [CLS]; "
                    "equals the maskssl encoder's encoder(tokens, None).latent",
        "inputs": f"images normalised as in pretraining: per-channel mean/std of data.dataset={dataset} "
                  "(maskssl_image.data.datasets.STATS)",
    }


class TimmExporter:
    """The ``timm`` export format (entry point ``maskssl.exporters``: ``timm``) for ``maskssl export``."""

    format_id: ClassVar[str] = TIMM_FORMAT

    def export(
        self, encoder: nn.Module, encoder_name: str, modality: str, dataset: str, weights: Path, meta: Path
    ) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """(timm state dict, the JSON ``timm`` entry); MaskSSLError for an encoder timm cannot rebuild."""
        return timm_export(encoder, encoder_name, modality, dataset, weights, meta)

    def describe(self, weights: Path, meta: Path, info: dict[str, Any]) -> str:
        """What was written and the Python that loads it (the CLI prints it)."""
        return (
            f"timm ViT weights written to {weights} (metadata: {meta}); load them with\n"
            f"    {info['python']}\n"
            f"(set NUM_CLASSES; only head.weight and head.bias are missing, none with num_classes=0)"
        )
