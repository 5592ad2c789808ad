"""The one training loop every modality and every task shares (pretraining, fine-tuning).

One process:   maskssl train --modality image --out runs/digits
Several:       torchrun --nproc_per_node=2 -m maskssl train --modality image --out runs/digits
Several nodes: torchrun --nnodes=2 --node_rank=R --master_addr=HOST --nproc_per_node=8 -m maskssl train ...

Every optimizer step is a pure function of (checkpoint, step): the data order comes from
(seed, epoch), a dataset's per-sample augmentations from (seed, epoch, sample index)
(``maskssl.engine.loader``) and the built-in random masks from (seed, step, position in the global batch)
(``maskssl.utils.keyed_random``), neither depending on the number of processes; other maskers, dropout,
batch-level augmentation and mixup from (seed, step, rank). That is what makes ``--resume`` exact. What is trained
is a ``Task`` (``maskssl.engine.task``): it supplies the model, the loss of one micro-batch and an
evaluation, run every ``task.eval_every`` epochs and after the last step.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import signal
import sys
import time
from collections.abc import Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from maskssl.checkpoints.io import check_model_matches, list_checkpoints, load_latest, save_checkpoint
from maskssl.config.run import TrainConfig
from maskssl.data.scan import without_unreadable
from maskssl.engine.device import autocast, autocast_dtype, select_device, set_cpu_threads
from maskssl.engine.loader import EpochSampler, make_loader, next_keeping_rngs
from maskssl.engine.metrics import MetricsLog
from maskssl.engine.optim import build_optimizer
from maskssl.engine.run_dir import check_run_dir, claim_run_dir, remove_run_files, results_path, start_run_dir
from maskssl.engine.schedule import lr_at
from maskssl.engine.stop import StopFlag
from maskssl.engine.task import Task
from maskssl.errors import CheckpointError, ConfigError, NonFiniteLossError, TrainingInterrupted
from maskssl.registry import provenance
from maskssl.utils.distributed import DistInfo, agree, init_distributed
from maskssl.utils.files import write_text_atomic
from maskssl.utils.keyed_random import batch_keys


@dataclass
class TrainResult:
    """Where a run went and how it ended; ``evaluations`` holds the task's evaluations (fine-tuning)."""

    run_dir: Path
    step: int
    loss: float | None
    evaluations: list[dict[str, Any]] | None = None


