"""Per-sample training augmentations: where they apply, their randomness, and exact resume with them on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from maskssl import load_config
from maskssl.build import build_modality
from maskssl.cli import main
from maskssl.engine.loader import EpochSampler, KeyedSamples, make_loader, next_keeping_rngs
from maskssl_image.augment import AugmentSettings, image_transform


def test_augmentations_apply_to_the_training_view_only_and_are_keyed_by_seed_epoch_and_index() -> None:
    config = load_config("image", overrides=["data.augment=[resized_crop,flip,rand_augment,random_erasing]"])
    modality = build_modality(config)
    plain, augmented = modality.build_dataset("train"), KeyedSamples(modality.build_augmented_dataset("train"), 0)
    first, again = augmented[(0, 3)][0], augmented[(0, 3)][0]
    assert first.shape == plain[3][0].shape and torch.equal(first, again)
    assert not torch.equal(first, augmented[(1, 3)][0]) and not torch.equal(first, KeyedSamples(augmented.dataset, 1)[(0, 3)][0])
    assert not torch.allclose(first, plain[3][0])
    assert torch.equal(plain[3][0], modality.build_dataset("train")[3][0])  # evaluation: no randomness


def test_reading_a_batch_leaves_the_callers_generators_as_they_were() -> None:
    modality = build_modality(load_config("image", overrides=["data.augment=[flip]"]))
    dataset = modality.build_augmented_dataset("train")
    loader, _ = make_loader(dataset, EpochSampler(len(dataset), seed=0), 4, modality.collate, 0, pin_memory=False)
    batches = iter(loader)
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    next_keeping_rngs(batches)
    assert torch.equal(torch.rand(3), expected)


def test_flip_mirrors_some_images_and_keeps_the_others() -> None:
    flip = image_transform(AugmentSettings(["flip"], (0.2, 1.0), "", 0.0), 4, False, (0.0,), (1.0,))
    images = torch.rand(32, 1, 4, 4)
    torch.manual_seed(0)
    out = [flip(image) for image in images]
    mirrored = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images)]
    kept = [torch.equal(o, i) for o, i in zip(out, images)]
    assert all(m or k for m, k in zip(mirrored, kept)) and 0 < sum(mirrored) < 32


def test_image_files_are_cropped_from_the_original_and_resized_to_the_side() -> None:
    original = Image.fromarray((np.random.default_rng(0).random((90, 60, 3)) * 255).astype("uint8"))
    crop = image_transform(AugmentSettings(["resized_crop"], (0.2, 1.0), "", 0.0), 16, True, (0.5,) * 3, (0.5,) * 3)
    plain = image_transform(None, 16, True, (0.5,) * 3, (0.5,) * 3)
    torch.manual_seed(0)
    crops = [crop(original) for _ in range(4)]
    assert all(c.shape == (3, 16, 16) for c in crops) and not torch.equal(crops[0], crops[1])
    assert plain(original).shape == (3, 16, 16) and torch.equal(plain(original), plain(original))


def test_imagefolder_pretrains_with_maes_augmentation_by_default_and_digits_without() -> None:
    folder = build_modality(load_config("image", overrides=["data.dataset=imagefolder", "data.root=x",
                                                            "data.image_size=16", "model.patch_size=4"]))
    assert folder.augment is not None and list(folder.augment.names) == ["resized_crop", "flip"]
    assert folder.augment.crop_scale == (0.2, 1.0)
    assert build_modality(load_config("image")).augment is None


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 unlabelled 20x24 photos, some at the root, some in nested folders."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    for index in range(24):
        folder = root if index % 2 else root / "trip" / "day1"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((rng.random((20, 24, 3)) * 255).astype("uint8")).save(folder / f"{index}.jpg")
    return root


def _losses(run: Path) -> list[float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [record["loss"] for record in map(json.loads, lines) if "loss" in record]


@pytest.mark.slow
def test_resume_with_augmentation_on_logs_the_same_losses(photos: Path, tmp_path: Path) -> None:
    common = ["train", "--modality", "image", "--no-progress", "data.dataset=imagefolder", f"data.root={photos}",
              "data.image_size=16", "model.patch_size=4", "encoder.depth=1", "decoder.depth=1",
              "train.batch_size=4", "train.epochs=2", "train.log_every=1", "train.ckpt_every=3"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0
    assert main([*common, "--out", str(tmp_path / "cut"), "train.max_steps=3"]) == 0
    assert main([*common, "--out", str(tmp_path / "cut"), "--resume", "train.max_steps=10"]) == 0
    whole, cut = _losses(tmp_path / "whole"), _losses(tmp_path / "cut")
    assert len(whole) == 10 and cut == whole
