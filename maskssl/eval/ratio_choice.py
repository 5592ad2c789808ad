"""Choosing a mask ratio without labels, from the geometry of the pretrained features.

The criterion was fixed before any probe accuracy of a sweep was looked at (benchmarks/label_free_ratio.py
reports how it fares against the best-probe ratio). U-MAE (Zhang, Wang and Wang, 2022) reads MAE as
implicitly aligning two masked views of one input, and shows its failure mode is dimensional collapse:
features of different inputs crowding together. A ratio is good when both hold at once: two masked
views of one input land close together, while different inputs stay apart. On the held-out split:

    view distance   1 - alignment     (alignment: mean cosine of two independent masked views of an input,
                                       all runs masked at one common ratio, ``COMMON_VIEW_RATIO``)
    input spread    1 - uniformity    (uniformity: mean squared cosine of two different inputs)
    separation      input spread / view distance;   the chosen ratio maximises it.

The views are masked at one ratio for every run so that the distances compare; a fully collapsed encoder
(all inputs alike, spread 0) scores 0.

How it fares (benchmarks/label_free_ratio.py, README "Choosing the mask ratio without labels"): close to the
best-probe ratio on the image and point-cloud data measured, wrong on the graphs. A partly collapsed
encoder brings two views of one input closer together as it brings everything closer, and the ratio can
reward that: on Cora the runs trained at 0.75 (effective rank 14 of 512, against 63 at 0.5; means over
three seeds) have the largest separation and a logistic-regression accuracy 13 points below the best ratio's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COMMON_VIEW_RATIO = 0.75
"""Mask ratio of the two views whose alignment every run of a label-free sweep is measured at."""


def separation(alignment: float, uniformity: float) -> float:
    """(1 - uniformity) / (1 - alignment): how far apart inputs are relative to two masked views of one."""
    return (1.0 - uniformity) / max(1.0 - alignment, 1e-6)


def choose_label_free(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ratio of the row with the largest separation; rows need ratio, alignment and uniformity."""
    if not rows:
        raise ValueError("a label-free choice needs at least one sweep row")
    scored = [(separation(row["alignment"], row["uniformity"]), row["ratio"]) for row in rows]
    best_score, best_ratio = max(scored)
    return {"ratio": best_ratio, "separation": best_score, "scores": {ratio: score for score, ratio in scored}}
