"""``maskssl export --format timm``: the ViT encoder as a timm VisionTransformer that gives the same features."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from timm.models.vision_transformer import VisionTransformer

from maskssl import MaskSSLError, Tokens, load_config, train
from maskssl.checkpoints.export import export_encoder, load_encoder
from maskssl.checkpoints.pretrained import load_pretrained
from maskssl_image.encoder import ViTEncoder
from maskssl_image.export_timm import timm_kwargs, timm_state_dict

REPO = Path(__file__).resolve().parents[3]
TOY = str(REPO / "tests" / "toy.py")
TINY = ["encoder.embed_dim=32", "encoder.depth=2", "encoder.num_heads=2", "decoder.embed_dim=16", "decoder.depth=1",
        "decoder.num_heads=2", "data.limit=64", "train.batch_size=32", "train.log_every=1"]
HEAD = ["head.bias", "head.weight"]  # sorted


def _maskssl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maskssl", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def image_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("image") / "run"
    train(load_config("image", overrides=[*TINY, "train.max_steps=2"]), run, progress=False)
    return run


@pytest.fixture(scope="module")
def exported(image_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    weights, meta = export_encoder(image_run, tmp_path_factory.mktemp("export") / "vit.safetensors", format="timm")
    return weights, json.loads(meta.read_text())


def _timm_model(kwargs: dict, state: dict[str, torch.Tensor], num_classes: int) -> VisionTransformer:
    model = VisionTransformer(**kwargs, num_classes=num_classes)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert sorted(missing) == (HEAD if num_classes else []) and unexpected == []
    return model.eval()


@pytest.mark.slow
@pytest.mark.parametrize("num_classes", [0, 10])
def test_timm_model_loads_the_export_and_gives_the_same_features(
    image_run: Path, exported: tuple[Path, dict], num_classes: int
) -> None:
    weights, meta = exported
    assert meta["format"] == "maskssl-timm-vit-v1" and meta["modality"] == "image" and meta["step"] == 2
    kwargs = meta["timm"]["kwargs"]
    assert kwargs == {"img_size": 8, "patch_size": 2, "in_chans": 1, "embed_dim": 32, "depth": 2, "num_heads": 2,
                      "mlp_ratio": 4.0, "qkv_bias": True, "class_token": True, "global_pool": "token",
                      "fc_norm": False}
    state = load_file(str(weights))
    pretrained = load_pretrained(image_run, torch.device("cpu"))
    encoder = pretrained.model.encoder
    assert state["pos_embed"].shape == (1, 1 + 16, 32) and torch.equal(state["pos_embed"], encoder.pos_embed)
    assert state["pos_embed"][0, 1:].abs().sum() > 0  # the sin-cos values, not zeros
    timm_model = _timm_model(kwargs, state, num_classes)
    images = torch.randn(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    tokens = pretrained.modality.tokenize((images, torch.zeros(4, dtype=torch.long)), torch.device("cpu"))
    with torch.no_grad():
        ours = encoder(tokens, None)
        features = timm_model.forward_features(images)  # [B, 1+L, D]
        cls = timm_model.forward_head(features, pre_logits=True)  # [B, D]
    assert features.shape == ours.latent.shape == (4, 17, 32)
    assert (features - ours.latent).abs().max() < 1e-5
    assert (cls - ours.pooled).abs().max() < 1e-5 and (cls - ours.latent[:, 0]).abs().max() < 1e-5
    if num_classes:
        assert timm_model(images).shape == (4, num_classes)


def test_mean_pool_and_non_square_images_map_to_avg_pool() -> None:
    torch.manual_seed(0)
    encoder = ViTEncoder((8, 12), in_chans=3, patch_size=4, embed_dim=16, depth=1, num_heads=2, pool="mean").eval()
    kwargs = timm_kwargs(encoder)
    assert kwargs["img_size"] == [8, 12] and kwargs["global_pool"] == "avg" and kwargs["fc_norm"] is False
    timm_model = _timm_model(kwargs, timm_state_dict(encoder), 0)
    images = torch.randn(2, 3, 8, 12)
    with torch.no_grad():
        ours = encoder(Tokens(inputs=images, targets=images, grid=(2, 3)), None)
        features = timm_model.forward_features(images)
        pooled = timm_model.forward_head(features, pre_logits=True)
    assert (features - ours.latent).abs().max() < 1e-5 and (pooled - ours.pooled).abs().max() < 1e-5


@pytest.mark.slow
def test_maskssl_export_json_says_how_to_rebuild_the_encoder(image_run: Path, tmp_path: Path) -> None:
    weights, meta = export_encoder(image_run, tmp_path / "enc.safetensors")
    rebuild = json.loads(meta.read_text())["rebuild"]
    assert rebuild["distribution"] == "maskssl-image" and rebuild["class"] == "maskssl_image.encoder:ViTEncoder"
    assert "image" in rebuild["built_by"] and "load_encoder(" in rebuild["python"]
    encoder = load_encoder(weights)
    assert isinstance(encoder, ViTEncoder)
    state = load_file(str(weights))
    assert all(torch.equal(t, state[k]) for k, t in encoder.state_dict().items())


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import tests.toy  # noqa: F401  (registers the toy modality)

    run = tmp_path_factory.mktemp("toy") / "run"
    train(load_config("toy", None, ["train.max_steps=2"]), run, progress=False)
    return run


@pytest.mark.slow
@pytest.mark.integration
def test_a_non_image_run_refuses_the_timm_format(toy_run: Path, tmp_path: Path) -> None:
    with pytest.raises(MaskSSLError, match="--format timm exports ViT image encoders.*toy_mlp.*use --format maskssl"):
        export_encoder(toy_run, tmp_path / "x.safetensors", format="timm")
    assert not list(tmp_path.iterdir())  # nothing written
    line = _maskssl("export", str(toy_run), "--import", TOY, "--format", "timm", "--out", str(tmp_path / "x"))
    assert line.returncode == 2 and len(line.stderr.strip().splitlines()) == 1, line.stderr
    assert "use --format maskssl" in line.stderr


@pytest.mark.slow
@pytest.mark.integration
def test_cli_exports_timm_and_says_how_to_load_it(image_run: Path, tmp_path: Path) -> None:
    result = _maskssl("export", str(image_run), "--format", "timm", "--out", str(tmp_path / "vit"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "vit.safetensors").read_bytes()[8:9] == b"{"  # safetensors: u64 header size, then JSON
    meta = json.loads((tmp_path / "vit.json").read_text())
    assert meta["timm"]["python"] in result.stdout and "VisionTransformer(**kwargs" in result.stdout
    assert set(load_file(str(tmp_path / "vit.safetensors"))) >= {"pos_embed", "cls_token", "patch_embed.proj.weight"}


@pytest.mark.slow
def test_an_export_does_not_replace_a_json_file_it_did_not_write(image_run: Path, tmp_path: Path) -> None:
    mine = tmp_path / "model.json"
    mine.write_text('{"my": "settings"}')
    with pytest.raises(MaskSSLError, match="model.json exists and is not the metadata of a maskssl export"):
        export_encoder(image_run, tmp_path / "model.safetensors")
    assert mine.read_text() == '{"my": "settings"}' and not (tmp_path / "model.safetensors").exists()
    weights, meta = export_encoder(image_run, tmp_path / "again.safetensors")
    first = meta.read_text()
    export_encoder(image_run, tmp_path / "again.safetensors", format="timm")  # an export replaces its own files
    assert json.loads(meta.read_text())["format"] != json.loads(first)["format"]
