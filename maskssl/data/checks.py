"""Checks a modality runs once when it builds a dataset, so bad values are named where they are, not as a NaN loss;
and the warning for labels of a single class."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from maskssl.errors import DataError


def check_finite(values: np.ndarray | torch.Tensor, what: str, source: str, unit: str = "sample") -> None:
    """DataError when ``values`` [N, ...] (one row per ``unit``) hold NaN or infinity; names the first rows.

    One vectorised pass over the array: cheap next to loading it.
    """
    array = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    if not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array.reshape(len(array), -1)).all(axis=1) if array.ndim > 1 else np.isfinite(array)
    if finite.all():
        return
    bad = np.flatnonzero(~finite)
    shown = ", ".join(str(i) for i in bad[:5]) + (", ..." if len(bad) > 5 else "")
    raise DataError(
        f"{source}: {what} hold NaN or infinite values in {len(bad)} of {len(array)} {unit}s "
        f"({unit} {shown}); clean or remove them"
    )


def warn_single_class(labels: np.ndarray | torch.Tensor, what: str) -> None:
    """Warn (``maskssl: warning: ...`` on the command line) when ``labels`` hold a single class: every accuracy
    on them is 100% by construction, which usually means the class folders or the label file were not read."""
    array = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    classes = np.unique(array)
    if len(classes) == 1:
        warnings.warn(
            f"{what} has a single class ({classes[0]}): its accuracies are 100% by construction; check that the "
            f"data's classes were read (class folders, the label file, data.classes)", stacklevel=2,
        )
