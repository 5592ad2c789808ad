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

How it fares (benchmarks/label_free_ratio.py, README "Choosing the mask ratio without labels"; six data
sets, seeds 0 1 2): within 0.1 point of the best-probe ratio on digits, within about the seed noise on the
procedural and ModelNet point clouds, 2 points off on MUTAG, 5 on MNIST (where the separation is flat
across ratios) and 13 on Cora. A partly collapsed encoder brings two views of one input closer together
as it brings everything closer, and the ratio can reward that: on Cora the runs trained at 0.75 (effective
rank 14 of 512, against 63 at 0.5; means over three seeds) have the largest separation and a
logistic-regression accuracy 13 points below the best ratio's.
So the choice carries a warning when its features' effective rank is under ``RANK_WARNING_SHARE`` of the
sweep's largest (a diagnostic, not part of the criterion: it does not change the choice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

COMMON_VIEW_RATIO = 0.75
"""Mask ratio of the two views whose alignment every run of a label-free sweep is measured at."""


RANK_WARNING_SHARE = 0.5
"""Warn when the chosen run's effective rank is under this share of the sweep's largest (Cora's 0.75: 0.13)."""


def separation(alignment: float, uniformity: float) -> float:
    """(1 - uniformity) / (1 - alignment): how far apart inputs are relative to two masked views of one."""
    return (1.0 - uniformity) / max(1.0 - alignment, 1e-6)


def choose_label_free(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The ratio of the row with the largest separation; rows need ratio, alignment and uniformity, and
    may hold effective_rank (then ``warning`` says when the chosen features look partly collapsed)."""
    if not rows:
        raise ValueError("a label-free choice needs at least one sweep row")
    scored = [(separation(row["alignment"], row["uniformity"]), row["ratio"]) for row in rows]
    best_score, best_ratio = max(scored)
    chosen = next(row for row in rows if row["ratio"] == best_ratio)
    return {"ratio": best_ratio, "separation": best_score, "scores": {ratio: score for score, ratio in scored},
            "warning": collapse_warning(chosen, rows)}


def collapse_warning(chosen: dict[str, Any], rows: Sequence[dict[str, Any]]) -> str | None:
    """A sentence when ``chosen``'s effective rank is under RANK_WARNING_SHARE of the largest in ``rows``."""
    ranked = [row for row in rows if row.get("effective_rank") is not None]
    if chosen.get("effective_rank") is None or not ranked:
        return None
    widest = max(ranked, key=lambda row: row["effective_rank"])
    if chosen["effective_rank"] >= RANK_WARNING_SHARE * widest["effective_rank"]:
        return None
    return (f"the features trained at {chosen['ratio']:g} have effective rank {chosen['effective_rank']:.1f}, under "
            f"{RANK_WARNING_SHARE:g} of the {widest['effective_rank']:.1f} at {widest['ratio']:g}: partly collapsed "
            f"features can score a high separation (on Cora such a choice probed 13 points below the best ratio); "
            f"check the choice with a probe or a look at the spectra before relying on it")
