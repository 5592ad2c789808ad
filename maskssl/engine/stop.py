"""SIGINT / SIGTERM as a flag the training loop reads between steps."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any


class StopFlag:
    """Turns SIGINT / SIGTERM into a flag the loop reads between steps (main thread only).

    ``signal`` is what this process received; ``agreed`` is the decision every rank shares, set only
    where the ranks exchange their flags (once per step, in ``_Trainer._guard``). Under torchrun the
    signal reaches each rank at a different moment, so a rank acting on its own flag would wait in a
    checkpoint barrier while another enters the next step's all-reduce.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self.agreed = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
