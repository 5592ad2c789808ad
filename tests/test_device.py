"""Device and precision choices, and the CPU-reachable branches of the GPU path (bf16 autocast, compile)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

import tests.toy  # noqa: F401  (registers the toy modality)
from maskssl.config.load import load_config
from maskssl.engine.device import autocast_dtype, select_device, set_cpu_threads
from maskssl.engine.metrics import read_metrics
from maskssl.errors import ConfigError
from maskssl.pretrain import train


def test_auto_device_and_precision_on_this_machine() -> None:
    device = select_device("auto")
    assert device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if device.type == "cpu":
        assert autocast_dtype("auto", device) is None


@pytest.mark.parametrize(("precision", "dtype"), [("bf16", torch.bfloat16), ("fp32", None)])
def test_explicit_precisions_on_cpu(precision: str, dtype: torch.dtype | None) -> None:
    assert autocast_dtype(precision, torch.device("cpu")) is dtype


def test_fp16_and_missing_cuda_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="fp16 needs a CUDA device"):
        autocast_dtype("fp16", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            select_device("cuda")
    with pytest.raises(ConfigError, match="is not a device"):
        select_device("gpu0")


def test_bf16_autocast_trains_on_cpu(tmp_path: Path) -> None:
    config = load_config("toy", None, ["train.precision=bf16", "train.max_steps=6", "regularizers.uniformity.weight=0.1"])
    result = train(config, tmp_path / "run", progress=False)
    records = read_metrics(tmp_path / "run")
    assert result.step == 6 and all(torch.isfinite(torch.tensor(r["loss"])) for r in records)


@pytest.mark.slow
def test_compiled_model_gives_the_eager_losses(tmp_path: Path) -> None:
    overrides = ["train.max_steps=3", "regularizers.uniformity.weight=0.1"]
    train(load_config("toy", None, overrides), tmp_path / "eager", progress=False)
    train(load_config("toy", None, [*overrides, "train.compile=true"]), tmp_path / "compiled", progress=False)
    eager = [r["loss"] for r in read_metrics(tmp_path / "eager")]
    compiled = [r["loss"] for r in read_metrics(tmp_path / "compiled")]
    assert compiled == pytest.approx(eager, rel=1e-4)


def test_threads_default_to_the_cores_shared_out_under_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        assert set_cpu_threads(1) == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
        cores = len(os.sched_getaffinity(0))
        assert set_cpu_threads(None) == max(1, cores // 2) == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def test_threads_below_one_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="train.threads=0 must be at least 1"):
        load_config("toy", None, ["train.threads=0"])
