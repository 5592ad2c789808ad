"""Fine-tuning on the shared loop (toy modality): learning, results, resume, weight loading, errors, tricks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import tests.toy  # noqa: F401  (registers the toy modality)
from maskssl import Encoded, Encoder, Tokens
from maskssl.checkpoints.export import export_encoder
from maskssl.checkpoints.io import list_checkpoints, load_checkpoint
from maskssl.config.load import load_config
from maskssl.engine.metrics import read_metrics
from maskssl.errors import CheckpointError, ConfigError
from maskssl.finetune import FinetuneSection, FinetuneTask, PretrainedSource, finetune, load_finetune_config
from maskssl.finetune.labels import balanced_subset
from maskssl.finetune.layer_decay import layer_decay_groups
from maskssl.finetune.objective import ClassificationObjective
from maskssl.pretrain import train

FINETUNE = ["train.epochs=4", "train.batch_size=8", "train.lr=0.05", "train.ckpt_every=4", "train.log_every=1"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("pretrain") / "run"
    train(load_config("toy", None, ["train.max_steps=6", "train.lr=0.02"]), run, progress=False)
    return run


def _losses(run_dir: Path) -> dict[int, float]:
    return {r["step"]: r["loss"] for r in read_metrics(run_dir) if "loss" in r}


def test_finetune_learns_and_reports_best_and_last(pretrained: Path, tmp_path: Path) -> None:
    config = load_finetune_config(pretrained, None, [*FINETUNE, "finetune.eval_every=2"])
    result = finetune(config, tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert [e["epoch"] for e in report["evaluations"]] == [1, 3]  # every 2 epochs; the last is one of them
    assert report["last"] == report["evaluations"][-1] == result.evaluations[-1]
    assert report["best"]["top1"] == max(e["top1"] for e in report["evaluations"])
    assert report["num_classes"] == 4 and "top5" not in report["last"]  # top-5 only beyond 10 classes
    assert report["last"]["top1"] > 80  # four separable classes (chance: 25%)
    assert report["pretrained"] == str(pretrained) and report["random_init"] is False
    eval_records = [r for r in read_metrics(tmp_path / "ft") if "eval_top1" in r]
    assert [r["step"] for r in eval_records] == [16, 32]


def test_finetune_resume_is_exact(pretrained: Path, tmp_path: Path) -> None:
    full = finetune(load_finetune_config(pretrained, None, FINETUNE), tmp_path / "full", progress=False)
    finetune(load_finetune_config(pretrained, None, [*FINETUNE, "train.max_steps=6"]), tmp_path / "cut", progress=False)
    (tmp_path / "cut" / "checkpoints" / "step_00000006.pt").unlink()  # died before its checkpoint landed
    config = load_finetune_config(pretrained, None, [*FINETUNE, "train.max_steps=32"])
    resumed = finetune(config, tmp_path / "cut", resume=True, progress=False)
    assert resumed.step == full.step == 32
    assert _losses(tmp_path / "cut") == _losses(tmp_path / "full")
    a = load_checkpoint(list_checkpoints(tmp_path / "full")[-1])["model"]
    b = load_checkpoint(list_checkpoints(tmp_path / "cut")[-1])["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the evaluations of the cut run's first epochs come back from its checkpoint
    assert resumed.evaluations == full.evaluations


def _start_weights(source: Path, *overrides: str) -> dict[str, torch.Tensor]:
    config = load_finetune_config(source, None, list(overrides))
    task = FinetuneTask(config, None if config.finetune.random_init else PretrainedSource.open(source))
    torch.manual_seed(config.train.seed)
    return task.build_model().state_dict()


def test_run_checkpoint_and_export_start_from_the_same_weights(pretrained: Path, tmp_path: Path) -> None:
    checkpoint = list_checkpoints(pretrained)[-1]
    weights, _ = export_encoder(pretrained, tmp_path / "encoder.safetensors")
    from_run, from_checkpoint, from_export = (_start_weights(p) for p in (pretrained, checkpoint, weights))
    for other in (from_checkpoint, from_export):
        assert all(torch.equal(from_run[k], other[k]) for k in from_run)
    random = _start_weights(pretrained, "finetune.random_init=true")
    assert not torch.equal(random["encoder.embed.weight"], from_run["encoder.embed.weight"])
    assert torch.equal(random["head.linear.weight"], from_run["head.linear.weight"])  # same seed, same head


def test_the_pretrained_weights_decide_the_first_logits(pretrained: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    train(load_config("toy", None, ["train.max_steps=6", "train.lr=0.02", "train.seed=1"]), other, progress=False)
    tokens = Tokens(inputs=None, targets=torch.randn(5, 8, 4))
    with torch.no_grad():
        logits = [_model(source)(tokens) for source in (pretrained, other)]
    assert not torch.allclose(logits[0], logits[1])


def _model(source: Path) -> nn.Module:
    config = load_finetune_config(source, None, [])
    torch.manual_seed(0)
    return FinetuneTask(config, PretrainedSource.open(source)).build_model().eval()


def test_a_pretrained_encoder_of_another_shape_or_kind_is_a_clear_error(pretrained: Path, tmp_path: Path) -> None:
    config = load_finetune_config(pretrained, None, [*FINETUNE, "encoder.embed_dim=8"])
    with pytest.raises(CheckpointError, match=r"shape pretrained vs built: .*'embed.weight \(16, 4\) vs \(8, 4\)'"):
        finetune(config, tmp_path / "shape", progress=False)
    finetune(load_finetune_config(pretrained, None, [*FINETUNE, "train.max_steps=2"]), tmp_path / "ft", progress=False)
    with pytest.raises(CheckpointError, match="is a finetune checkpoint; fine-tune from a pretraining run"):
        load_finetune_config(tmp_path / "ft", None, [])
    with pytest.raises(CheckpointError, match="evaluation and export read pretraining runs"):
        export_encoder(tmp_path / "ft", tmp_path / "encoder.safetensors")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_finetune_config(tmp_path / "nowhere", None, [])
    with pytest.raises(ConfigError, match="takes its modality from PRETRAINED"):
        load_finetune_config(pretrained, None, ["modality=image"])
    with pytest.raises(ConfigError, match="does not allow"):
        load_finetune_config(pretrained, None, ["finetune.mixup=0.8"])  # the toy modality has no mixup
    with pytest.raises(ConfigError, match="unknown config key 'finetune.smoothing'"):
        load_finetune_config(pretrained, None, ["finetune.smoothing=0.1"])


class _Blocks(Encoder):
    """Three linear blocks between an embedding and a final norm."""

    def __init__(self) -> None:
        super().__init__()
        self.embed_dim = 4
        self.embed = nn.Linear(2, 4)
        self.blocks = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))
        self.norm = nn.LayerNorm(4)

    def forward(self, tokens: Tokens, mask: torch.Tensor | None = None) -> Encoded:
        raise NotImplementedError


def test_layer_decay_scales_each_block_and_spares_norms_and_biases() -> None:
    encoder, head = _Blocks(), nn.Linear(4, 3)
    groups = layer_decay_groups(encoder, head, weight_decay=0.05, layer_decay=0.5)
    scale_of = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    decay_of = {id(p): g["weight_decay"] for g in groups for p in g["params"]}
    assert scale_of[id(encoder.embed.weight)] == 0.5**4
    assert [scale_of[id(block.weight)] for block in encoder.blocks] == [0.5**3, 0.5**2, 0.5**1]
    assert scale_of[id(encoder.norm.weight)] == scale_of[id(head.weight)] == 1.0
    assert decay_of[id(encoder.blocks[0].weight)] == 0.05
    assert decay_of[id(encoder.blocks[0].bias)] == decay_of[id(encoder.norm.weight)] == 0.0
    assert sum(len(g["params"]) for g in groups) == len(list(encoder.parameters())) + 2


def test_mixup_and_cutmix_targets_are_distributions() -> None:
    section = FinetuneSection(mixup=0.8, cutmix=1.0, label_smoothing=0.1)
    objective = ClassificationObjective(section, num_classes=5)
    images, labels = torch.rand(8, 1, 8, 8), torch.arange(8) % 5
    mixed, targets = objective.mix(images.clone(), labels)
    assert targets.shape == (8, 5) and torch.allclose(targets.sum(dim=1), torch.ones(8))
    assert (targets > 0).sum(dim=1).min() >= 2  # smoothing (and mixing) spread the mass
    loss, terms = objective.loss(torch.randn(8, 5), targets)
    assert loss.ndim == 0 and "train_accuracy" not in terms


def test_label_fractions_are_class_balanced_seeded_and_nested() -> None:
    labels = torch.tensor([0] * 50 + [1] * 30 + [2] * 20)
    tenth = balanced_subset(labels, 0.1, seed=0)
    assert torch.bincount(labels[tenth]).tolist() == [5, 3, 2]
    assert torch.equal(tenth, balanced_subset(labels, 0.1, seed=0))
    assert not torch.equal(tenth, balanced_subset(labels, 0.1, seed=1))
    assert set(tenth.tolist()) <= set(balanced_subset(labels, 0.5, seed=0).tolist())
    assert torch.bincount(labels[balanced_subset(labels, 0.01, seed=0)]).tolist() == [1, 1, 1]  # at least one each


def test_label_fraction_trains_on_the_subset(pretrained: Path, tmp_path: Path) -> None:
    config = load_finetune_config(pretrained, None, [*FINETUNE, "finetune.label_fraction=0.25", "train.max_steps=2"])
    finetune(config, tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert report["train_samples"] == 16  # 64 toy samples, a quarter of each class


def test_few_shot_episodes_draw_n_classes_k_shots_and_relabel(pretrained: Path, tmp_path: Path) -> None:
    overrides = ["finetune.ways=2", "finetune.shots=4", "finetune.queries=5", "train.batch_size=4", "train.max_steps=2"]
    task = FinetuneTask(load_finetune_config(pretrained, None, [*overrides, "finetune.episode=3"]), None)
    train_set = task.train_dataset()
    assert len(train_set) == 8 and len(task.test_dataset) == 10 and task.num_classes == 2
    assert sorted(int(train_set[i][1]) for i in range(8)) == [0] * 4 + [1] * 4
    original = task.modality.sample_labels(task.modality.finetune_dataset("train"))
    kept = original[task.keep]
    assert sorted(kept.unique().tolist()) == sorted(task.episode.classes.tolist())
    other = FinetuneTask(load_finetune_config(pretrained, None, [*overrides, "finetune.episode=4"]), None)
    assert not torch.equal(other.keep, task.keep)  # another episode, other samples
    finetune(load_finetune_config(pretrained, None, overrides), tmp_path / "ft", progress=False)
    report = json.loads((tmp_path / "ft" / "results.json").read_text())
    assert report["train_samples"] == 8 and len(report["episode_classes"]) == 2
    with pytest.raises(ConfigError, match="only 4 classes"):
        FinetuneTask(load_finetune_config(pretrained, None, ["finetune.ways=5", "finetune.queries=5"]), None)
