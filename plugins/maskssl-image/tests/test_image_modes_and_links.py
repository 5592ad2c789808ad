"""Every PIL mode a folder can hold is read as the right 8-bit RGB (16-bit images scaled, not clipped to white),
and linked class folders are followed as torchvision's ImageFolder follows them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from maskssl.errors import DataError
from maskssl_image.data.datasets import build_image_dataset
from maskssl_image.data.files import list_images, load_rgb

GREY = np.array([[0, 64], [128, 255]], dtype=np.uint8)  # a 2x2 ramp, 8 bits


def _written(tmp_path: Path, image: Image.Image, name: str, **save: object) -> Path:
    path = tmp_path / name
    image.save(path, **save)
    return path


@pytest.mark.parametrize(("mode", "suffix"), [("1", ".png"), ("L", ".png"), ("LA", ".png"), ("RGBA", ".png"),
                                                ("CMYK", ".jpg"), ("P", ".png")])
def test_8_bit_modes_read_as_their_rgb(tmp_path: Path, mode: str, suffix: str) -> None:
    source = Image.fromarray(GREY).convert(mode)
    path = _written(tmp_path, source, f"x{suffix}", **({"quality": 100} if suffix == ".jpg" else {}))
    pixels = np.asarray(load_rgb(path))
    expected = np.asarray(source.convert("RGB"))
    assert pixels.shape == (2, 2, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - expected.astype(int)).max() <= (2 if suffix == ".jpg" else 0)


def test_a_palette_image_with_transparency_reads_its_colours(tmp_path: Path) -> None:
    palette = Image.new("P", (2, 1))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.putpixel((1, 0), 1)
    path = _written(tmp_path, palette, "p.png", transparency=0)
    assert Image.open(path).mode == "P" and "transparency" in Image.open(path).info
    assert np.asarray(load_rgb(path)).tolist() == [[[255, 0, 0], [0, 0, 255]]]


def test_a_16_bit_grey_png_is_scaled_not_clipped_to_white(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 64], [257 * 128, 65535]], dtype=np.uint16)
    path = _written(tmp_path, Image.fromarray(values), "deep.png")
    assert Image.open(path).mode == "I;16"
    assert (np.asarray(Image.open(path).convert("RGB")) == 255).mean() == 0.75  # what convert("RGB") did: white
    assert np.asarray(load_rgb(path))[..., 0].tolist() == GREY.tolist()


def test_32_bit_integer_and_float_pixels_are_scaled_in_range_and_refused_outside_it(tmp_path: Path) -> None:
    in_16_bit = _written(tmp_path, Image.fromarray((GREY.astype(np.int32) * 257)), "i.tiff")
    assert Image.open(in_16_bit).mode == "I" and np.asarray(load_rgb(in_16_bit))[..., 0].tolist() == GREY.tolist()
    unit = _written(tmp_path, Image.fromarray(GREY.astype(np.float32) / 255), "f.tiff")
    assert Image.open(unit).mode == "F" and np.asarray(load_rgb(unit))[..., 0].tolist() == GREY.tolist()
    wide = _written(tmp_path, Image.fromarray(np.full((2, 2), 70000, dtype=np.int32)), "wide.tiff")
    with pytest.raises(DataError, match=r"wide.tiff has 32-bit integer pixels \(PIL mode I\) in \[70000, 70000\]"):
        load_rgb(wide)
    hdr = _written(tmp_path, Image.fromarray(np.full((2, 2), 3.5, dtype=np.float32)), "hdr.tiff")
    with pytest.raises(DataError, match=r"hdr.tiff has float pixels \(PIL mode F\) in \[3.5, 3.5\], not in \[0, 1\]"):
        load_rgb(hdr)


def _tree(tmp_path: Path) -> Path:
    """root/ with a real class folder c/ and linked class folders a -> elsewhere/a, b -> elsewhere/b."""
    for folder, count in (("elsewhere/a", 3), ("elsewhere/b", 3), ("root/c", 3)):
        (tmp_path / folder).mkdir(parents=True)
        for index in range(count):
            Image.fromarray(GREY).save(tmp_path / folder / f"{index}.png")
    for name in ("a", "b"):
        os.symlink(tmp_path / "elsewhere" / name, tmp_path / "root" / name)
    return tmp_path / "root"


def test_linked_class_folders_are_followed(tmp_path: Path) -> None:
    listing = list_images(_tree(tmp_path))
    assert listing.classes == ["a", "b", "c"] and len(listing.files) == 9
    assert sorted(listing.labels) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    train = build_image_dataset("imagefolder", "train", root=tmp_path / "root", image_size=2, test_fraction=0.34)
    assert len(train) == 6 and {label for _, label in train} == {0, 1, 2}


def test_a_link_loop_is_skipped_with_a_note_and_a_dangling_link_is_named(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.symlink(root, root / "c" / "again")
    listing = list_images(root)
    assert len(listing.files) == 9 and any("a link back to" in note and "a loop" in note for note in listing.notes)
    os.symlink(tmp_path / "gone", root / "d")
    with pytest.raises(DataError, match=r"1 symbolic link\(s\) under .*root point to nothing \(.*root/d -> .*gone\)"):
        list_images(root)
