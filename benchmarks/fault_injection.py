"""Kill a CPU training run with SIGKILL at random moments, resume it each time, compare with an unbroken run.

    python benchmarks/fault_injection.py                 # 10 kills of a small image run
    python benchmarks/fault_injection.py --kills 20 --seed 3

A reference run trains uninterrupted. The same config is then started and killed with SIGKILL --kills
times, each time once it has logged a random target step (the targets spread over the whole run)
plus a random 0-0.3 s, so kills land in the middle of steps, data loading and checkpoint writes alike;
after each kill it is continued with `--resume` (or started afresh with `--overwrite` when no
checkpoint had been written yet), and the last attempt runs to the end. Passes when the final weights
and every logged loss equal the reference run's exactly.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from maskssl.engine.checkpoint import list_checkpoints, load_checkpoint

RUN = [
    "--modality", "image", "--no-progress", "train.epochs=12", "train.ckpt_every=3", "train.log_every=1",
    "encoder.depth=2", "decoder.depth=1",
]


def maskssl(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "maskssl", "train", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def losses(run_dir: Path) -> dict[int, float]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return {record["step"]: record["loss"] for record in map(json.loads, lines)}


def last_step(run_dir: Path) -> int:
    """The newest logged step of a run (0 before its first log line)."""
    path = run_dir / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    try:
        return json.loads(lines[-1])["step"] if lines else 0
    except json.JSONDecodeError:  # a line being written right now
        return 0


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(list_checkpoints(run_dir)[-1])["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="maskssl-faults-"))
    reference, faulty = work / "reference", work / "faulty"

    started = time.perf_counter()
    done = maskssl(*RUN, "--out", str(reference))
    if done.wait() != 0:
        sys.exit(f"reference run failed: {done.stderr.read()}")
    print(f"reference run: {time.perf_counter() - started:.1f} s, {len(losses(reference))} steps, in {work}")

    total_steps = len(losses(reference))
    targets = sorted(rng.sample(range(1, total_steps), args.kills))
    print(f"{'kill':>4} {'at step':>7} {'+delay (s)':>10} {'newest checkpoint':>17} {'continued with':>14}")
    for kill, target in enumerate(targets, start=1):
        resume = bool(list_checkpoints(faulty))
        process = maskssl(*RUN, "--out", str(faulty), "--resume" if resume else "--overwrite")
        while process.poll() is None and last_step(faulty) < target:
            time.sleep(0.02)
        if process.poll() is not None:
            sys.exit(f"attempt {kill} ended on its own (exit {process.returncode}): {process.stderr.read()}")
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        newest = list_checkpoints(faulty)
        print(f"{kill:>4} {target:>7} {delay:>10.2f} {newest[-1].name if newest else '-':>17} "
              f"{'--resume' if resume else '--overwrite':>14}")
    final = maskssl(*RUN, "--out", str(faulty), "--resume" if list_checkpoints(faulty) else "--overwrite")
    if final.wait() != 0:
        sys.exit(f"final run failed: {final.stderr.read()}")

    same_losses = losses(faulty) == losses(reference)
    a, b = final_weights(reference), final_weights(faulty)
    max_diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    identical = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    print(f"after {args.kills} SIGKILLs: losses identical: {same_losses}; final weights identical: {identical} "
          f"(max |difference| {max_diff:g})")
    sys.exit(0 if same_losses and identical else 1)


if __name__ == "__main__":
    main()
