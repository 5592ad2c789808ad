"""``train.init_from``: continued pretraining from another run's encoder (e.g. MAE, then U-MAE)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

import tests.toy  # noqa: F401  (registers the toy modality)
from maskssl.checkpoints.io import list_checkpoints, load_checkpoint
from maskssl.config.load import load_config
from maskssl.errors import CheckpointError, ConfigError
from maskssl.finetune import load_finetune_config
from maskssl.pretrain import PretrainTask, train


@pytest.fixture(scope="module")
def mae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("init") / "mae"
    train(load_config("toy", None, ["train.max_steps=4", "regularizers.uniformity=null"]), run, progress=False)
    return run


def test_the_encoder_starts_from_the_other_run_and_the_keys_are_reported(
    mae_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config("toy", None, [f"train.init_from={mae_run}", "regularizers.uniformity.weight=0.01"])
    model = PretrainTask(config).build_model()
    source = load_checkpoint(list_checkpoints(mae_run)[-1])["model"]
    assert all(torch.equal(t, source[f"encoder.{k}"]) for k, t in model.encoder.state_dict().items())
    assert not torch.equal(model.decoders[0].head.weight, source["decoders.0.head.weight"])  # only the encoder
    err = capsys.readouterr().err
    assert f"train.init_from {mae_run} (step 4): 3 tensors matched; missing (kept at initialisation): none" in err


def test_resume_does_not_need_the_source_again(mae_run: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(mae_run, source)
    overrides = [f"train.init_from={source}", "train.max_steps=2"]
    train(load_config("toy", None, overrides), tmp_path / "run", progress=False)
    shutil.rmtree(source)
    resumed = train(load_config("toy", None, [*overrides[:1], "train.max_steps=4"]), tmp_path / "run", resume=True,
                    progress=False)
    assert resumed.step == 4


def test_a_mismatched_shape_modality_or_task_is_a_clear_error(mae_run: Path, tmp_path: Path) -> None:
    wide = load_config("toy", None, [f"train.init_from={mae_run}", "encoder.embed_dim=8"])
    with pytest.raises(CheckpointError, match=r"shape pretrained vs built: .*embed.weight \(16, 4\) vs \(8, 4\)"):
        PretrainTask(wide).build_model()
    with pytest.raises(ConfigError, match="train.init_from is for pretraining"):
        load_finetune_config(mae_run, None, [f"train.init_from={mae_run}"])
    with pytest.raises(CheckpointError, match="does not exist"):
        PretrainTask(load_config("toy", None, [f"train.init_from={tmp_path / 'nowhere'}"])).build_model()
