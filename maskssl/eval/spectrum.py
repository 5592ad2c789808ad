"""Singular spectrum of a feature matrix and its effective rank: a measure of dimensional collapse.

U-MAE (Zhang et al. 2022) argues that MAE avoids full collapse but suffers dimensional collapse (few
effective feature dimensions); the effective rank of Roy & Vetterli (2007) of the centred features'
singular values measures it, and ``plot_spectrum`` compares spectra of several feature sets.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from maskssl.eval.plotting import new_figure
from maskssl.utils.files import write_atomic


def singular_values(features: Tensor) -> Tensor:
    """Singular values [min(N, D)] (float64, descending) of features [N, D] after removing the column means."""
    if features.ndim != 2:
        raise ValueError(f"features must be [N, D], got shape {tuple(features.shape)}")
    x = features.detach().double()
    return torch.linalg.svdvals(x - x.mean(dim=0, keepdim=True))


def effective_rank(singular_values: Tensor) -> float:
    """exp(H(p)) with p_i = s_i / sum(s) and 0 log 0 = 0 (Roy & Vetterli 2007), for s [K] >= 0.

    Between 1 (one non-zero value) and K (all equal); 0.0 when every value is 0 (nothing to rank).
    """
    s = singular_values.detach().double().flatten()
    if bool((s < 0).any()):
        raise ValueError("singular values must be non-negative")
    total = s.sum()
    if total == 0:
        return 0.0
    p = s[s > 0] / total
    return float(torch.exp(-(p * p.log()).sum()))


def plot_spectrum(spectra: dict[str, Tensor], path: Path, title: str | None = None) -> Path:
    """Save a PNG of s_i / s_1 (log y axis) against i for each named spectrum [K]; returns ``path``.

    Values below 1e-6 s_1 are left out: zero up to float32 rounding (for example the direction a final
    LayerNorm removes from every feature), they would stretch the log axis; each legend entry names the
    effective rank.
    Draws on an Agg canvas of its own, leaving pyplot's global backend and figures untouched.
    Needs matplotlib (optional): raises MaskSSLError when it is missing.
    """
    if not spectra:
        raise ValueError("plot_spectrum needs at least one named spectrum")
    figure = new_figure(6, 4)
    axes = figure.add_subplot()
    for name, values in spectra.items():
        s = values.detach().double().flatten().cpu()
        if s.numel() == 0 or s.max() <= 0:
            raise ValueError(f"spectrum {name!r} has no positive singular value to normalise by")
        normalised = s / s.max()
        index = torch.arange(1, s.numel() + 1)
        keep = normalised > 1e-6
        label = f"{name} (effective rank {effective_rank(s):.1f})"
        axes.plot(index[keep].numpy(), normalised[keep].numpy(), label=label)
    axes.set_yscale("log")
    axes.set_xlabel("singular value index i")
    axes.set_ylabel("s_i / s_1")
    if title is not None:
        axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: figure.savefig(handle, format="png"))
    return path
