"""The evaluation protocols a modality can name: logistic regression selected on val, SVM under k-fold CV."""

from __future__ import annotations

import pytest
import torch

from maskssl.config.evaluation import EvalConfig
from maskssl.errors import MaskSSLError
from maskssl.eval.evaluate import run_protocol, summary_rows
from maskssl.eval.logreg import logistic_regression, logreg_over_seeds
from maskssl.interfaces import FeatureSet


def clusters(n: int, num_classes: int = 3, dim: int = 8, seed: int = 0, noise: float = 0.3) -> FeatureSet:
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(num_classes, dim, generator=g) * 2
    labels = torch.arange(n) % num_classes
    return FeatureSet(centres[labels] + noise * torch.randn(n, dim, generator=g), labels)


@pytest.mark.slow
def test_logistic_regression_separates_clusters_and_is_chance_on_random_labels() -> None:
    train, val, test = clusters(60, seed=1), clusters(60, seed=1), clusters(90, seed=1)
    result = logistic_regression(train, val, test, epochs=100)
    assert result.test_accuracy == 100.0 and 0 <= result.best_epoch < 100
    shuffled = FeatureSet(test.features, test.labels[torch.randperm(90, generator=torch.Generator().manual_seed(0))])
    assert logistic_regression(train, val, shuffled, epochs=100).test_accuracy < 60


def test_logistic_regression_keeps_the_weights_of_the_best_validation_epoch() -> None:
    train, test = clusters(60, seed=2), clusters(60, seed=2)
    useless_val = FeatureSet(torch.zeros(30, 8), torch.zeros(30, dtype=torch.long))  # constant accuracy
    result = logistic_regression(train, useless_val, test, epochs=50)
    assert result.best_epoch == 49  # ties go to the latest epoch, as GraphMAE's >=
    assert result.final_test_accuracy == result.test_accuracy  # the best epoch is the last one


def test_logistic_regression_reports_the_last_epochs_test_accuracy_beside_the_selected_one() -> None:
    train, test = clusters(60, seed=2), clusters(60, seed=2)
    misleading_val = FeatureSet(train.features, (train.labels + 1) % 3)  # rewards the worst epochs
    result = logistic_regression(train, misleading_val, test, epochs=50)
    assert result.best_epoch == 0 and result.test_accuracy < 80 and result.final_test_accuracy == 100.0


def test_logreg_over_seeds_reports_mean_and_std() -> None:
    data = clusters(60, noise=2.0)
    report = logreg_over_seeds(data, data, data, seeds=[0, 1, 2], epochs=20)
    accuracies = [run["test_accuracy"] for run in report["runs"]]
    assert report["seeds"] == [0, 1, 2] and report["test_accuracy_mean"] == pytest.approx(sum(accuracies) / 3)
    assert report["test_accuracy_std"] == pytest.approx(float(torch.tensor(accuracies).std(unbiased=False)))
    finals = [run["final_test_accuracy"] for run in report["runs"]]
    assert report["final_test_accuracy_mean"] == pytest.approx(sum(finals) / 3)


def test_svm_protocol_cross_validates_over_all_samples() -> None:
    pytest.importorskip("sklearn")
    report = run_protocol("svm", {"all": clusters(60)}, EvalConfig())["svm"]
    assert report["folds"] == 10 and len(report["fold_accuracies"]) == 10 and report["accuracy_mean"] == 100.0
    assert set(report["fold_c"]) <= set(report["c_grid"])
    rows = dict(summary_rows({"svm": report, "feature_dim": 8, "effective_rank": 1.0,
                              "alignment_mask_ratio": 0.5, "alignment": 0.0, "uniformity": 0.0}))
    assert rows["SVM accuracy (%), 10-fold CV"] == "100.00 ± 0.00"


def test_protocols_name_missing_splits_and_skip_unlabelled_ones() -> None:
    with pytest.raises(MaskSSLError, match="reads the split\\(s\\) val"):
        run_protocol("logreg", {"train": clusters(9), "test": clusters(9)}, EvalConfig())
    with pytest.raises(MaskSSLError, match="unknown evaluation protocol 'svn'"):
        run_protocol("svn", {}, EvalConfig())
    unlabelled = FeatureSet(torch.randn(9, 8), None)
    skipped = run_protocol("probe", {"train": unlabelled, "test": unlabelled}, EvalConfig())
    assert list(skipped) == ["classification_skipped"] and "needs class labels" in skipped["classification_skipped"]