def step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of masks and dropout at ``step`` on ``rank``."""
    return (seed * 1_000_003 + step) * 1_009 + rank


def run_task(
    make_task: Callable[[], Task],
    train_config: TrainConfig,
    run_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | None = None,
) -> TrainResult:
    """Train the task ``make_task`` builds (after the process group is up).

    Args:
        resume: continue from the newest good checkpoint in ``run_dir``.
        overwrite: replace a run already in ``run_dir``.
        progress: show a progress bar (default: when stderr is a terminal); else log lines.
    """
    run_dir = Path(run_dir)
    set_cpu_threads(train_config.threads)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(train_config.device, local_rank)
    group_was_ready = dist.is_available() and dist.is_initialized()  # then the caller owns it
    dist_info = init_distributed(device.type)
    show = (sys.stderr.isatty() if progress is None else progress) and dist_info.is_main

    claim = contextlib.ExitStack()  # the main process holds the run directory until the run ends

    def set_up() -> _Trainer:
        task = make_task()
        if dist_info.is_main:
            claim.enter_context(claim_run_dir(run_dir))
            check_run_dir(run_dir, resume, overwrite)
        trainer = _Trainer(task, run_dir, device, dist_info, resume, show)
        if dist_info.is_main:  # data, model and checkpoint are good: only now is anything written
            start_run_dir(run_dir, resume, task, trainer.provenance)
        return trainer

    try:
        with claim:
            trainer = agree(dist_info, set_up)
            try:
                result = trainer.run()
            except BaseException:
                if dist_info.is_main and not resume and not list_checkpoints(run_dir):
                    remove_run_files(run_dir)  # failed before its first checkpoint: nothing may block the rerun
                raise
            del trainer  # DDP's reducer holds the process group: free it before the group goes
        return result
    finally:
        if dist_info.enabled and dist.is_initialized() and not group_was_ready:
            gc.collect()
            dist.destroy_process_group()


class _Trainer:
    """State of one training run; ``run`` is the loop."""

    def __init__(
        self, task: Task, run_dir: Path, device: torch.device, dist_info: DistInfo, resume: bool, show: bool
    ) -> None:
        self.task, self.run_dir, self.device, self.dist = task, run_dir, device, dist_info
        self.provenance = provenance.describe(task.config_dict())
        self.show = show
        train_cfg = self.train_cfg = task.train_config
        dataset = task.train_dataset()
        if train_cfg.on_unreadable == "skip":
            dataset = without_unreadable(dataset, "train", train_cfg.num_workers, report=dist_info.is_main)
        self.sampler = EpochSampler(len(cast(Sized, dataset)), train_cfg.seed, dist_info.rank, dist_info.world_size)
        self.loader, batches_per_epoch = make_loader(
            dataset, self.sampler, train_cfg.batch_size, task.collate, train_cfg.num_workers,
            pin_memory=device.type == "cuda",
        )
        self.steps_per_epoch = batches_per_epoch // train_cfg.accum_steps
        if self.steps_per_epoch == 0:
            raise ConfigError(
                f"train.accum_steps={train_cfg.accum_steps} is more than the {batches_per_epoch} batches per epoch"
            )
        self.total_steps = train_cfg.epochs * self.steps_per_epoch
        self.stop_step = min(self.total_steps, train_cfg.max_steps or self.total_steps)
        self.warmup_steps = round(train_cfg.warmup_epochs * self.steps_per_epoch)
        effective_batch = train_cfg.batch_size * train_cfg.accum_steps * dist_info.world_size
        self.peak_lr = train_cfg.lr if train_cfg.lr is not None else train_cfg.blr * effective_batch / 256

        torch.manual_seed(train_cfg.seed)  # identical initial weights on every rank
        self.model = task.build_model().to(device)
        self.optimizer = build_optimizer(
            task.param_groups(self.model), self.peak_lr, train_cfg.betas, device, train_cfg.optimizer
        )
        self.amp_dtype = autocast_dtype(train_cfg.precision, device)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype is torch.float16)
        self.skipped_steps = 0
        self.evaluations: list[dict[str, Any]] = []
        self.start_step = self._restore() if resume else 0
        self.ddp: DistributedDataParallel | None = None  # wrapped in ``run``: construction runs no collective
        self.resume = resume
        self.last_saved_step: int | None = self.start_step if resume else None

    # -- checkpoints -------------------------------------------------------------------------------
    def _state(self, step: int) -> dict[str, Any]:
        return {
            "step": step,
            "task": self.task.kind,
            "modality": self.task.config.modality,
            "world_size": self.dist.world_size,
            "config": self.task.config_dict(),
            "provenance": self.provenance,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "skipped_steps": self.skipped_steps,
            "evaluations": self.evaluations,
            "task_state": self.task.state_dict(),
        }

    def _save(self, step: int) -> None:
        def write() -> None:
            if self.dist.is_main:
                save_checkpoint(self._state(step), self.run_dir, step, self.train_cfg.keep_checkpoints)

        agree(self.dist, write)
        self.last_saved_step = step

    def _restore(self) -> int:
        found = load_latest(self.run_dir)
        if found is None:
            raise CheckpointError(f"no readable checkpoint in {self.run_dir}/checkpoints to resume from")
        path, state = found
        kind = state.get("task", "pretrain")  # checkpoints from before tasks were recorded are pretraining ones
        if kind != self.task.kind:
            raise CheckpointError(f"{path} is a {kind} checkpoint; this is a {self.task.kind} run")
        modality = self.task.config.modality
        if state["modality"] != modality:
            raise CheckpointError(f"{path} is a '{state['modality']}' checkpoint, this run is '{modality}'")
        provenance.check_same_code(state.get("provenance"), self.task.config_dict(), self.run_dir)
        check_model_matches(state, self.model, path, f"{self.run_dir}/config.yaml")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.skipped_steps = int(state["skipped_steps"])
        self.evaluations = list(state.get("evaluations", []))
        self.task.load_state_dict(state.get("task_state", {}))
        return int(state["step"])

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.train_cfg
        if self.dist.enabled:
            self.ddp = DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=self.task.find_unused_parameters,
            )
        self.metrics = MetricsLog(self.run_dir, self.dist.is_main, self.start_step if self.resume else None)
        forward: torch.nn.Module = self.ddp if self.ddp is not None else self.model
        if cfg.compile:
            # given a Module, torch.compile returns an OptimizedModule (torch types it as a plain Callable)
            forward = cast(torch.nn.Module, torch.compile(forward))
        generator = torch.Generator(device=self.device)
        bar = tqdm(total=self.stop_step, initial=self.start_step, disable=not self.show, unit="step")
        step, loss_value = self.start_step, None
        window_start, window_samples = time.perf_counter(), 0
        with StopFlag() as stop:
            while step < self.stop_step:
                epoch, step_in_epoch = divmod(step, self.steps_per_epoch)
                self.sampler.set_position(epoch, step_in_epoch * cfg.accum_steps * cfg.batch_size)
                batches = iter(self.loader)
                while step < self.stop_step and step // self.steps_per_epoch == epoch:
                    lr, step_loss, terms = self._step(step, forward, batches, generator, stop)
                    step += 1
                    window_samples += cfg.batch_size * cfg.accum_steps * self.dist.world_size
                    bar.update(1)
                    if step % cfg.log_every == 0 or step == self.stop_step:
                        loss_value = self._log(step, epoch, lr, step_loss, terms, window_start, window_samples, bar)
                        window_start, window_samples = time.perf_counter(), 0
                    at_epoch_end = step % self.steps_per_epoch == 0
                    if self._evaluation_due(step, at_epoch_end):
                        self._evaluate(step, epoch)
                    if (cfg.ckpt_every and step % cfg.ckpt_every == 0) or (not cfg.ckpt_every and at_epoch_end):
                        self._save(step)
                    if stop.agreed:
                        break
                if stop.agreed:
                    break
        bar.close()
        if self.last_saved_step != step:
            self._save(step)
        self.metrics.close()
        if stop.agreed and step < self.stop_step:
            name = signal.Signals(stop.signal).name if stop.signal is not None else "a signal to another process"
            raise TrainingInterrupted(
                f"stopped by {name} after step {step}; the checkpoint is in "
                f"{self.run_dir}/checkpoints; continue with --resume --out {self.run_dir}"
            )
        evaluations = self.evaluations if self.task.evaluates else None
        return TrainResult(run_dir=self.run_dir, step=step, loss=loss_value, evaluations=evaluations)

    # -- evaluation --------------------------------------------------------------------------------
    def _evaluation_due(self, step: int, at_epoch_end: bool) -> bool:
        if not self.task.evaluates:
            return False
        every = self.task.eval_every
        return step == self.stop_step or bool(every and at_epoch_end and (step // self.steps_per_epoch) % every == 0)

    def _evaluate(self, step: int, epoch: int) -> None:
        """The task's evaluation on the main process (others wait); logged and kept in the checkpoint."""
        agree(self.dist, lambda: self._evaluate_here(step, epoch) if self.dist.is_main else None)

    def _evaluate_here(self, step: int, epoch: int) -> None:
        self.model.eval()
        with torch.no_grad(), autocast(self.device, self.amp_dtype):
            metrics = self.task.evaluate(self.model, self.device)
        self.model.train()
        record = {"step": step, "epoch": epoch, **metrics}
        self.evaluations.append(record)
        self.metrics.log({"step": step, "epoch": epoch, **{f"eval_{k}": v for k, v in metrics.items()}})
        write_text_atomic(results_path(self.run_dir), json.dumps(self.task.report(self.evaluations), indent=2))
        if not self.show:
            parts = " ".join(f"{k} {v:.4g}" for k, v in metrics.items())
            print(f"eval step {step} epoch {epoch} {parts}", file=sys.stderr, flush=True)

    def _accumulate(
        self, step: int, forward: torch.nn.Module, batches: Any, generator: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Forward and backward over accum_steps micro-batches; returns the mean loss and terms (detached)."""
        cfg = self.train_cfg
        accum = cfg.accum_steps
        step_loss = torch.zeros((), device=self.device)
        terms: dict[str, torch.Tensor] = {}
        for micro in range(accum):
            keys = batch_keys(cfg.seed, step, micro, self.dist.rank, self.dist.world_size, cfg.batch_size, self.device)
            prepared = self.task.prepare(next_keeping_rngs(batches), self.device, generator, keys)
            ddp = self.ddp if micro < accum - 1 else None  # DDP all-reduces gradients on the last micro-batch only
            with contextlib.nullcontext() if ddp is None else ddp.no_sync():
                with autocast(self.device, self.amp_dtype):
                    out = self.task.forward(forward, prepared, generator)
                self.scaler.scale(out.loss / accum).backward()
            step_loss += out.loss.detach().float() / accum
            for name, value in out.terms.items():
                terms[name] = terms.get(name, 0) + value.detach().float() / accum
        return step_loss, terms

    def _step(
        self, step: int, forward: torch.nn.Module, batches: Any, generator: torch.Generator, stop: StopFlag
    ) -> tuple[float, torch.Tensor, dict[str, torch.Tensor]]:
        """One optimizer step (or a skipped one, see ``_guard``); returns its lr, mean loss and terms."""
        cfg = self.train_cfg
        lr = lr_at(step, self.peak_lr, cfg.min_lr, self.warmup_steps, self.total_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        seed = step_seed(cfg.seed, step, self.dist.rank)
        torch.manual_seed(seed)
        generator.manual_seed(seed)
        random.seed(seed)  # timm's mixup and batch-level augmentations draw from numpy and random
        np.random.seed(seed % 2**32)
        step_loss, terms = self._accumulate(step, forward, batches, generator)
        if self._guard(step, step_loss, stop):
            if cfg.clip_grad is not None:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_grad)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return lr, step_loss, terms

    def _guard(self, step: int, step_loss: torch.Tensor, stop: StopFlag) -> bool:
        """Whether to apply this step's update. All ranks agree on a non-finite loss and on a stop signal.

        Policy for a NaN/inf loss: skip the update (the step still counts) up to ``train.nonfinite_skips``
        times over the run, then stop with NonFiniteLossError before the weights are touched.
        """
        flags = torch.stack([(~torch.isfinite(step_loss)).float(), step_loss.new_tensor(float(stop.signal is not None))])
        if self.dist.enabled:
            dist.all_reduce(flags, op=dist.ReduceOp.MAX)
        stop.agreed = bool(flags[1] > 0)
        if flags[0] == 0:
            return True
        self.skipped_steps += 1
        if self.skipped_steps <= self.train_cfg.nonfinite_skips:
            return False
        kept = f"step {self.last_saved_step}" if self.last_saved_step is not None else "none was written yet"
        raise NonFiniteLossError(
            f"the loss became {step_loss.item()} at step {step + 1} (non-finite steps: {self.skipped_steps}, "
            f"allowed to skip: {self.train_cfg.nonfinite_skips}); training stopped and the last good checkpoint "
            f"({kept}) is kept in {self.run_dir}/checkpoints. Lower the learning rate (train.blr / train.lr), "
            f"set train.clip_grad=1.0, use train.precision=fp32, or allow skips with train.nonfinite_skips=N; "
            f"if it happens at the first steps, check the data for extreme values"
        )

    def _log(
        self,
        step: int,
        epoch: int,
        lr: float,
        step_loss: torch.Tensor,
        terms: dict[str, torch.Tensor],
        window_start: float,
        window_samples: int,
        bar: tqdm,
    ) -> float:
        values = torch.stack([step_loss, *terms.values()])
        if self.dist.enabled:
            dist.all_reduce(values)
            values /= self.dist.world_size
        loss, *term_values = values.tolist()
        record: dict[str, Any] = {"step": step, "epoch": epoch, "loss": loss, "skipped_steps": self.skipped_steps}
        record.update(dict(zip(terms, term_values)))
        elapsed = time.perf_counter() - window_start
        record.update({"lr": lr, "samples_per_s": window_samples / max(elapsed, 1e-9)})
        self.metrics.log(record)
        if self.show:
            bar.set_postfix(loss=f"{loss:.4f}")
        elif self.dist.is_main:
            parts = " ".join(f"{k} {v:.4g}" for k, v in record.items() if k not in ("step", "epoch"))
            print(f"step {step}/{self.stop_step} epoch {epoch} {parts}", file=sys.stderr, flush=True)
        return loss
