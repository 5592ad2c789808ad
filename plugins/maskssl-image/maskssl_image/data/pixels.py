"""Any image a folder can hold, as 8-bit RGB: what each PIL mode needs, and the modes refused.

    1, L, P, RGB, CMYK, YCbCr       PIL's own conversion (P with a transparency entry through RGBA)
    LA, PA, RGBA                    the colour channels; the alpha channel is dropped, as torchvision's ImageFolder does
    I;16 (16-bit grey PNG / TIFF)   v * 255 / 65535, rounded: 65535 is white (``convert("RGB")`` would clip
                                    every value above 255 to white)
    I (32-bit integer)              as 16-bit when every value lies in [0, 65535]; otherwise refused
    F (32-bit float)                v * 255 when every value lies in [0, 1]; otherwise refused
A refused image is a DataError naming the file, its mode and its value range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from maskssl.errors import DataError

SIXTEEN_BIT_MAX = 65535


def to_rgb(image: Image.Image, path: Path) -> Image.Image:
    """``image`` (any mode) as an 8-bit RGB image; DataError naming ``path`` when its values cannot be scaled."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        return Image.fromarray(_to_8_bit(np.asarray(image), mode, path)).convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # PIL's palette transparency is only read through RGBA
    try:
        return image.convert("RGB")
    except ValueError as exc:
        raise DataError(f"image {path} has PIL mode {mode}, which cannot be converted to RGB ({exc}); "
                        f"save it as 8-bit RGB or greyscale") from exc


def _to_8_bit(values: np.ndarray, mode: str, path: Path) -> np.ndarray:
    """Pixels of a high-bit-depth grey image [H, W] -> uint8 [H, W] by the module docstring's rules."""
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if mode == "F":
        if not (np.isfinite(values).all() and 0.0 <= low and high <= 1.0):
            raise DataError(f"image {path} has float pixels (PIL mode F) in [{low:g}, {high:g}], not in [0, 1]: "
                            f"maskssl cannot know which value is white; save it scaled to [0, 1], or as 8 or 16 bits")
        return np.rint(values.astype(np.float64) * 255).astype(np.uint8)
    if low < 0 or high > SIXTEEN_BIT_MAX:
        raise DataError(f"image {path} has 32-bit integer pixels (PIL mode {mode}) in [{low:g}, {high:g}], outside "
                        f"the 16-bit range [0, 65535]: maskssl cannot know which value is white; save it as 8 or 16 bits")
    return np.rint(values.astype(np.float64) * (255 / SIXTEEN_BIT_MAX)).astype(np.uint8)
