"""The classification objective of fine-tuning: cross-entropy with label smoothing, mixup / cutmix (timm).

Mixup and cutmix are timm's ``Mixup`` (batch mode, as MAE's fine-tuning): they blend the batch with its
reverse and return soft targets [B, C] (smoothed), scored with ``SoftTargetCrossEntropy``. timm draws
from numpy and ``random``, which the loop seeds at every step, so ``--resume`` stays exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from maskssl.finetune.config import FinetuneSection


class ClassificationObjective:
    """Targets of a batch (mixed or not) and the loss of logits against them.

    Args:
        section: the config's ``finetune`` section (label_smoothing, mixup, cutmix, mixup_prob, mixup_switch_prob).
        num_classes: C.
    """

    def __init__(self, section: FinetuneSection, num_classes: int) -> None:
        self.label_smoothing = section.label_smoothing
        self.mixup = None
        if section.mixup > 0 or section.cutmix > 0:
            from timm.data import Mixup  # timm takes seconds to import: only when mixing
            from timm.loss import SoftTargetCrossEntropy

            self.mixup = Mixup(
                mixup_alpha=section.mixup, cutmix_alpha=section.cutmix, prob=section.mixup_prob,
                switch_prob=section.mixup_switch_prob, mode="batch", label_smoothing=section.label_smoothing,
                num_classes=num_classes,
            )
            self._soft_loss = SoftTargetCrossEntropy()

    def mix(self, inputs: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """inputs [B, ...] and labels [B] -> (mixed inputs, soft targets [B, C]); unchanged without mixup."""
        if self.mixup is None:
            return inputs, labels
        if inputs.shape[0] % 2:
            raise ValueError(f"mixup needs an even batch, got {inputs.shape[0]} samples")
        return self.mixup(inputs, labels)

    def loss(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """logits [B, C]; targets [B] (class indices) or [B, C] (soft) -> (loss, terms for the log)."""
        logits = logits.float()
        if targets.ndim == 2:
            loss = self._soft_loss(logits, targets)
            return loss, {"classification": loss}
        loss = F.cross_entropy(logits, targets, label_smoothing=self.label_smoothing)
        accuracy = (logits.argmax(dim=-1) == targets).float().mean()
        return loss, {"classification": loss, "train_accuracy": accuracy}


@torch.no_grad()
def classification_counts(logits: Tensor, labels: Tensor, num_classes: int) -> dict[str, Tensor]:
    """Per-batch sums for ``classification_metrics``: logits [B, C], labels [B]."""
    top5 = logits.topk(min(5, num_classes), dim=-1).indices  # [B, 5]
    return {
        "loss": F.cross_entropy(logits.float(), labels, reduction="sum"),
        "top1": (top5[:, 0] == labels).sum(),
        "top5": (top5 == labels[:, None]).any(dim=-1).sum(),
        "per_class_correct": torch.bincount(labels[top5[:, 0] == labels], minlength=num_classes),
        "per_class_total": torch.bincount(labels, minlength=num_classes),
    }


def classification_metrics(counts: dict[str, Tensor], num_classes: int) -> dict[str, float]:
    """Summed counts -> top-1 (%), top-5 (%, more than 10 classes only), balanced accuracy (%), mean loss."""
    total = float(counts["per_class_total"].sum())
    present = counts["per_class_total"] > 0
    recall = counts["per_class_correct"][present].float() / counts["per_class_total"][present].float()
    metrics = {"top1": 100.0 * float(counts["top1"]) / total}
    if num_classes > 10:
        metrics["top5"] = 100.0 * float(counts["top5"]) / total
    metrics["balanced_accuracy"] = 100.0 * float(recall.mean())
    metrics["loss"] = float(counts["loss"]) / total
    return metrics
