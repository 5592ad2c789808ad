"""maskssl.utils.distributed: rank helpers, and an all-gather whose gradients do not depend on the split.

The DDP test runs 2 CPU processes (gloo) with batch B each and compares with one process holding
the whole batch 2B: same loss, same parameter gradients. A negative control uses the "local slice
only" gather of the public U-MAE code and shows that its regularizer gradient is 1/world_size too small.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
from torch import Tensor, nn

from maskssl.interfaces import Decoded, Encoded, ViewOutput
from maskssl.regularizers.uniformity import UniformityRegularizer, uniformity_loss
from maskssl.utils import distributed
from maskssl.utils.distributed import DistInfo, gather_with_grad, init_distributed

WORLD = 2
LOCAL_BATCH = 4
IN_DIM, FEAT_DIM = 5, 3
UNIF_WEIGHT = 1.0


# ---- pieces shared by the workers and the single-process reference (module level: picklable) --------------


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Linear(IN_DIM, FEAT_DIM).double()


def make_batch() -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(WORLD * LOCAL_BATCH, IN_DIM, generator=gen, dtype=torch.float64)
    y = torch.randn(WORLD * LOCAL_BATCH, FEAT_DIM, generator=gen, dtype=torch.float64)
    return x, y


def as_view(features: Tensor) -> ViewOutput:
    b = features.shape[0]
    return ViewOutput(
        mask=torch.zeros(b, 1, dtype=torch.bool),
        encoded=Encoded(latent=features[:, None, :], pooled=features),
        decoded=Decoded(prediction=features[:, None, :], hidden=features[:, None, :]),
    )


def uniformity_term(features: Tensor) -> Tensor:
    """The regularizer as the model uses it: it gathers the global batch itself."""
    return UniformityRegularizer()([as_view(features)])


class _LocalSliceGather(torch.autograd.Function):
    """The naive gather: all_gather forward, backward returns only this rank's slice of *its own* gradient."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        ctx.local_size = x.shape[0]
        parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, x.contiguous())
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        start = dist.get_rank() * ctx.local_size
        return grad[start : start + ctx.local_size]


def naive_uniformity_term(features: Tensor) -> Tensor:
    return uniformity_loss(_LocalSliceGather.apply(features))


def grads_of(model: nn.Module) -> dict[str, Tensor]:
    return {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def _worker(rank: int, out_dir: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank))
    info = init_distributed("cpu")
    try:
        result: dict[str, object] = {"info": info, "rank": distributed.rank(), "world": distributed.world_size()}
        model = torch.nn.parallel.DistributedDataParallel(make_model())
        x, y = make_batch()
        local = slice(rank * LOCAL_BATCH, (rank + 1) * LOCAL_BATCH)
        x, y = x[local], y[local]

        for label, term in (("exact", uniformity_term), ("naive", naive_uniformity_term)):
            model.zero_grad(set_to_none=True)
            features = model(x)
            unif = term(features)
            loss = UNIF_WEIGHT * unif + F.mse_loss(features, y)
            loss.backward()  # DDP averages the gradients over the 2 processes
            result[label] = {"loss": loss.detach(), "unif": unif.detach(), "grads": grads_of(model.module)}

        gathered = gather_with_grad(torch.full((LOCAL_BATCH, 2), float(rank), dtype=torch.float64))
        result["gathered"] = gathered
        try:
            gather_with_grad(torch.zeros(rank + 1, 2))  # unequal batch sizes
        except RuntimeError as exc:
            result["unequal_error"] = str(exc)
        torch.save(result, Path(out_dir) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out_dir = tmp_path_factory.mktemp("ddp")
    saved = {k: os.environ.get(k) for k in ("MASTER_ADDR", "MASTER_PORT")}
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(free_port()))
    try:
        context = mp.spawn(_worker, args=(str(out_dir),), nprocs=WORLD, join=False)
        deadline = time.monotonic() + 60
        while not context.join(timeout=1):
            if time.monotonic() > deadline:
                for process in context.processes:
                    if process.is_alive():
                        process.kill()
                pytest.fail("DDP workers did not finish within 60 s")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


