"""maskssl-image: the image modality plugin of maskssl (MAE / U-MAE on images).

    maskssl train --modality image                             # digits, CPU, minutes
    maskssl train --config configs/image/cifar10_vit_tiny_umae.yaml
"""

from maskssl_image.config import ImageDataConfig, ImageModelConfig
from maskssl_image.data.datasets import ArrayImageDataset, build_image_dataset, read_idx
from maskssl_image.decoder import MAEDecoder
from maskssl_image.encoder import ViTEncoder
from maskssl_image.maskers import BlockMasker
from maskssl_image.modality import ImageModality
from maskssl_image.ops.patches import normalize_patches, patchify, unpatchify

__version__ = "0.1.0"

__all__ = [
    "ArrayImageDataset",
    "BlockMasker",
    "ImageDataConfig",
    "ImageModality",
    "ImageModelConfig",
    "MAEDecoder",
    "ViTEncoder",
    "build_image_dataset",
    "normalize_patches",
    "patchify",
    "read_idx",
    "unpatchify",
]
