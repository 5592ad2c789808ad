"""Tensor ops of the image modality: images <-> patch tokens, MAE's per-patch normalisation, sin-cos positions."""

from maskssl_image.ops.patches import normalize_patches, patchify, unpatchify
from maskssl_image.ops.positions import sincos_pos_embed_with_cls

__all__ = ["normalize_patches", "patchify", "sincos_pos_embed_with_cls", "unpatchify"]
