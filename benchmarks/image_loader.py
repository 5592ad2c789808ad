"""Can maskssl's image loader keep a GPU fed? Loader images/s next to train-step images/s.

    python benchmarks/image_loader.py                    # 256 synthetic JPEGs, workers 1 and 2
    python benchmarks/image_loader.py --folder photos/   # your own images instead

The script writes a folder of synthetic JPEGs itself (500 x 375, ImageNet's typical size; smooth noise
so they compress like photos; nothing is downloaded) and times:

- the training loader as ``maskssl train`` builds it (imagefolder at 224 px, MAE's augmentation
  [resized_crop, flip], PIL decoding, per-sample keyed randomness, batch 64) with 1 and 2 workers;
- decoding + augmenting in one process with PIL and with torchvision.io (libjpeg-turbo; deprecated from
  torchvision 0.29, which is why maskssl decodes with PIL): the per-core cost of each;
- the MAE ViT-B/16 pretraining step (configs/image/imagenet_vit_base_mae.yaml, fp32, batch 64) on this
  machine, through benchmarks/image_throughput.py;
- and, as the rate a GPU would ask for, MAE ViT-B pretraining on an RTX A6000: 128 images per GPU in
  0.4084 s per iteration = 313 images/s (ConvMAE authors' measurement of MAE,
  https://github.com/Alpha-VL/ConvMAE/issues/5). The last column says how many loader workers of this
  machine's speed that GPU needs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from compare.machine import machine
from image_throughput import measure
from maskssl.build import build_modality
from maskssl.config.load import load_config
from maskssl.engine.loader import EpochSampler, make_loader
from maskssl_image.data.files import load_rgb

REPO = Path(__file__).resolve().parents[1]
GPU_IMAGES_PER_S = 128 / 0.4084
"""MAE ViT-B/16 pretraining, one RTX A6000, batch 128 (ConvMAE issue #5)."""


def write_jpegs(folder: Path, count: int) -> None:
    """``count`` 500 x 375 JPEGs (quality 90) of upsampled noise, under two class folders."""
    rng = np.random.default_rng(0)
    for index in range(count):
        small = (rng.random((47, 63, 3)) * 255).astype("uint8")
        path = folder / f"class{index % 2}" / f"{index:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(small).resize((500, 375), Image.BICUBIC).save(path, quality=90)


def loader_rate(folder: Path, workers: int, batch_size: int, batches: int) -> float:
    """images/s of maskssl's training loader over ``batches`` batches (after one warm-up batch)."""
    config = load_config("image", overrides=[
        "data.dataset=imagefolder", f"data.root={folder}", "data.image_size=224", "data.test_fraction=0",
        "data.augment=[resized_crop,flip]", "model.patch_size=16",
    ])
    dataset = build_modality(config).build_augmented_dataset("train")
    sampler = EpochSampler(len(dataset), seed=0)
    loader, _ = make_loader(dataset, sampler, batch_size, torch.utils.data.default_collate, workers, pin_memory=False)
    iterator = iter(loader)
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def decode_rates(folder: Path, count: int) -> dict[str, float]:
    """images/s of decode + MAE augmentation in this process, PIL vs torchvision.io."""
    from torchvision.io import ImageReadMode, decode_jpeg, read_file
    from torchvision.transforms import InterpolationMode, v2

    files = sorted(folder.rglob("*.jpg"))[:count]
    augment = v2.Compose([
        v2.RandomResizedCrop(224, scale=(0.2, 1.0), interpolation=InterpolationMode.BICUBIC, antialias=True),
        v2.RandomHorizontalFlip(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
    ])
    decoders = {
        "PIL": load_rgb,
        "torchvision.io": lambda path: decode_jpeg(read_file(str(path)), mode=ImageReadMode.RGB),
    }
    rates = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision.io's deprecation notice
        for name, decode in decoders.items():
            start = time.perf_counter()
            for path in files:
                augment(decode(path))
            rates[name] = len(files) / (time.perf_counter() - start)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, help="images to read (default: synthetic JPEGs in a temporary folder)")
    parser.add_argument("--images", type=int, default=512, help="synthetic JPEGs to write")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=6, help="timed loader batches per row")
    parser.add_argument("--train-steps", type=int, default=2, help="timed ViT-B/16 steps")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        if args.folder is None:
            write_jpegs(folder, args.images)
        rows = [(f"loader, {w} worker{'s' * (w > 1)} (PIL, MAE augmentation)", loader_rate(
            folder, w, args.batch_size, args.batches)) for w in (1, 2)]
        rows += [(f"decode + augment, 1 process, {name}", rate) for name, rate in decode_rates(folder, 128).items()]
    step = measure(REPO / "configs/image/imagenet_vit_base_mae.yaml", [], args.batch_size, args.train_steps,
                   torch.device("cpu"))
    print(f"{machine()}; batch {args.batch_size}, 224 px")
    header = f"{'what':<52} {'images/s':>9} {'workers for an A6000':>21}"
    print(header + "\n" + "-" * len(header))
    per_worker = rows[0][1]
    for name, rate in rows:
        print(f"{name:<52} {rate:>9.1f}")
    print(f"{'MAE ViT-B/16 train step on this CPU (fp32)':<52} {step['images_per_s']:>9.1f}")
    print(f"{'MAE ViT-B/16 train step, RTX A6000 (ConvMAE #5)':<52} {GPU_IMAGES_PER_S:>9.1f} "
          f"{GPU_IMAGES_PER_S / per_worker:>21.1f}")


if __name__ == "__main__":
    main()
