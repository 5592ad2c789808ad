"""The shared training loop on the toy modality: learning, resume, interruption, bad losses, run dirs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

import tests.toy  # noqa: F401  (registers the toy modality)
from maskssl import register_modality
from maskssl.checkpoints.io import list_checkpoints, load_checkpoint
from maskssl.config.load import load_config
from maskssl.engine.loop import TrainingInterrupted
from maskssl.engine.metrics import read_metrics
from maskssl.errors import CheckpointError, ConfigError, NonFiniteLossError
from maskssl.pretrain import train
from maskssl.registry import unregister
from tests.toy import ToyModality


def _config(*overrides: str):
    return load_config("toy", None, ["train.ckpt_every=4", "data.samples=64", *overrides])


def _losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(run_dir)}


@pytest.mark.slow
def test_loss_falls_and_run_dir_is_complete(tmp_path: Path) -> None:
    result = train(_config("train.epochs=6", "train.lr=0.02"), tmp_path / "run", progress=False)
    losses = _losses(tmp_path / "run")
    assert result.step == 48 and sorted(losses) == list(range(1, 49))
    first, last = sum(list(losses.values())[:8]) / 8, sum(list(losses.values())[-8:]) / 8
    assert last < 0.9 * first  # masks differ run to run; the loss falls 15-25% in 6 epochs
    assert (tmp_path / "run" / "config.yaml").exists()
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_00000044.pt", "step_00000048.pt"]


@pytest.mark.slow
def test_resume_reproduces_uninterrupted_losses_and_weights(tmp_path: Path) -> None:
    full = train(_config("regularizers.uniformity.weight=0.1"), tmp_path / "full", progress=False)
    train(_config("regularizers.uniformity.weight=0.1", "train.max_steps=6"), tmp_path / "cut", progress=False)
    # as if the run died after step 6 was logged but before its checkpoint landed
    (tmp_path / "cut" / "checkpoints" / "step_00000006.pt").unlink()
    assert max(_losses(tmp_path / "cut")) == 6
    resumed = train(
        _config("regularizers.uniformity.weight=0.1", "train.max_steps=16"), tmp_path / "cut", resume=True,
        progress=False,
    )
    assert resumed.step == full.step == 16
    assert _losses(tmp_path / "cut") == _losses(tmp_path / "full")  # steps 5, 6 re-run, not duplicated
    a = load_checkpoint(list_checkpoints(tmp_path / "full")[-1])["model"]
    b = load_checkpoint(list_checkpoints(tmp_path / "cut")[-1])["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


class _SignalAtSample(torch.utils.data.Dataset):
    """Wraps a dataset and sends SIGTERM to this process when sample number ``at`` is read."""

    def __init__(self, inner: torch.utils.data.Dataset, at: int) -> None:
        self.inner, self.at, self.reads = inner, at, 0

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        self.reads += 1
        if self.reads == self.at:
            os.kill(os.getpid(), signal.SIGTERM)
        return self.inner[index]


def test_sigterm_saves_a_checkpoint_and_resume_is_exact(tmp_path: Path) -> None:
    @register_modality("toy_sigterm")
    class Interrupted(ToyModality):
        name = "toy_sigterm"
        signal_at: int | None = None

        def build_dataset(self, split: str) -> torch.utils.data.Dataset:
            dataset = super().build_dataset(split)
            return dataset if self.signal_at is None else _SignalAtSample(dataset, self.signal_at)

    try:
        config = load_config("toy_sigterm", None, ["train.ckpt_every=4"])
        train(config, tmp_path / "full", progress=False)
        Interrupted.signal_at = 8 * 5 + 3  # a sample of step 6
        with pytest.raises(TrainingInterrupted, match="resume"):
            train(config, tmp_path / "cut", progress=False)
        assert list_checkpoints(tmp_path / "cut")[-1].name == "step_00000006.pt"
        Interrupted.signal_at = None
        train(config, tmp_path / "cut", resume=True, progress=False)
    finally:
        unregister("modality", "toy_sigterm")
    assert _losses(tmp_path / "cut") == _losses(tmp_path / "full")


def test_gradient_accumulation_matches_the_big_batch(tmp_path: Path) -> None:
    big = train(_config("train.batch_size=16", "train.max_steps=3"), tmp_path / "big", progress=False)
    small = train(
        _config("train.batch_size=8", "train.accum_steps=2", "train.max_steps=3"), tmp_path / "acc", progress=False
    )
    assert big.step == small.step == 3
    # same samples per optimizer step, different masks: losses agree in scale, not bit for bit
    assert abs(big.loss - small.loss) < 0.5


def test_nonfinite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    train(_config("train.max_steps=4"), tmp_path / "run", progress=False)
    good = list_checkpoints(tmp_path / "run")[-1].read_bytes()
    with pytest.raises(NonFiniteLossError, match="last good checkpoint"):
        train(_config("train.max_steps=12", "train.lr=1e30"), tmp_path / "run", resume=True, progress=False)
    assert list_checkpoints(tmp_path / "run")[-1].read_bytes() == good


def test_run_dir_holding_a_run_is_refused_unless_told(tmp_path: Path) -> None:
    train(_config("train.max_steps=2"), tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="--resume.*--overwrite"):
        train(_config("train.max_steps=2"), tmp_path / "run", progress=False)
    train(_config("train.max_steps=2"), tmp_path / "run", overwrite=True, progress=False)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(_config(), tmp_path / "empty", resume=True, progress=False)


def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path: Path) -> None:
    train(_config("train.max_steps=8"), tmp_path / "run", progress=False)
    newest = list_checkpoints(tmp_path / "run")[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as after a crash mid-copy
    with pytest.warns(UserWarning, match="corrupt"):
        result = train(_config("train.max_steps=8"), tmp_path / "run", resume=True, progress=False)
    assert result.step == 8 and min(r["step"] for r in read_metrics(tmp_path / "run")) == 1


def test_batch_larger_than_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="larger than the 64 samples"):
        train(_config("train.batch_size=128"), tmp_path / "run", progress=False)


@pytest.mark.slow
def test_online_probe_is_trained_and_logged(tmp_path: Path) -> None:
    train(_config("online_probe_classes=4", "train.epochs=6", "train.lr=0.02"), tmp_path / "run", progress=False)
    records = read_metrics(tmp_path / "run")
    assert all("probe_loss" in r and 0 <= r["probe_accuracy"] <= 100 for r in records)
    early = sum(r["probe_accuracy"] for r in records[:8]) / 8
    late = sum(r["probe_accuracy"] for r in records[-8:]) / 8
    assert late > early + 10  # four separable classes: the head learns while the encoder trains


def test_nonfinite_steps_are_skipped_up_to_the_allowed_count(tmp_path: Path) -> None:
    @register_modality("toy_nan")
    class Poisoned(ToyModality):
        name = "toy_nan"
        def build_dataset(self, split: str) -> torch.utils.data.Dataset:
            x, labels = super().build_dataset(split).tensors
            x = x.clone()
            x[5] = float("nan")  # one sample: one non-finite step per epoch
            return torch.utils.data.TensorDataset(x, labels)

    try:
        result = train(load_config("toy_nan", None, ["train.nonfinite_skips=2"]), tmp_path / "ok", progress=False)
        records = read_metrics(tmp_path / "ok")
        assert result.step == 16 and records[-1]["skipped_steps"] == 2
        weights = load_checkpoint(list_checkpoints(tmp_path / "ok")[-1])["model"]
        assert all(torch.isfinite(w).all() for w in weights.values())
        with pytest.raises(NonFiniteLossError, match="non-finite steps: 2, allowed to skip: 1"):
            train(load_config("toy_nan", None, ["train.nonfinite_skips=1"]), tmp_path / "stop", progress=False)
    finally:
        unregister("modality", "toy_nan")


def test_a_bit_flip_in_the_newest_checkpoint_is_detected(tmp_path: Path) -> None:
    train(_config("train.max_steps=8"), tmp_path / "run", progress=False)
    newest = list_checkpoints(tmp_path / "run")[-1]
    data = bytearray(newest.read_bytes())
    data[len(data) // 2] ^= 0xFF  # torch.load alone would accept this file
    newest.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256 does not match"):
        load_checkpoint(newest)
    with pytest.warns(UserWarning, match="corrupt"):
        result = train(_config("train.max_steps=8"), tmp_path / "run", resume=True, progress=False)
    assert result.step == 8


def test_resuming_with_another_model_or_modality_is_refused(tmp_path: Path) -> None:
    train(_config("train.max_steps=2"), tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="holds a different model"):
        train(_config("train.max_steps=4", "encoder.embed_dim=8"), tmp_path / "run", resume=True, progress=False)

    @register_modality("toy_other")
    class Other(ToyModality):
        name = "toy_other"
        pass

    try:
        other = load_config("toy_other", None, ["train.max_steps=4"])
        with pytest.raises(CheckpointError, match="is a 'toy' checkpoint, this run is 'toy_other'"):
            train(other, tmp_path / "run", resume=True, progress=False)
    finally:
        unregister("modality", "toy_other")
