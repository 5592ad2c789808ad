"""``maskssl data check``: read every sample of a run's datasets once and list the ones that fail.

A file that cannot be read (a truncated JPEG, a zero-byte file, a cloud with NaN coordinates) would
otherwise stop a run mid-epoch; scanning first names all of them at once, with their paths.
"""

from __future__ import annotations

import sys
from collections.abc import Sized
from dataclasses import dataclass, field
from typing import Any, cast

from torch.utils.data import DataLoader, Dataset, Subset

from maskssl.errors import DataError


@dataclass
class SplitScan:
    """What reading every sample of one split gave: how many, and (index, error) of each failure."""

    split: str
    samples: int
    failures: list[tuple[int, str]] = field(default_factory=list)


class _Guarded(Dataset):
    """``dataset[i]`` -> None when it loads, else the error it raised as one line."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(cast(Sized, self.dataset))

    def __getitem__(self, index: int) -> str | None:
        try:
            self.dataset[index]
        except Exception as exc:  # every failure is a finding, whatever raised it
            return f"{type(exc).__name__}: {exc}".splitlines()[0]
        return None


def scan(dataset: Dataset, split: str, workers: int = 0) -> SplitScan:
    """Load every sample of ``dataset`` (in ``workers`` loader processes); collect the failures."""
    guarded = _Guarded(dataset)
    loader = DataLoader(guarded, batch_size=None, num_workers=workers, collate_fn=_identity)
    failures = [(index, error) for index, error in enumerate(loader) if error is not None]
    return SplitScan(split=split, samples=len(guarded), failures=failures)


def without_unreadable(dataset: Dataset, split: str, workers: int, report: bool) -> Dataset:
    """``dataset`` minus the samples that fail to load (``train.on_unreadable=skip``), saying how many.

    The scan is deterministic, so a resumed run leaves out the same samples and sees the same order.
    """
    result = scan(dataset, split, workers)
    if not result.failures:
        return dataset
    if len(result.failures) == result.samples:
        index, error = result.failures[0]
        raise DataError(
            f"every one of the {result.samples} samples of the {split} split is unreadable (sample {index}: "
            f"{error}), nothing is left to train on; check data.root and the files in it (maskssl data check)"
        )
    if report:
        print(f"maskssl: skipping {len(result.failures)} unreadable samples of the {split} split "
              f"(train.on_unreadable=skip):\n{format_scan(result, shown=5)}", file=sys.stderr, flush=True)
    failed = {index for index, _ in result.failures}
    return Subset(dataset, [index for index in range(result.samples) if index not in failed])


def format_scan(result: SplitScan, shown: int = 20) -> str:
    """``train: 1437 samples, 2 unreadable`` and one line per failure (the first ``shown``)."""
    lines = [f"{result.split}: {result.samples} samples, {len(result.failures)} unreadable"]
    lines += [f"  sample {index}: {error}" for index, error in result.failures[:shown]]
    if len(result.failures) > shown:
        lines.append(f"  ... and {len(result.failures) - shown} more")
    return "\n".join(lines)


def _identity(item: Any) -> Any:
    return item
