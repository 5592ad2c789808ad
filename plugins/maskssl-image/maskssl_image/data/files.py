"""The user's own images (``data.dataset=imagefolder``): any folder tree of image files, or a list of paths.

    data.root=photos/             every image under photos/, recursively. Files in a sub-folder take the
                                  name of their top-level sub-folder as class (photos/cat/x/1.jpg: "cat");
                                  without class sub-folders the set is unlabelled.
    data.root=photos/ with photos/train/ and photos/test/ (or photos/val/): those folders are the splits.
    data.root=list.txt            one image path per line (relative to the list's folder), optionally
                                  followed by a tab and a class name; blank lines and # comments skipped.

Without train/ and test/ folders a seeded, stratified share ``data.test_fraction`` is held out for
evaluation (``maskssl.data.holdout``): the evaluation never scores the images it was fit on. Images at the
root next to class folders are kept, and then the whole set is unlabelled (its classes would be partial).
Files that are not images (by suffix) and hidden files are counted and reported, never silently dropped.
Linked folders are followed (a link back into the folders being walked is skipped, with a note); a dangling
link is an error naming it. Every PIL mode is read as 8-bit RGB, 16-bit images scaled (``pixels``).
Files are decoded by PIL (libjpeg-turbo for JPEGs). torchvision.io decodes JPEGs faster here
(benchmarks/image_loader.py measures both) but is deprecated from torchvision 0.29, so it is not used.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from torch.utils.data import Dataset

from maskssl.data.holdout import describe_held_out, held_out_indices
from maskssl.errors import DataError
from maskssl_image.augment import ImageTransform
from maskssl_image.data.pixels import to_rgb

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})
LAYOUT = (
    "set data.root to a folder of images (jpg, png ...; class sub-folders optional, train/ and test/ "
    "sub-folders optional) or to a text file listing one image path per line"
)


@dataclass
class ImageListing:
    """The image files of a root, their labels (None: unlabelled) and what was left out, and why."""

    files: list[Path]
    labels: list[int | None]
    classes: list[str]
    ignored: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)


class ImageFiles(Dataset):
    """(pixels float32 [3, side, side], label int or None) of image files, decoded as RGB when read."""

    def __init__(self, files: list[Path], labels: list[int | None], classes: list[str], transform: ImageTransform):
        self.files, self.labels, self.classes, self.transform = files, labels, classes, transform

    @property
    def targets(self) -> list[int | None]:
        return self.labels

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[object, int | None]:
        return self.transform(load_rgb(self.files[index])), self.labels[index]


def load_rgb(path: Path) -> Image.Image:
    """An image file as 8-bit RGB (any PIL mode, ``pixels.to_rgb``); DataError naming an unreadable file."""
    try:
        with Image.open(path) as image:
            return to_rgb(image, path)
    except OSError as exc:  # PIL's UnidentifiedImageError and truncated files are OSErrors
        raise DataError(f"cannot read image {path} ({exc}); replace or remove the file") from exc


def image_files(
    root: Path, split: str, transform: ImageTransform, test_fraction: float, split_seed: int, report: bool
) -> ImageFiles:
    """The ``split`` ("train" / "test") of the images under ``root``; ``report`` prints what was found."""
    folders = _split_folders(root)
    if folders is not None:
        listing = _split_folder(folders, split)
        kept = list(range(len(listing.files)))
        note = f"split folder {folders[split]}"
    else:
        listing = list_images(root)
        kept = held_out_indices(listing.labels, test_fraction, split_seed, split)
        test_size = len(held_out_indices(listing.labels, test_fraction, split_seed, "test"))
        note = describe_held_out(
            len(listing.files), test_size, test_fraction, split_seed, "image", labelled=bool(listing.classes)
        )
        if not kept:
            raise DataError(
                f"the {split} split of {root} is empty ({note}); raise data.test_fraction or add "
                f"{root}/train and {root}/test folders"
            )
    if report:
        print(f"maskssl: imagefolder {describe(listing, root if folders is None else folders[split])}; "
              f"{split}: {len(kept)} images ({note})", file=sys.stderr, flush=True)
    return ImageFiles([listing.files[i] for i in kept], [listing.labels[i] for i in kept], listing.classes, transform)


def _split_folders(root: Path) -> dict[str, Path] | None:
    """{"train": root/train, "test": root/test or root/val} when root has both folders, else None."""
    test = next((root / name for name in ("test", "val") if (root / name).is_dir()), None)
    return {"train": root / "train", "test": test} if (root / "train").is_dir() and test is not None else None


def _split_folder(folders: dict[str, Path], split: str) -> ImageListing:
    """The listing of the split's folder, its labels indexing the classes of both folders together."""
    listings = {name: list_images(folder) for name, folder in folders.items()}
    classes = sorted(set(listings["train"].classes) | set(listings["test"].classes))
    listing = listings[split]
    listing.labels = [None if label is None else classes.index(listing.classes[label]) for label in listing.labels]
    listing.classes = classes if listing.classes else []
    return listing


