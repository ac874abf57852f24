"""What controls a run from outside its loop: the device, the seeds, and signals that ask it to
stop (the first Ctrl-C or SIGTERM ends it cleanly after the step in hand)."""

from __future__ import annotations

import random
import signal
import threading

import numpy as np
import torch

from gankit.errors import GankitError


class TrainingDiverged(GankitError):
    """A loss became NaN or infinite."""


class TrainingStopped(KeyboardInterrupt):
    """Training stopped at a signal after completing and checkpointing a step."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise GankitError(
            f"train.device={name} but {torch.cuda.device_count()} CUDA devices are visible; "
            "use --set train.device=cpu or another index"
        )
    return device


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class StopOnSignal:
    """Turns the first Ctrl-C (SIGINT) or SIGTERM into a request to stop after the current step;
    a second Ctrl-C aborts at once."""

    def __init__(self):
        self.requested = False
        self._old: dict = {}

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Threads:
    """torch's intra-op threads set to `n` for the block, then restored."""

    def __init__(self, n: int):
        self.n, self.before = n, torch.get_num_threads()

    def __enter__(self) -> Threads:
        torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc) -> None:
        torch.set_num_threads(self.before)
