"""Image datasets from local files only: the named sets (digits, MNIST, CIFAR-10) and the user's own folders."""

from maskssl_image.data.datasets import SHAPES, STATS, ArrayImageDataset, build_image_dataset, read_idx
from maskssl_image.data.files import ImageFiles, ImageListing, image_files, list_images

__all__ = [
    "SHAPES",
    "STATS",
    "ArrayImageDataset",
    "ImageFiles",
    "ImageListing",
    "build_image_dataset",
    "image_files",
    "list_images",
    "read_idx",
]
