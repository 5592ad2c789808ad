"""Conformance of a modality end to end: data, tokens, its encoder / decoders / masker, the composite model."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import cast

import torch

from maskssl.engine.device import autocast, autocast_dtype
from maskssl.eval.evaluate import PROTOCOL_SPLITS
from maskssl.interfaces import Decoder, Modality, Tokens
from maskssl.model import StepOutput
from maskssl.testing.case import ModalityCase, build_case, dataset_split
from maskssl.testing.decoder import check_decoded, check_decoder
from maskssl.testing.encoder import DETERMINISM_FIX, check_encoded, check_encoder
from maskssl.testing.errors import describe, fail, run
from maskssl.testing.masker import check_mask
from maskssl.testing.runtime import DeviceLike, generator, global_seed, placed, resolve_devices
from maskssl.testing.tensors import expect_close, expect_gradients, expect_tensor


def check_tokens(tokens: object, component: str, device: torch.device) -> Tokens:
    """``tokens`` is Tokens on ``device``: targets float [B, L, T]; positions [B, L, P] or None; grid None
    or sizes whose product is L; labels integer [N] or None; context a dict."""
    if not isinstance(tokens, Tokens):
        raise fail(component, "tokenize returns Tokens", f"got a {type(tokens).__name__}", "return maskssl.Tokens")
    fix = "see maskssl.Tokens: targets [B, L, T], positions [B, L, P], labels [N], all on the given device"
    targets = expect_tensor(tokens.targets, component, "Tokens shapes", "Tokens.targets",
                            [("B", None), ("L", None), ("T", None)], "float", device, fix)
    if min(targets.shape) < 1:
        raise fail(component, "Tokens shapes", f"Tokens.targets is empty: {list(targets.shape)}", fix)
    batch, length, _ = targets.shape
    if tokens.positions is not None:
        expect_tensor(tokens.positions, component, "Tokens shapes", "Tokens.positions",
                      [("B", batch), ("L", length), ("P", None)], "float", device, fix)
    if tokens.grid is not None and (
        not all(isinstance(n, int) for n in tokens.grid) or math.prod(tokens.grid) != length
    ):
        raise fail(component, "Tokens.grid", f"grid={tokens.grid} does not lay out L={length} tokens",
                   "set grid to the token layout, e.g. (H/p, W/p) with product L, or None")
    if tokens.labels is not None:
        expect_tensor(tokens.labels, component, "Tokens shapes", "Tokens.labels", [("S", None)], "integer",
                      device, fix)
    if not isinstance(tokens.context, dict):
        raise fail(component, "Tokens.context", f"context is a {type(tokens.context).__name__}", "use a dict")
    return tokens


def _check_class(case: ModalityCase, component: str, registered: bool) -> None:
    modality = case.modality
    if registered and getattr(modality, "name", None) != case.name:
        raise fail(component, "name", f"Modality.name is {getattr(modality, 'name', None)!r}, registered as "
                   f"{case.name!r}", f"set the class attribute name = {case.name!r}")
    for attribute in ("data_config", "model_config"):
        value = getattr(type(modality), attribute, None)
        if not (isinstance(value, type) and dataclasses.is_dataclass(value)):
            raise fail(component, attribute, f"{attribute} is {value!r}",
                       f"set {attribute} to a dataclass whose fields (with defaults) are the config's keys")
    protocol = modality.evaluation_protocol()
    if protocol not in PROTOCOL_SPLITS:
        raise fail(component, "evaluation protocol", f"evaluation_protocol() is {protocol!r}",
                   f"return one of {', '.join(PROTOCOL_SPLITS)}")
    default_features = type(modality).evaluation_features is Modality.evaluation_features
    if default_features and protocol != "probe":
        raise fail(component, "evaluation protocol", f"protocol {protocol!r} reads the splits "
                   f"{PROTOCOL_SPLITS[protocol]}, the default evaluation_features gives train and test",
                   "override evaluation_features to return those splits, or use the probe protocol")
    dataset_split(modality, "test", component)  # evaluation reads it (masked-view alignment, default features)


def _check_step(case: ModalityCase, tokens: Tokens, device: torch.device, component: str) -> None:
    """The composite model's training forward and backward, as the loop runs it (autocast per train.precision)."""
    model, seed = case.model, case.seed
    amp = autocast_dtype(case.config.train.precision, device)

    def step(mask_seed: int) -> StepOutput:
        with global_seed(seed, device), autocast(device, amp):
            return run(component, "trains", f"MaskedAutoencoder forward on {device}",
                       lambda: model(tokens, generator(mask_seed, device)))

    out = step(seed)
    fix = "the reconstruction loss and every regularizer must return a finite float scalar"
    expect_tensor(out.loss, component, "finite scalar loss", "the training loss", [], "float", device, fix)
    for name, term in out.terms.items():
        expect_tensor(term, component, "finite scalar loss", f"the loss term {name!r}", [], "float", device, fix)
    for view in out.views:
        check_encoded(view.encoded, model.encoder.embed_dim, tokens, describe("encoder", model.encoder))
        check_decoded(view.decoded, tokens, describe("decoder", model.decoders[0]))
    expect_close(out.loss, step(seed).loss, component, "same seed, same loss", "the training loss", DETERMINISM_FIX)
    if not out.loss.requires_grad:
        raise fail(component, "differentiable loss", "the training loss does not require grad",
                   "compute reconstruction_loss from decoded.prediction without detaching it")
    out.loss.backward()
    expect_gradients(model, component, "the training loss (reconstruction + regularizers)")


