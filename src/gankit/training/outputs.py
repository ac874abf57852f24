"""What a run writes as it trains: metrics.jsonl rows (and TensorBoard), snapshots of fixed
noise, phase ends, evaluations, and at the end its pictures and report.html."""

from __future__ import annotations

import numpy as np
import torch

from gankit.metrics import check_metrics, evaluate
from gankit.training.progress import ProgressBar
from gankit.training.run import RunDir


class Outputs:
    """The run folder's writer for one Trainer; only the main process writes."""

    def __init__(self, cfg, run: RunDir, model, data, data_info: dict, is_main: bool):
        self.cfg, self.run, self.model, self.data = cfg, run, model, data
        self.data_info, self.is_main = data_info, is_main
        t = cfg.train
        # the same z (and classes) for every snapshot: the time-lapse shows G moving, not noise
        n_fixed, self.fixed_labels, self.grid_row = data.snapshot_size or t.n_samples, None, 0
        if model.spec.conditional:  # one row per class
            k = data.num_classes
            self.grid_row = max(1, n_fixed // k)
            self.fixed_labels = torch.arange(k).repeat_interleave(self.grid_row)
            n_fixed = len(self.fixed_labels)
        self.fixed_z = model.fixed_inputs(data, n_fixed, torch.Generator().manual_seed(t.seed + 1))
        self.metric_names = list(data.default_metrics if t.metrics is None else t.metrics)
        check_metrics(self.metric_names, data)  # before training, not after
        self._writer = None

    def write_row(self, step: int, elapsed: float, row: dict) -> None:
        """A row of metrics.jsonl (and its numbers to TensorBoard)."""
        if not self.is_main:
            return
        row = {"step": step, "time": round(elapsed, 3), **row}
        self.run.append_metrics(row)
        if self._writer is None and self.cfg.train.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.run.tensorboard), purge_step=step + 1)
        for key, value in row.items() if self._writer else ():
            if key not in ("step", "time") and not isinstance(value, str):  # not protocols
                self._writer.add_scalar(key, value, step)

    def snapshot(self, step: int, name: str = "", title: str = "") -> None:
        """Samples of the fixed noise as samples/NAME.npy and a picture (default step_NNNNNNN)."""
        from gankit.viz.samples import write_samples, writer_for

        x = self.model.sample(z=self.fixed_z, labels=self.fixed_labels).cpu().numpy()
        stem = self.run.samples / (name or f"step_{step:07d}")
        np.save(stem.with_suffix(".npy"), x)  # the time-lapse and the report read these
        out = stem.with_suffix(writer_for(self.data_info).snapshot)
        if out.suffix != ".npy":
            # a run killed after this snapshot and before its checkpoint writes it again
            out.unlink(missing_ok=True)
            title = title or f"step {step}"
            write_samples(x, self.data_info, out, title, nrow=self.grid_row or None)

    def end_phase(self, step: int, elapsed: float, phase: str) -> None:
        """At the end of one of the model's phases: the snapshot samples/phase_PHASE and a row
        in metrics.jsonl saying when (the report lists the phases from these)."""
        self.snapshot(step, f"phase_{phase}", f"phase {phase}, step {step}")
        self.write_row(step, elapsed, {"event": f"end of phase {phase}", "phase": phase})

    def evaluate(self, step: int, elapsed: float, bar: ProgressBar) -> dict[str, float]:
        if not self.metric_names:
            return {}
        note = lambda what: bar.note(f"evaluating {what}")  # noqa: E731
        n = self.cfg.train.n_samples
        results = evaluate(self.model, self.data, self.metric_names, n, report=note)
        self.write_row(step, elapsed, results)
        return results

    def finish(self, bar: ProgressBar) -> None:
        """The end-of-run pictures and report, shown on the bar as they go."""
        from gankit.viz.pictures import save_final_pictures
        from gankit.viz.report import write_report

        bar.note("drawing pictures")
        save_final_pictures(self.model, self.data, self.run.path / "pictures", self.cfg.train.seed)
        if self.cfg.train.report:
            bar.note("writing report.html")
            write_report(self.run.path, self.model)
        bar.note("done")

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
