"""``maskssl eval``: frozen-encoder probes and the U-MAE paper's feature diagnostics, as one report.

    maskssl eval runs/digits                    # writes runs/digits/eval.json and spectrum.png
    maskssl eval runs/digits --random-init      # the same encoder with untrained weights, as a baseline

Reported: the modality's classification protocol (``Modality.evaluation_protocol``): by default the
linear probe (train and test accuracy) and weighted kNN accuracy; GraphMAE's logistic regression
selected on a validation split ("logreg"), or an SVM under stratified k-fold cross-validation ("svm").
Then the effective rank of the train features, and on the test set the alignment of two independently
masked views of each input and the uniformity (mean squared cosine similarity of different inputs'
features). A modality whose samples are not dataset items (the nodes of one graph) supplies its
feature splits through ``Modality.evaluation_features``; its split "all", when present, replaces
train and test for the effective rank, spectrum and uniformity.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from maskssl import registry
from maskssl.checkpoints.pretrained import Pretrained
from maskssl.config.evaluation import EvalConfig
from maskssl.data.checks import warn_single_class
from maskssl.errors import DataError, MaskSSLError
from maskssl.eval.features import extract_features, masked_view_features
from maskssl.eval.geometry import alignment, uniformity
from maskssl.eval.knn import knn_accuracy
from maskssl.eval.logreg import logreg_over_seeds
from maskssl.eval.probe import linear_probe
from maskssl.eval.spectrum import effective_rank, singular_values
from maskssl.eval.svm import svm_cross_validation
from maskssl.interfaces import Encoder, FeatureSet, Modality

PROTOCOL_SPLITS = {"probe": ("train", "test"), "logreg": ("train", "val", "test"), "svm": ("all",)}


def evaluate(pretrained: Pretrained, device: torch.device, settings: EvalConfig) -> dict[str, Any]:
    """Every metric of one pretrained model; the singular values are returned under ``spectrum``.

    ``settings``: usually the run's own ``config.eval`` with the command line's overrides.
    """
    modality, encoder = pretrained.modality, pretrained.model.encoder
    torch.manual_seed(settings.seed)  # for modalities that sample in tokenize or the encoder (graph node samples)
    splits = modality.evaluation_features(encoder, device, settings.batch_size)
    if splits is None:
        splits = _dataset_splits(modality, encoder, device, settings.batch_size)
    fit_set = splits["all"] if "all" in splits else splits["train"]
    score_set = splits["all"] if "all" in splits else splits["test"]
    for name, split in splits.items():
        if split.features.shape[0] < 2:
            raise DataError(
                f"the {name} split has {split.features.shape[0]} sample(s); evaluation compares pairs of samples "
                f"and needs at least 2 (a held-out split: raise data.test_fraction, or add samples)"
            )
    spectrum = singular_values(fit_set.features)
    masker_section = dict(pretrained.config.masker)
    if settings.alignment_mask_ratio is not None:
        masker_section["ratio"] = settings.alignment_mask_ratio
    masker = registry.create("masker", masker_section)
    view_a, view_b = masked_view_features(
        modality, encoder, masker, modality.build_dataset("test"), device, settings.seed, settings.batch_size
    )
    protocol = modality.evaluation_protocol()
    report: dict[str, Any] = {
        "step": pretrained.step,
        "checkpoint": str(pretrained.checkpoint) if pretrained.checkpoint else None,
        "random_init": pretrained.checkpoint is None,
        "settings": asdict(settings),
        "protocol": protocol,
        "feature_dim": fit_set.features.shape[1],
        "samples": {name: split.features.shape[0] for name, split in splits.items()},
        "effective_rank": effective_rank(spectrum),
        "alignment": alignment(view_a, view_b),
        "alignment_mask_ratio": masker.ratio,
        "uniformity": uniformity(score_set.features),
        "spectrum": spectrum.tolist(),
    }
    report.update(run_protocol(protocol, splits, settings))
    return report


def _dataset_splits(
    modality: Modality, encoder: Encoder, device: torch.device, batch_size: int
) -> dict[str, FeatureSet]:
    """The default feature splits: "train" and "test" of ``build_dataset`` through ``Modality.features``."""
    return {
        split: FeatureSet(*extract_features(modality, encoder, modality.build_dataset(split), device, batch_size))
        for split in ("train", "test")
    }


def run_protocol(protocol: str, splits: dict[str, FeatureSet], settings: EvalConfig) -> dict[str, Any]:
    """Report entries of one classification protocol; ``classification_skipped`` (why) when a split it reads
    has no labels."""
    if protocol not in PROTOCOL_SPLITS:
        raise MaskSSLError(f"unknown evaluation protocol '{protocol}'; protocols: {', '.join(PROTOCOL_SPLITS)}")
    missing = [name for name in PROTOCOL_SPLITS[protocol] if name not in splits]
    if missing:
        raise MaskSSLError(
            f"evaluation protocol '{protocol}' reads the split(s) {', '.join(missing)}, which the modality's "
            f"evaluation_features did not return (it returned: {', '.join(splits)})"
        )
    unlabelled = [name for name in PROTOCOL_SPLITS[protocol] if splits[name].labels is None]
    if unlabelled:
        return {"classification_skipped": (
            f"{protocol} needs class labels, and the {'/'.join(unlabelled)} split has none; the label-free "
            f"diagnostics below are computed"
        )}
    if protocol == "logreg":
        logreg = settings.logreg
        seeds = list(range(settings.seed, settings.seed + logreg.seeds))
        return {"logreg": logreg_over_seeds(
            splits["train"], splits["val"], splits["test"], seeds=seeds, epochs=logreg.epochs, lr=logreg.lr,
            weight_decay=logreg.weight_decay,
        )}
    if protocol == "svm":
        svm = settings.svm
        return {"svm": svm_cross_validation(splits["all"], folds=svm.folds, c_grid=svm.c_grid, seed=settings.seed)}
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    if train_y is None or test_y is None:  # excluded by the unlabelled check above
        raise MaskSSLError(f"evaluation protocol '{protocol}' needs labelled train and test splits")
    warn_single_class(train_y, "the probe's train split")
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    probe, knn = settings.probe, settings.knn
    probed = linear_probe(
        train_x, train_y, test_x, test_y, num_classes=num_classes, epochs=probe.epochs,
        batch_size=probe.batch_size, base_lr=probe.base_lr, weight_decay=probe.weight_decay, seed=settings.seed,
    )
    accuracy = knn_accuracy(
        train_x, train_y, test_x, test_y, k=knn.k, temperature=knn.temperature, num_classes=num_classes,
    )
    return {
        "linear_probe": asdict(probed),
        "knn": {"k": knn.k, "temperature": knn.temperature, "accuracy": accuracy},
    }


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(metric, value) rows of a report for the console."""
    rows = []
    if "classification_skipped" in report:
        rows.append(("classification", f"not run: {report['classification_skipped']}"))
    if "logreg" in report:
        logreg = report["logreg"]
        runs = f"over {len(logreg['seeds'])} seeds"
        rows += [
            (f"logistic regression, {split} accuracy (%)",
             f"{logreg[f'{split}_accuracy_mean']:.2f} ± {logreg[f'{split}_accuracy_std']:.2f} {runs}")
            for split in ("train", "val", "test")
        ]
        rows.append((
            "logistic regression, last-epoch test accuracy (%)",
            f"{logreg['final_test_accuracy_mean']:.2f} ± {logreg['final_test_accuracy_std']:.2f} {runs}",
        ))
        rows.append(("logistic regression, settings",
                     f"{logreg['epochs']} epochs, lr {logreg['lr']:g}, weight decay {logreg['weight_decay']:g}"))
    if "svm" in report:
        svm = report["svm"]
        accuracy = f"{svm['accuracy_mean']:.2f} ± {svm['accuracy_std']:.2f}"
        rows.append((f"SVM accuracy (%), {svm['folds']}-fold CV", accuracy))
        rows.append(("SVM, C chosen per fold from", ", ".join(f"{c:g}" for c in svm["c_grid"])))
    if "linear_probe" in report:
        probe = report["linear_probe"]
        rows += [
            ("linear probe, train accuracy (%)", f"{probe['train_accuracy']:.2f}"),
            ("linear probe, test accuracy (%)", f"{probe['test_accuracy']:.2f}"),
            (f"kNN accuracy (%), k={report['knn']['k']}, T={report['knn']['temperature']:g}",
             f"{report['knn']['accuracy']:.2f}"),
        ]
        probe_settings = report["settings"]["probe"]
        rows.append(("linear probe, settings",
                     f"{probe_settings['epochs']} epochs, batch {probe_settings['batch_size']}, base lr "
                     f"{probe_settings['base_lr']:g}, weight decay {probe_settings['weight_decay']:g}"))
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
