"""Kill a CPU training run at random moments, resume it each time, compare with an unbroken run.

    python benchmarks/fault_injection.py                          # 10 SIGKILLs of a one-process image run
    python benchmarks/fault_injection.py --kills 20 --seed 3
    python benchmarks/fault_injection.py --torchrun --kills 10    # 2 processes: 10 SIGTERMs and 10 SIGKILLs

A reference run trains uninterrupted. The same config is then started and stopped --kills times per
signal, each time once it has logged a random target step (the targets spread over the whole run) plus
a random 0-0.3 s, so stops land in the middle of steps, data loading and checkpoint writes alike. The
signal goes to the launcher and, under torchrun, to every rank at once, as a scheduler or a crashing
node would: SIGKILL ends everything on the spot; after SIGTERM the run must end within --grace seconds
(torchrun's own grace period is 30 s), which it cannot if the ranks disagree on when to stop. After
each stop the run is continued with `--resume` (or started afresh with `--overwrite` when no checkpoint
had been written yet), and the last attempt runs to the end. Passes when no run hung and the final
weights and every logged loss equal the reference run's exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from maskssl.checkpoints.io import list_checkpoints, load_checkpoint

RUN = [
    "--modality", "image", "--no-progress", "train.epochs=12", "train.ckpt_every=3", "train.log_every=1",
    "encoder.depth=2", "decoder.depth=1",
]


TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


def maskssl(torchrun: bool, *args: str) -> subprocess.Popen:
    """``maskssl train args``, under torchrun with 2 processes if asked."""
    launcher = [*TORCHRUN, "-m", "maskssl"] if torchrun else [sys.executable, "-m", "maskssl"]
    return subprocess.Popen(
        [*launcher, "train", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def family(pid: int) -> list[int]:
    """``pid`` and every process below it (torchrun starts its workers in sessions of their own, so a
    process-group signal would miss them), read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue += children.get(current, [])
    return found


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop(process: subprocess.Popen, sig: signal.Signals, grace: float) -> str:
    """Send ``sig`` to the run's launcher and every worker at once (as a scheduler or a crashing node
    would); how the launcher ended ("exit N") or "HUNG" after ``grace`` seconds."""
    pids = family(process.pid)
    signal_all(pids, sig)
    try:
        ended = f"exit {process.wait(timeout=grace)}"
    except subprocess.TimeoutExpired:
        ended = "HUNG"
    signal_all(pids, signal.SIGKILL)  # nothing of this attempt may live on beside the next one
    process.wait()
    return ended


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


def parse(line: str) -> dict | None:
    """A metrics record, or None for a line a killed run left half written."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def forget_after_checkpoint(run_dir: Path) -> int:
    """Drop log lines past the newest checkpoint (as the resumed run will) so progress is the new run's;
    returns that checkpoint's step (0 without one)."""
    newest = list_checkpoints(run_dir)
    step = int(newest[-1].stem.split("_")[1]) if newest else 0
    path = run_dir / "metrics.jsonl"
    if path.exists():
        kept = [line for line in path.read_text().splitlines() if (record := parse(line)) and record["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept))
    return step


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(list_checkpoints(run_dir)[-1])["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=10, help="stops per signal")
    parser.add_argument("--seed", type=int, default=0, help="seeds the kill moments")
    parser.add_argument("--torchrun", action="store_true", help="2 processes under torchrun, SIGTERM and SIGKILL")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds a SIGTERMed run may take to stop")
    args = parser.parse_args()
    signals = [signal.SIGTERM, signal.SIGKILL] if args.torchrun else [signal.SIGKILL]
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="maskssl-faults-"))
    reference, faulty = work / "reference", work / "faulty"

    started = time.perf_counter()
    done = maskssl(args.torchrun, *RUN, "--out", str(reference))
    if done.wait() != 0:
        sys.exit(f"reference run failed: {done.stderr.read()}")
    launcher = "torchrun, 2 processes" if args.torchrun else "1 process"
    print(f"reference run ({launcher}): {time.perf_counter() - started:.1f} s, {len(losses(reference))} steps, "
          f"in {work}")

    total_steps = len(losses(reference))
    plan = [(target, sig) for sig in signals for target in rng.sample(range(1, total_steps), args.kills)]
    plan.sort()
    hung = 0
    print(f"{'stop':>4} {'signal':>7} {'at step':>7} {'+delay (s)':>10} {'ended':>8} {'newest checkpoint':>17} "
          f"{'continued with':>14}")
    for number, (target, sig) in enumerate(plan, start=1):
        resume = bool(list_checkpoints(faulty))
        start = forget_after_checkpoint(faulty)
        if start >= total_steps:  # an earlier attempt checkpointed the last step before its stop
            print(f"{number:>4} {sig.name:>7} {target:>7}  (the run had already reached its last step)")
            continue
        process = maskssl(args.torchrun, *RUN, "--out", str(faulty), "--resume" if resume else "--overwrite")
        while process.poll() is None and last_step(faulty) < max(target, start + 1):
            time.sleep(0.02)
        if process.poll() is not None:
            sys.exit(f"attempt {number} ended on its own (exit {process.returncode}): {process.stderr.read()}")
        delay = rng.uniform(0.0, 0.3)
        time.sleep(delay)
        ended = stop(process, sig, args.grace)
        hung += ended == "HUNG"
        newest = list_checkpoints(faulty)
        print(f"{number:>4} {sig.name:>7} {target:>7} {delay:>10.2f} {ended:>8} "
              f"{newest[-1].name if newest else '-':>17} {'--resume' if resume else '--overwrite':>14}")
    how = "--resume" if list_checkpoints(faulty) else "--overwrite"
    final = maskssl(args.torchrun, *RUN, "--out", str(faulty), how)
    if final.wait() != 0:
        sys.exit(f"final run failed: {final.stderr.read()}")

    same_losses = losses(faulty) == losses(reference)
    a, b = final_weights(reference), final_weights(faulty)
    max_diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    identical = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    counts = ", ".join(f"{args.kills} {sig.name}" for sig in signals)
    print(f"after {counts} ({launcher}): SIGTERMed runs that hung: {hung}; losses identical: {same_losses}; "
          f"final weights identical: {identical} (max |difference| {max_diff:g})")
    sys.exit(0 if same_losses and identical and not hung else 1)


if __name__ == "__main__":
    main()
