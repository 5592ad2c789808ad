"""An SVM on frozen features under stratified k-fold cross-validation (GraphMAE's graph protocol).

As GraphMAE's ``evaluate_graph_embeddings_using_svm``: ``StratifiedKFold(10, shuffle=True,
random_state=seed)``; in each fold ``GridSearchCV(SVC(random_state=42), {"C": [1e-3, 1e-2, 0.1, 1, 10]})``
chooses C by scikit-learn's default inner 5-fold stratified cross-validation on the training folds; the
accuracy on the held-out fold (GraphMAE's micro-F1, which equals accuracy for single-label data) is
averaged over the folds: mean ± std (population std, as NumPy's default). Needs scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from maskssl.config.evaluation import SvmSettings
from maskssl.errors import MaskSSLError
from maskssl.interfaces import FeatureSet

C_GRID = tuple(SvmSettings().c_grid)


def svm_cross_validation(
    data: FeatureSet, *, folds: int = SvmSettings.folds, c_grid: Sequence[float] = C_GRID, seed: int = 0
) -> dict[str, Any]:
    """Accuracy (percent) of an RBF SVC with C chosen per fold, over ``folds`` stratified folds of ``data``.

    data: features [N, D] and labels [N]; every class needs at least ``folds`` samples.
    Returns the settings, ``accuracy_mean``, ``accuracy_std``, and per fold the accuracy and the chosen C.
    """
    try:
        from sklearn.model_selection import GridSearchCV, StratifiedKFold
        from sklearn.svm import SVC
    except ImportError as exc:
        raise MaskSSLError("the svm evaluation protocol needs scikit-learn: pip install scikit-learn") from exc
    if data.labels is None:
        raise ValueError("the SVM protocol needs labelled features")
    x = data.features.detach().float().cpu().numpy()
    y = data.labels.cpu().numpy()
    accuracies, chosen = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_index, test_index in splitter.split(x, y):
        search = GridSearchCV(SVC(random_state=42), {"C": list(c_grid)})
        search.fit(x[train_index], y[train_index])
        accuracies.append(100.0 * float((search.predict(x[test_index]) == y[test_index]).mean()))
        chosen.append(float(search.best_params_["C"]))
    return {
        "folds": folds,
        "c_grid": list(c_grid),
        "seed": seed,
        "accuracy_mean": float(np.mean(accuracies)),
        "accuracy_std": float(np.std(accuracies)),
        "fold_accuracies": accuracies,
        "fold_c": chosen,
    }
