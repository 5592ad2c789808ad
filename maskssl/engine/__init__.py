"""The one training loop every modality shares, and its parts (device, schedule, checkpoints, metrics)."""

from maskssl.engine.loop import TrainResult, train

__all__ = ["TrainResult", "train"]
