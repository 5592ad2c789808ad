"""What the side-by-side scripts (image_step.py, point_step.py, graph_epoch.py) share: all but the models.

* the command line, the skip prologue (no checkout given, or none at that path: say what to pass, exit 0),
  stand-ins for modules the published code imports;
* the train step (maskssl_side.py adds what maskssl's training loop does, its compiled model and the copy
  of the published weights into it);
* timing: after warm-up runs of each, the implementations run interleaved (A, B, A, B, ...; with
  ``alternate`` every other round in reverse) in this one process, so drift in the machine's load hits all
  alike; medians, per-pair ratios, wall-clock and process CPU time; the tables;
* the profile: the top ops by self CPU time, the self time in matmul and attention kernels against the rest;
* FLOPs: each step's matrix-product FLOPs (linear layers, convolutions, attention; forward and backward) over
  its median time, as a share of the fp32 matmul rate ``F.linear`` reaches in the same run: a step near that
  rate can only get faster by doing less work or by faster matmuls, not by trimming the code around them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from machine import machine
from torch import Tensor
from torch.autograd.profiler_util import EventList

Step = Callable[[], object]
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
              "aten::_scaled_dot_product_flash_attention_for_cpu_backward")
"""Profiler keys whose self time is matrix products (linear layers, attention)."""


# -- the published code, the command line -------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    """The published code a script compares with: its name in the skip line, the flag taking its checkout's
    path, the environment variable giving the flag's default, a file every checkout holds (relative to its
    root) and the arguments of ``git clone`` that fetch it."""

    name: str
    flag: str
    env: str
    marker: str
    clone: str


def parser(doc: str, published: Published, *, unit: str, steps: int, warmup: int, threads: int, profile_steps: int,
           batch_size: int | None = None, compile: bool = False) -> argparse.ArgumentParser:
    """The flags every script has: the checkout, ``--steps`` / ``--warmup`` (timed / untimed ``unit``s per
    implementation), ``--threads``, ``--profile``, ``--profile-steps``, ``--rows``, ``--no-check``; given
    ``batch_size`` (its default), ``--batch-size``; with ``compile``, ``--compile``. The script adds its own."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(published.flag, default=os.environ.get(published.env),
                        help=f"{published.name} checkout (env {published.env})")
    parser.add_argument("--steps", type=int, default=steps, help=f"timed {unit}s per implementation")
    parser.add_argument("--warmup", type=int, default=warmup, help=f"untimed {unit}s per implementation first")
    if batch_size is not None:
        parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--threads", type=int, default=threads, help="torch CPU threads")
    parser.add_argument("--profile", action="store_true", help="also profile --profile-steps steps of each")
    parser.add_argument("--profile-steps", type=int, default=profile_steps)
    parser.add_argument("--rows", type=int, default=25, help="ops per profile table")
    parser.add_argument("--no-check", action="store_true", help="skip the loss/gradient equivalence check")
    if compile:
        parser.add_argument("--compile", action="store_true", help="also time maskssl's model under torch.compile "
                            f"(train.compile=true), interleaved with the eager steps; {published.name} stays eager, "
                            "as published")
    return parser


def parse_args(parser: argparse.ArgumentParser, published: Published) -> tuple[argparse.Namespace, Path]:
    """The arguments and the checkout's resolved path, with torch's CPU threads set to ``--threads``. Without
    a checkout (none given, or the path holds no ``published.marker``): a line saying what to pass, exit 0."""
    args = parser.parse_args()
    given = getattr(args, published.flag.lstrip("-").replace("-", "_"))
    if not given or not (Path(given) / published.marker).is_file():
        print(f"skip: no {published.name} checkout ({given or 'none given'}); pass {published.flag} PATH or set "
              f"{published.env} to a directory holding {published.marker} (git clone {published.clone})")
        sys.exit(0)
    torch.set_num_threads(args.threads)
    return args, Path(given).resolve()


def stand_in(name: str, **attributes: object) -> types.ModuleType:
    """A module named ``name`` holding ``attributes``, to stand in for one the published code imports."""
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


def stub_missing(name: str, **attributes: object) -> None:
    """A ``stand_in`` as module ``name`` when that cannot be imported (the published code imports it for what
    these scripts never use)."""
    try:
        __import__(name)
    except ImportError:
        sys.modules[name] = stand_in(name, **attributes)


# -- train steps --------------------------------------------------------------------------------------
def train_step(loss: Callable[[], Tensor], optimizer: torch.optim.Optimizer, labelled: bool = False) -> Step:
    """A closure running one full train step: ``loss()`` -> backward -> ``optimizer.step()`` ->
    ``zero_grad(set_to_none=True)``; ``labelled``: each phase inside a profiler label (step.forward, ...)."""

    def phase(name: str) -> contextlib.AbstractContextManager:
        return torch.profiler.record_function(name) if labelled else contextlib.nullcontext()

    def run() -> None:
        with phase("step.forward"):
            value = loss()
        with phase("step.backward"):
            value.backward()
        with phase("step.optimizer"):
            optimizer.step()
        with phase("step.zero_grad"):
            optimizer.zero_grad(set_to_none=True)

    return run


