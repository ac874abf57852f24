"""A rich progress bar with live losses, speed and ETA; silent when disabled."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class ProgressBar:
    def __init__(self, total: int, start: int, enabled: bool = True, description: str = "train"):
        self.enabled = enabled
        self.total, self.start = total, start
        self.description = description
        self._progress: Progress | None = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[logs]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
            )
            self._progress.start()
            self._task = self._progress.add_task(
                self.description, total=self.total, completed=self.start, logs=""
            )
        return self

    def update(self, step: int, logs: dict[str, float] | None = None) -> None:
        if self._progress is None:
            return
        if logs is None:
            self._progress.update(self._task, completed=step)
        else:
            text = "  ".join(f"{k.removeprefix('loss/')} {v:.3g}" for k, v in logs.items())
            self._progress.update(self._task, completed=step, logs=text)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
