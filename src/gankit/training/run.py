"""Run folders: the resolved config, checkpoints, samples, metrics.jsonl and TensorBoard events."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from gankit.config import ExperimentConfig, load_config_file
from gankit.errors import RunError
from gankit.files import CONFIG, METRICS, RESUMES, TRAINING, write_atomic
from gankit.training.checkpoint import list_checkpoints


class RunDir:
    """Paths of one run; `create` refuses to reuse a folder, `open` checks it is a run."""

    def __init__(self, path: Path):
        self.path = Path(path)

    config = property(lambda self: self.path / CONFIG)
    metrics = property(lambda self: self.path / METRICS)
    resumes = property(lambda self: self.path / RESUMES)
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    tensorboard = property(lambda self: self.path / "tb")
    data_info = property(lambda self: self.path / "data.json")
    training_marker = property(lambda self: self.path / TRAINING)

    @staticmethod
    def check_new(path: Path) -> None:
        """Raises unless `path` is free for a new run (absent or an empty folder)."""
        path = Path(path)
        if (path / CONFIG).exists():
            raise RunError(
                f"{path} already holds a run; continue it with `gankit train --resume {path}` "
                "or choose another --out"
            )
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunError(f"{path} exists and is not an empty folder; choose another --out")

    @classmethod
    def create(cls, path: Path, cfg: ExperimentConfig) -> RunDir:
        cls.check_new(path)
        run = cls(Path(path))
        try:
            run.samples.mkdir(parents=True, exist_ok=True)
            run.checkpoints.mkdir(exist_ok=True)
            run.config.write_text(cfg.to_yaml())
        except OSError as e:
            raise RunError(
                f"cannot write to {path}: {e.strerror or e}; choose another --out"
            ) from None
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        run = cls(Path(path))
        if not run.config.is_file():
            raise RunError(
                f"{path} is not a gankit run (no {CONFIG}); give a folder made by `gankit train`"
            )
        for part in (run.checkpoints, run.samples):  # a damaged run, not one to write into
            if part.exists() and not part.is_dir():
                raise RunError(f"{part} should be a folder but is a file; the run is damaged")
        return run

    @contextmanager
    def training(self) -> Iterator[None]:
        """Marks the run as being trained for the block: training.json names this process,
        and is removed however the block ends (a kill -9 leaves it: see `live_trainer`)."""
        marker = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now().isoformat(timespec="seconds"),
        }
        write_atomic(self.training_marker, json.dumps(marker))
        try:
            yield
        finally:
            self.training_marker.unlink(missing_ok=True)

    def live_trainer(self) -> dict | None:
        """training.json's contents when the process it names is at work on this run now, else
        None: also for a damaged marker, a stale one (its process was killed) and one from
        another host (whose processes this one cannot see). A killed trainer's pid taken since
        by another process would read as live; pids are rarely reused that soon."""
        try:
            marker = json.loads(self.training_marker.read_text(encoding="utf-8"))
            pid, host = marker["pid"], marker["host"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if host != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
            return None
        try:
            os.kill(pid, 0)  # signal 0: is there such a process (nothing is sent)
        except (ProcessLookupError, OverflowError):  # no such process, or no such pid at all
            return None
        except PermissionError:  # there is one, of another user
            pass
        return marker

    def check_idle(self) -> None:
        """Raises when another process is training this run: two trainers writing one folder
        would interleave their metrics and checkpoints."""
        busy = self.live_trainer()
        if busy is not None:
            raise RunError(
                f"{self.path} is being trained right now by process {busy['pid']} (since "
                f"{busy.get('started', '?')}); wait for it to end, or stop it, before resuming"
            )

    def load_config(self, overrides: list[str] | None = None) -> ExperimentConfig:
        return load_config_file(self.config, overrides)

    def save_config(self, cfg: ExperimentConfig) -> None:
        write_atomic(self.config, cfg.to_yaml())

    def read_data_info(self) -> dict:
        """What the run recorded of its data (shape, classes, centres, vocabulary ...); {}
        before training. A file that does not read as such is a damaged run: guessing {} would
        decode a text model's samples without its vocabulary."""
        if not self.data_info.exists():
            return {}
        try:
            info = json.loads(self.data_info.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:  # ValueError: not JSON, or not UTF-8
            raise RunError(
                f"{self.data_info} is damaged ({type(e).__name__}); the run cannot be read"
            ) from None
        if not isinstance(info, dict):
            raise RunError(f"{self.data_info} is damaged (not a mapping); the run cannot be read")
        return info

    def latest_checkpoint(self) -> Path | None:
        found = list_checkpoints(self.checkpoints)
        return found[-1] if found else None

    def append_metrics(self, row: dict) -> None:
        with open(self.metrics, "a") as f:
            f.write(json.dumps(row) + "\n")

    def truncate_metrics(self, step: int) -> int:
        """Drops rows logged after `step` (and half lines): a resumed run logs those again.
        Returns the last step logged before (`step` when nothing was logged after it)."""
        from gankit.viz import read_metrics

        rows = read_metrics(self.metrics)
        keep = [r for r in rows if _step_of(r) <= step]
        write_atomic(self.metrics, "".join(json.dumps(r) + "\n" for r in keep))
        return max([step, *(r["step"] for r in rows if isinstance(r.get("step"), int))])

    def record_resume(self, step: int, stopped_at: int, steps: int, elapsed: float) -> None:
        """Appends a row to resumes.jsonl: the step a session resumed from, the last step the
        session before had logged, the steps now planned, the training time so far and when."""
        at = datetime.now().isoformat(timespec="seconds")
        row = {"step": step, "stopped_at": stopped_at, "steps": steps, "elapsed": elapsed, "at": at}
        with open(self.resumes, "a") as f:
            f.write(json.dumps(row) + "\n")


def _step_of(row: dict) -> float:
    step = row.get("step", 0)
    return step if isinstance(step, int | float) else float("inf")


def data_description(data) -> dict:
    """What a run folder records of its data: enough to rebuild the model without loading it."""
    return {"shape": list(data.shape), "num_classes": data.num_classes, **data.info()}
