"""The signal modality, its encoder and decoder: the conformance kit, the data, and a short training run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import maskssl
from maskssl.build import build_modality
from maskssl.errors import ConfigError
from maskssl.testing import build_case, check_decoder, check_encoder, check_modality
from maskssl_template import SignalModality
from maskssl_template.config import SignalData, SignalModel
from maskssl_template.data import make_signals

SMALL = ["data.samples=64", "data.test_samples=16"]


def test_tokens_are_windows_of_the_signal() -> None:
    case = build_case("signal", SMALL)
    assert case.tokens().targets.shape == (4, 16, 4)  # B=4 signals, L=64/4 windows, p=4


@pytest.mark.parametrize("overrides", [["masker.name=random", "masker.ratio=0.75"], ["model.patch_size=8"],
                                       ["views=2", "regularizers.comask.weight=1"], ["encoder.dropout=0.1"]])
def test_modality_conforms_in_other_configurations(overrides: list[str]) -> None:
    check_modality("signal", [*SMALL, *overrides])


def test_encoder_and_decoder_conform_with_other_widths() -> None:
    case = build_case("signal", [*SMALL, "encoder.embed_dim=16", "encoder.num_heads=4", "decoder.embed_dim=8"])
    check_encoder(case.model.encoder, case.tokens, masker=case.model.masker, name="signal_transformer")
    check_decoder(case.model.decoders[0], case.model.encoder, case.tokens, name="signal_mixer")


def test_signals_are_reproducible_and_splits_differ() -> None:
    modality = SignalModality(SignalData(samples=32, test_samples=8), SignalModel())
    train, test = modality.build_dataset("train"), modality.build_dataset("test")
    again = modality.build_dataset("train")
    assert torch.equal(train.tensors[0], again.tensors[0]) and len(train) == 32 and len(test) == 8
    assert not torch.equal(train.tensors[0][:8], test.tensors[0])
    x, y = train[0]
    assert x.shape == (64,) and x.dtype == torch.float32 and y.dtype == torch.int64
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        modality.build_dataset("val")


def test_classes_have_their_own_frequencies() -> None:
    signals, labels = make_signals(200, 64, 3, 0.0, seed=0).tensors
    spectrum = torch.fft.rfft(signals).abs()  # [N, 33]
    for label, (f1, f2) in enumerate([(1, 3), (2, 5), (3, 7)]):
        peaks = spectrum[labels == label].mean(dim=0).topk(2).indices
        assert set(peaks.tolist()) == {f1, f2}


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"model.patch_size=5 must divide data.length=64"):
        SignalModality(SignalData(), SignalModel(patch_size=5))
    with pytest.raises(ConfigError, match=r"unknown config key 'data.lenght'.*Did you mean 'data.length'"):
        build_modality(maskssl.load_config("signal", overrides=["data.lenght=32"]))


def test_loss_falls_in_a_short_run(tmp_path: Path) -> None:
    config = maskssl.load_config("signal", overrides=["data.samples=128", "train.epochs=8", "train.log_every=1"])
    result = maskssl.train(config, tmp_path / "run", progress=False)
    losses = [json.loads(line)["loss"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert result.step == len(losses) == 64  # 128 signals / batch 16 = 8 steps per epoch
    assert sum(losses[-8:]) / 8 < 0.5 * sum(losses[:8]) / 8
