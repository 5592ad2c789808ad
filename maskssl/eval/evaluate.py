"""``maskssl eval``: frozen-encoder probes and the U-MAE paper's feature diagnostics, as one report.

    maskssl eval runs/digits                    # writes runs/digits/eval.json and spectrum.png
    maskssl eval runs/digits --random-init      # the same encoder with untrained weights, as a baseline

Reported: linear probe (train and test accuracy), weighted kNN accuracy, the effective rank of the
train features, and on the test set the alignment of two independently masked views of each input
and the uniformity (mean squared cosine similarity of different inputs' features).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from maskssl import registry
from maskssl.eval.features import extract_features, masked_view_features
from maskssl.eval.geometry import alignment, uniformity
from maskssl.eval.knn import knn_accuracy
from maskssl.eval.pretrained import Pretrained
from maskssl.eval.probe import linear_probe
from maskssl.eval.spectrum import effective_rank, singular_values


@dataclass
class EvalSettings:
    """Knobs of ``evaluate``; the defaults follow MAE's probe (90 epochs) and DINO's kNN (k=20, T=0.07)."""

    knn_k: int = 20
    knn_temperature: float = 0.07
    probe_epochs: int = 90
    probe_batch_size: int = 256
    probe_base_lr: float = 0.1
    mask_ratio: float | None = None
    """Mask ratio of the two views for alignment; None: the run's own masker ratio."""
    batch_size: int = 256
    seed: int = 0


def evaluate(pretrained: Pretrained, device: torch.device, settings: EvalSettings) -> dict[str, Any]:
    """Every metric of one pretrained model; the singular values are returned under ``spectrum``."""
    modality, encoder = pretrained.modality, pretrained.model.encoder
    train_x, train_y = extract_features(modality, encoder, modality.build_dataset("train"), device, settings.batch_size)
    test_set = modality.build_dataset("test")
    test_x, test_y = extract_features(modality, encoder, test_set, device, settings.batch_size)
    spectrum = singular_values(train_x)
    masker_section = dict(pretrained.config.masker)
    if settings.mask_ratio is not None:
        masker_section["ratio"] = settings.mask_ratio
    masker = registry.create("masker", masker_section)
    view_a, view_b = masked_view_features(modality, encoder, masker, test_set, device, settings.seed, settings.batch_size)
    report: dict[str, Any] = {
        "step": pretrained.step,
        "checkpoint": str(pretrained.checkpoint) if pretrained.checkpoint else None,
        "random_init": pretrained.checkpoint is None,
        "settings": asdict(settings),
        "feature_dim": train_x.shape[1],
        "train_samples": train_x.shape[0],
        "test_samples": test_x.shape[0],
        "effective_rank": effective_rank(spectrum),
        "alignment": alignment(view_a, view_b),
        "alignment_mask_ratio": masker.ratio,
        "uniformity": uniformity(test_x),
        "spectrum": spectrum.tolist(),
    }
    if train_y is not None and test_y is not None:
        num_classes = int(max(train_y.max(), test_y.max())) + 1
        probe = linear_probe(
            train_x, train_y, test_x, test_y, num_classes=num_classes, epochs=settings.probe_epochs,
            batch_size=settings.probe_batch_size, base_lr=settings.probe_base_lr, seed=settings.seed,
        )
        report["linear_probe"] = asdict(probe)
        report["knn"] = {
            "k": settings.knn_k,
            "temperature": settings.knn_temperature,
            "accuracy": knn_accuracy(
                train_x, train_y, test_x, test_y, k=settings.knn_k, temperature=settings.knn_temperature,
                num_classes=num_classes,
            ),
        }
    return report


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) rows of a report for the console."""
    rows = []
    if "linear_probe" in report:
        probe = report["linear_probe"]
        rows += [
            ("linear probe, train accuracy (%)", f"{probe['train_accuracy']:.2f}"),
            ("linear probe, test accuracy (%)", f"{probe['test_accuracy']:.2f}"),
            (f"kNN accuracy (%), k={report['knn']['k']}", f"{report['knn']['accuracy']:.2f}"),
        ]
    rows += [
        (f"effective rank (of {report['feature_dim']} dims)", f"{report['effective_rank']:.2f}"),
        (f"alignment (mask ratio {report['alignment_mask_ratio']:g})", f"{report['alignment']:.4f}"),
        ("uniformity", f"{report['uniformity']:.4f}"),
    ]
    return rows


def format_table(rows: list[tuple[str, str]]) -> str:
    """Two aligned columns."""
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