def list_images(root: Path) -> ImageListing:
    """Every image file of a folder tree (sorted), or of a list file; DataError when there is none."""
    if root.is_file():
        listing = _listed(root)
    elif root.is_dir():
        listing = _walked(root)
    else:
        raise DataError(f"data.root {root} does not exist: {LAYOUT}")
    if not listing.files:
        ignored = ", ".join(f"{count} {reason}" for reason, count in sorted(listing.ignored.items()))
        raise DataError(f"no images found in {root}" + (f" (ignored: {ignored})" if ignored else "") + f": {LAYOUT}")
    return listing


def describe(listing: ImageListing, root: Path) -> str:
    """``/photos: 40 images, 2 classes (a, b), ignored 3 (.txt 2, hidden 1)`` and the listing's notes."""
    shown = ", ".join(listing.classes[:8]) + (", ..." if len(listing.classes) > 8 else "")
    labelled = f"{len(listing.classes)} classes ({shown})"
    text = f"{root}: {len(listing.files)} images, " + (labelled if listing.classes else "unlabelled")
    if listing.ignored:
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(listing.ignored.items()))
        text += f", ignored {sum(listing.ignored.values())} other files ({reasons})"
    return "; ".join([text, *listing.notes])


def _walked(root: Path) -> ImageListing:
    """The image files under ``root``, following linked folders as torchvision's ImageFolder does; a link back
    to a folder being walked (a loop) is skipped with a note, a dangling link is a DataError naming it."""
    files: list[Path] = []
    ignored: Counter[str] = Counter()
    notes: list[str] = []
    dangling: list[str] = []
    for folder, subfolders, names in os.walk(root, followlinks=True):
        here = Path(folder)
        walking = {here.resolve(), *here.resolve().parents}
        kept = []
        for name in sorted(subfolders):
            if name.startswith("."):
                continue
            if (here / name).is_symlink() and (here / name).resolve() in walking:
                notes.append(f"skipped {here / name}: a link back to {(here / name).resolve()}, a loop")
            else:
                kept.append(name)
        subfolders[:] = kept
        for name in sorted(names):
            path = here / name
            if path.is_symlink() and not path.exists():
                dangling.append(f"{path} -> {os.readlink(path)}")
            elif name.startswith("."):
                ignored["hidden"] += 1
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                files.append(path)
            else:
                ignored[path.suffix.lower() or "no suffix"] += 1
    if dangling:
        shown = "; ".join(dangling[:5]) + ("; ..." if len(dangling) > 5 else "")
        raise DataError(f"{len(dangling)} symbolic link(s) under {root} point to nothing ({shown}): restore their "
                        f"targets or remove the links")
    class_names = [path.relative_to(root).parts[0] if path.parent != root else None for path in files]
    listing = _labelled(files, class_names, ignored, f"{root}")
    listing.notes.extend(notes)
    return listing


def _listed(list_file: Path) -> ImageListing:
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the image list {list_file} ({exc}): {LAYOUT}") from exc
    files: list[Path] = []
    class_names: list[str | None] = []
    missing: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, label = line.partition("\t")
        path = (list_file.parent / name.strip()).resolve()
        if not path.is_file():
            missing.append(f"line {number}: {name.strip()}")
        files.append(path)
        class_names.append(label.strip() or None)
    if missing:
        shown = "; ".join(missing[:5]) + ("; ..." if len(missing) > 5 else "")
        raise DataError(f"{len(missing)} image(s) listed in {list_file} do not exist ({shown}); fix the paths "
                        f"(relative to {list_file.parent}) or remove the lines")
    return _labelled(files, class_names, Counter(), str(list_file))


def _labelled(files: list[Path], class_names: list[str | None], ignored: Counter[str], source: str) -> ImageListing:
    """Labels 0..n-1 by sorted class name; all None when any file has no class (partial classes)."""
    named = sorted({name for name in class_names if name is not None})
    unnamed = sum(name is None for name in class_names)
    if not named or unnamed:
        notes = [f"{unnamed} images have no class and {len(files) - unnamed} do: the set is used unlabelled"] if (
            named and unnamed) else []
        return ImageListing(files, [None] * len(files), [], ignored, notes)
    index = {name: i for i, name in enumerate(named)}
    return ImageListing(files, [index[name] for name in class_names if name is not None], named, ignored)
