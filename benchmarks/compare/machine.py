"""One line naming the machine a benchmark ran on: CPU model, CPUs allowed, torch threads."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def machine() -> str:
    """CPU model (/proc/cpuinfo), logical CPUs, the CPUs this process may run on, torch threads, and
    THP_MEM_ALLOC_ENABLE (torch's huge pages for large CPU tensors) when set."""
    info = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in info.read_text().splitlines()
             if line.startswith("model name")] if info.exists() else []
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "any"
    huge_pages = os.environ.get("THP_MEM_ALLOC_ENABLE")
    return (f"{names[0] if names else 'unknown CPU'} ({len(names) or '?'} logical CPUs, this process on {allowed}), "
            f"torch {torch.__version__} with {torch.get_num_threads()} thread(s)"
            + (f", THP_MEM_ALLOC_ENABLE={huge_pages}" if huge_pages else ""))