def print_optimizers(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """One line per optimizer: its class, betas, implementation and groups."""
    for name, opt in optimizers.items():
        d = opt.defaults
        print(f"optimizer {name}: {type(opt).__name__} betas {d['betas']} foreach {d['foreach']} fused {d['fused']} "
              f"groups (tensors, weight_decay) {[(len(g['params']), g['weight_decay']) for g in opt.param_groups]}")


# -- timing -------------------------------------------------------------------------------------------
def warm_up(steps: Mapping[str, Step], count: int) -> None:
    """``count`` untimed runs of each, in turn."""
    for _ in range(count):
        for step in steps.values():
            step()


def interleaved(steps: Mapping[str, Step], count: int, alternate: bool = False) -> Iterator[tuple[str, Step]]:
    """``count`` rounds of one run of each implementation in the order of ``steps``, with ``alternate`` every
    other round in reverse."""
    order = list(steps.items())
    for index in range(count):
        yield from order if not alternate or index % 2 == 0 else order[::-1]


@dataclass
class Timings:
    """Seconds of each implementation's timed runs in the order they ran: wall clock and process CPU time
    (which leaves out the time other processes hold the cores)."""

    wall: dict[str, list[float]]
    cpu: dict[str, list[float]]

    def median(self, name: str) -> float:
        return statistics.median(self.wall[name])

    def pair_ratio(self, numerator: str, denominator: str) -> float:
        """Median over the rounds of ``numerator``'s wall time / ``denominator``'s (one pair ran back to back)."""
        return statistics.median(a / b for a, b in zip(self.wall[numerator], self.wall[denominator]))


def time_steps(steps: Mapping[str, Step], count: int, alternate: bool = False) -> Timings:
    """Time ``count`` runs of each implementation, ``interleaved``."""
    timings = Timings({name: [] for name in steps}, {name: [] for name in steps})
    for name, step in interleaved(steps, count, alternate):
        cpu, wall = time.process_time(), time.perf_counter()
        step()
        timings.wall[name].append(time.perf_counter() - wall)
        timings.cpu[name].append(time.process_time() - cpu)
    return timings


def print_table(columns: Sequence[tuple[str, int, str]], rows: Iterable[Sequence[object]]) -> None:
    """A header of the columns' titles, a dashed rule and the rows. Each column is (title, width, format spec);
    the first is left-aligned, the others right-aligned; a ``str`` cell is printed as it is."""

    def line(cells: Iterable[object]) -> str:
        texts = [cell if isinstance(cell, str) else format(cell, spec) for cell, (_, _, spec) in zip(cells, columns)]
        return " ".join(f"{t:<{w}}" if i == 0 else f"{t:>{w}}" for i, (t, (_, w, _)) in enumerate(zip(texts, columns)))

    header = line(title for title, _, _ in columns)
    print(header + "\n" + "-" * len(header))
    for row in rows:
        print(line(row))


def print_times(timings: Timings, warmup: int, batch_size: int, unit: str, rate: str, ms: str) -> None:
    """Per implementation: ``unit``/s and ms per step (median, format specs ``rate`` and ``ms``), min and max ms."""
    print(f"\n{len(timings.wall['maskssl'])} interleaved steps each after {warmup} warm-up steps each; {machine()}")
    print_table([("implementation", 16, ""), (f"{unit}/s", 9, rate), ("ms/step", 9, ms), ("min ms", 8, ms),
                 ("max ms", 8, ms)],
                [[name, batch_size / timings.median(name), 1e3 * timings.median(name), 1e3 * min(s), 1e3 * max(s)]
                 for name, s in timings.wall.items()])


# -- FLOPs and the matmul rate ----------------------------------------------------------------------------
def step_flops(step: Step) -> int:
    """Multiply-add FLOPs (x2) of one step: matmuls, convolutions and attention, forward and backward,
    counted by ``torch.utils.flop_counter`` (CPU's fused attention kernels added with torch's SDPA formulas)."""
    from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

    def forward(query, key, value, *args, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    aten = torch.ops.aten
    attention = {aten._scaled_dot_product_flash_attention_for_cpu: forward,
                 aten._scaled_dot_product_flash_attention_for_cpu_backward: backward}
    with FlopCounterMode(display=False, custom_mapping=attention) as counter:
        step()
    return counter.get_total_flops()


def print_matmul_share(steps: Mapping[str, Step], timings: Timings, shapes: list[tuple[int, int, int]]) -> None:
    """Each implementation's achieved GFLOP/s (its counted FLOPs / its median step time) as a share of the
    in-run fp32 matmul rate: the fastest of fp32 ``F.linear`` ([M, K] x [N, K]^T) at each of ``shapes``
    (M, K, N), each the median of 20 calls."""
    rates = {}
    for m, k, n in shapes:
        x, w = torch.randn(m, k), torch.randn(n, k)
        linear = {"linear": lambda: torch.nn.functional.linear(x, w)}
        warm_up(linear, 1)
        rates[(m, k, n)] = 2 * m * k * n / time_steps(linear, 20).median("linear") / 1e9
    print("\nfp32 matmul rate in this run (F.linear, median of 20): " +
          ", ".join(f"[{m}x{k}]x[{k}x{n}] {r:.1f}" for (m, k, n), r in rates.items()) + " GFLOP/s")
    rows = []
    for name, step in steps.items():
        flops = step_flops(step)
        achieved = flops / timings.median(name) / 1e9
        rows.append([name, flops / 1e9, achieved, f"{100 * achieved / max(rates.values()):.1f}%"])
    print_table([("implementation", 16, ""), ("GFLOP/step", 10, ".2f"), ("GFLOP/s", 8, ".1f"),
                 ("share of matmul rate", 21, "")], rows)


# -- profile ------------------------------------------------------------------------------------------
class Profile:
    """torch.profiler (CPU) over ``count`` steps of each implementation: one session of all ``count`` steps per
    implementation, one after the other, or (``per_step``) one session per step, ``interleaved`` with
    ``alternate`` so that load drift hits all alike. Holds each session's op averages, and per implementation
    and op the self CPU time, CPU total time and calls summed over its sessions."""

    def __init__(self, steps: Mapping[str, Step], count: int, per_step: bool = False) -> None:
        from torch.profiler import ProfilerActivity, profile

        self.count = count
        self.sessions: dict[str, list[EventList]] = {name: [] for name in steps}
        self.stats: dict[str, dict[str, list[float]]] = {name: {} for name in steps}
        for name, step in interleaved(steps, count, alternate=True) if per_step else steps.items():
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(1 if per_step else count):
                    step()
            self.sessions[name].append(prof.key_averages())
            for event in self.sessions[name][-1]:
                acc = self.stats[name].setdefault(event.key, [0.0, 0.0, 0])
                acc[0] += event.self_cpu_time_total
                acc[1] += event.cpu_time_total
                acc[2] += event.count

    def ms(self, name: str, key: str, column: int = 0) -> float:
        """Self (column 0) or total (1) CPU ms per step."""
        return self.stats[name].get(key, [0.0, 0.0, 0])[column] / 1e3 / self.count

    def calls(self, name: str, key: str) -> float:
        return self.stats[name].get(key, [0.0, 0.0, 0])[2] / self.count

    def ops(self, name: str) -> list[str]:
        """The keys that are ops: not the train-step phases' labels (step.forward, ...)."""
        return [k for k in self.stats[name] if not k.startswith(("step.", "ProfilerStep"))]

    def print_top(self, rows: int) -> None:
        """Each implementation's top ``rows`` ops by self CPU time, per step."""
        for name in self.stats:
            total = sum(self.ms(name, k) for k in self.ops(name))
            top = sorted(self.ops(name), key=lambda k: -self.ms(name, k))[:rows]
            print(f"\n=== {name}: top {rows} ops by self CPU time, per step (mean of {self.count} profiled steps) ===")
            print_table([("op", 60, ""), ("self ms", 9, ".2f"), ("self %", 7, ".1%"), ("total ms", 9, ".2f"),
                         ("calls", 6, ".0f")],
                        [*([k[:60], self.ms(name, k), self.ms(name, k) / total, self.ms(name, k, 1),
                            self.calls(name, k)] for k in top), ["self CPU total", f"{total:.1f}"]])

    def print_matmul_share(self, names: Sequence[str]) -> None:
        """Each named implementation's self time in matmul and attention kernels against the rest's largest ops."""
        print("\n=== self CPU time in matmul and attention kernels (" + ", ".join(MATMUL_OPS) + ") ===")
        for name in names:
            ops = self.ops(name)
            kernels, everything = sum(self.ms(name, k) for k in MATMUL_OPS), sum(self.ms(name, k) for k in ops)
            rest = sorted((k for k in ops if k not in MATMUL_OPS), key=lambda k: -self.ms(name, k))[:5]
            print(f"{name}: {kernels:.0f} of {everything:.0f} ms per step ({100 * kernels / everything:.1f}%); the "
                  "rest's largest: " + ", ".join(f"{k} {self.ms(name, k):.0f}" for k in rest))