@pytest.fixture(scope="module")
def reference() -> dict:
    """One process, whole batch 2B: the loss, and the gradients of each term separately."""
    assert not dist.is_initialized()
    x, y = make_batch()
    model = make_model()
    features = model(x)
    unif = uniformity_term(features)
    mse = F.mse_loss(features, y)
    loss = UNIF_WEIGHT * unif + mse
    names, params = zip(*model.named_parameters())
    unif_grads = dict(zip(names, torch.autograd.grad(UNIF_WEIGHT * unif, params, retain_graph=True)))
    mse_grads = dict(zip(names, torch.autograd.grad(mse, params, retain_graph=True)))
    loss.backward()
    return {
        "loss": loss.detach(),
        "unif": unif.detach(),
        "grads": grads_of(model),
        "unif_grads": unif_grads,
        "mse_grads": mse_grads,
    }


@pytest.mark.slow
@pytest.mark.integration
def test_init_distributed_and_rank_helpers(ddp_results: list[dict]) -> None:
    for r, result in enumerate(ddp_results):
        assert result["info"] == DistInfo(rank=r, world_size=WORLD, local_rank=r)
        assert result["info"].enabled and result["info"].is_main == (r == 0)
        assert result["rank"] == r and result["world"] == WORLD


@pytest.mark.slow
@pytest.mark.integration
def test_gather_concatenates_in_rank_order(ddp_results: list[dict]) -> None:
    expected = torch.cat([torch.full((LOCAL_BATCH, 2), float(r), dtype=torch.float64) for r in range(WORLD)])
    for result in ddp_results:
        assert torch.equal(result["gathered"], expected)


@pytest.mark.slow
@pytest.mark.integration
def test_gather_rejects_unequal_batch_sizes(ddp_results: list[dict]) -> None:
    for result in ddp_results:
        assert "equal batch sizes" in result["unequal_error"] and "[1, 2]" in result["unequal_error"]


@pytest.mark.slow
@pytest.mark.integration
def test_two_processes_match_one_process_with_the_whole_batch(ddp_results: list[dict], reference: dict) -> None:
    exact = [r["exact"] for r in ddp_results]
    for result in exact:  # the regularizer sees the global batch on every rank
        assert torch.allclose(result["unif"], reference["unif"], rtol=1e-12, atol=1e-14)
    mean_loss = sum(result["loss"] for result in exact) / WORLD  # the MSE part is local, DDP averages it
    assert torch.allclose(mean_loss, reference["loss"], rtol=1e-12, atol=1e-14)
    for result in exact:
        for name, grad in reference["grads"].items():
            assert torch.allclose(result["grads"][name], grad, rtol=1e-10, atol=1e-12), name


@pytest.mark.slow
@pytest.mark.integration
def test_local_slice_gather_scales_the_regularizer_gradient_by_one_over_world_size(
    ddp_results: list[dict], reference: dict
) -> None:
    """Negative control: the same loss value, but the naive gather's gradients do not match."""
    for result in ddp_results:
        naive = result["naive"]
        assert torch.allclose(naive["unif"], reference["unif"], rtol=1e-12, atol=1e-14)
        mismatched = [
            name
            for name, grad in reference["grads"].items()
            if not torch.allclose(naive["grads"][name], grad, rtol=1e-6, atol=1e-8)
        ]
        assert mismatched, "the naive gather should not reproduce the single-process gradients"
        for name in reference["grads"]:
            expected = reference["mse_grads"][name] + reference["unif_grads"][name] / WORLD
            assert torch.allclose(naive["grads"][name], expected, rtol=1e-10, atol=1e-12), name


def test_single_process_helpers_and_gather_are_identity() -> None:
    assert not dist.is_initialized()
    assert distributed.world_size() == 1 and distributed.rank() == 0
    x = torch.randn(3, 2)
    assert gather_with_grad(x) is x


def test_init_distributed_is_a_no_op_in_one_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert init_distributed("cpu") == DistInfo() and not DistInfo().enabled and DistInfo().is_main
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert init_distributed("cpu") == DistInfo(rank=0, world_size=1, local_rank=0)
    assert not dist.is_initialized()
