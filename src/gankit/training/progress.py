"""A rich progress bar with live losses, speed and ETA; silent when disabled."""

from __future__ import annotations

import time

from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    """Steps done of `total`; with a `time_limit` (seconds) that ends the run sooner, the bar
    fills with training time instead, and the step count is shown beside it."""

    def __init__(
        self,
        total: int,
        start: int,
        enabled: bool = True,
        description: str = "train",
        time_limit: float = 0.0,
        elapsed: float = 0.0,
    ):
        self.enabled = enabled
        self.total, self.start = total, start
        self.description = description
        self.time_limit, self.elapsed = time_limit, elapsed
        self._progress: Progress | None = None
        self._shown = 0.0  # when the bar was last updated (time.monotonic)

    def _where(self, step: int) -> dict:
        if not self.time_limit:
            return {"completed": step, "where": f"{step}/{self.total}"}
        done = min(self.elapsed, self.time_limit)
        return {"completed": done, "where": f"step {step}, {done:.0f}/{self.time_limit:.0f} s"}

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[where]}"),
                TextColumn("{task.fields[logs]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                refresh_per_second=4,  # the redraw thread takes CPU from training
            )
            self._progress.start()
            total = self.time_limit or self.total
            self._task = self._progress.add_task(
                self.description, total=total, logs="", **self._where(self.start)
            )
        return self

    def update(
        self,
        step: int,
        logs: dict[str, float] | None = None,
        elapsed: float = 0.0,
        phase: str = "",
    ) -> None:
        """Shows the step (and new logs, and the model's phase after the description); between
        logs at most every 0.2 s, because rich's update costs far more than a small model's
        training step (measured: benchmarks/throughput.md)."""
        if self._progress is None:
            return
        now = time.monotonic()
        if logs is None and now - self._shown < 0.2:
            return
        self._shown = now
        self.elapsed = elapsed
        fields = {**self._where(step), "description": self.describe(phase)}
        if logs is not None:
            fields["logs"] = "  ".join(
                f"{k.removeprefix('loss/')} {v:.3g}" for k, v in logs.items()
            )
        self._progress.update(self._task, **fields)

    def note(self, text: str) -> None:
        """Shows `text` in place of the losses: what the run is doing after its last step
        (evaluating, drawing pictures, writing the report)."""
        if self._progress is not None:
            self._progress.update(self._task, logs=text)

    def describe(self, phase: str = "") -> str:
        """The bar's label: the description, then the phase when the model has phases."""
        return f"{self.description} {phase}" if phase else self.description

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