def _check_features(case: ModalityCase, device: torch.device, component: str) -> None:
    modality, encoder = case.modality, case.model.encoder
    tokens = case.tokens(device, training=False)
    with torch.no_grad():
        features = run(component, "features", f"features(encoder, tokens) on {device}",
                       lambda: modality.features(encoder, tokens))
    expect_tensor(features, component, "evaluation features", "features(encoder, tokens)", [("N", None), ("D", None)],
                  "float", device, "return frozen features [N, D], one row per evaluated sample")
    default_features = type(modality).evaluation_features is Modality.evaluation_features
    if default_features and tokens.labels is not None and features.shape[0] != tokens.labels.shape[0]:
        raise fail(component, "evaluation features", f"features has {features.shape[0]} rows for "
                   f"{tokens.labels.shape[0]} labels", "return one feature row per label (the probe pairs them)")


def _check_head(case: ModalityCase, device: torch.device, component: str, num_classes: int = 3) -> None:
    """The fine-tuning head, when the modality has one: logits [N, C], one row per label, and gradients."""
    modality, encoder = case.modality, case.model.encoder
    if type(modality).build_head is Modality.build_head:
        return  # no fine-tuning support: maskssl finetune says so
    head_config = type(modality).head_config
    if not (isinstance(head_config, type) and dataclasses.is_dataclass(head_config)):
        raise fail(component, "head_config", f"head_config is {head_config!r}",
                   "set head_config to a dataclass whose fields (with defaults) are the finetune.head keys")
    head = run(component, "fine-tuning head", "build_head(encoder, 3, head_config())",
               lambda: modality.build_head(encoder, num_classes, head_config()))
    tokens = case.tokens(device)
    with placed(head, device, training=True):
        logits = run(component, "fine-tuning head", f"head(encoder(tokens, None), tokens) on {device}",
                     lambda: head(encoder(tokens, None), tokens))
        rows = tokens.labels.shape[0] if tokens.labels is not None else tokens.batch_size
        expect_tensor(logits, component, "fine-tuning head", "the head's logits", [("S", rows), ("C", num_classes)],
                      "float", device, "return logits [N, num_classes], one row per label of tokens.labels")
        logits.float().square().mean().backward()
        expect_gradients(head, component, "the head's logits")


def check_modality(
    modality: str | Modality,
    overrides: Sequence[str] = (),
    *,
    batch_size: int = 4,
    random: bool = True,
    devices: Sequence[DeviceLike] | None = None,
    seed: int = 0,
) -> ModalityCase:
    """Check a modality and the model its recipe builds; raises ConformanceError on the first violation.

    Args:
        modality: a registered name or an instance (see ``build_case``).
        overrides: ``key=value`` config overrides, e.g. to make the model tiny ("encoder.depth=1").
        batch_size: samples of split "train" in the checked batch.
        random: passed to ``check_mask`` (False for a recipe whose masker is deterministic by design).
        devices: default ``available_devices()`` (CUDA only when available; otherwise skipped silently).

    Checked: ``name`` matches the registered name; ``data_config`` / ``model_config`` are dataclasses; the
    evaluation protocol is known and its splits exist; ``build_dataset("train")`` and ``("test")`` are
    non-empty; collate + tokenize give valid Tokens (``check_tokens``) on every device; the recipe's
    masker passes ``check_mask`` on them, its encoder ``check_encoder`` and each decoder ``check_decoder``;
    the composite ``MaskedAutoencoder`` (``maskssl.build.build_model``) gives a finite scalar loss and
    terms, the same loss for the same seed, and a gradient to every trainable parameter; ``features``
    gives [N, D]; a fine-tuning head (``build_head``, when the modality has one) gives logits [N, C], one
    row per label, with a gradient to each of its parameters. Returns the case, for further checks of your own.
    """
    case = build_case(modality, overrides, batch_size=batch_size, seed=seed)
    component = describe("modality", case.modality, case.name)
    _check_class(case, component, registered=isinstance(modality, str))
    model = case.model
    masker_component = f"{describe('masker', model.masker, case.config.masker.get('name'))} built as {model.masker!r}"
    for device in resolve_devices(devices):
        tokens = check_tokens(case.tokens(device), component, device)
        check_mask(model.masker, tokens, masker_component, seed, random)
        check_encoder(model.encoder, case.tokens, masker=model.masker, devices=[device], seed=seed,
                      name=case.config.encoder.get("name"))
        for decoder in cast(Sequence[Decoder], model.decoders):  # nn.ModuleList is typed as holding Modules
            check_decoder(decoder, model.encoder, case.tokens, masker=model.masker, devices=[device], seed=seed,
                          name=case.config.decoder.get("name"))
        with placed(model, device, training=True):
            _check_step(case, tokens, device, component)
            model.eval()
            _check_features(case, device, component)
            model.train()
            _check_head(case, device, component)
    return case


__all__ = ["check_modality", "check_tokens"]
