"""The one step-based Trainer: a loop over `model.train_step`, with side jobs at their cadences.

The Trainer reads only the model contract (gankit.models.base): `start`, `prepare`, `batch_size`,
`batches_per_step`, `train_step`, `end_step`, `phase`, `training_state`, `load_training_state`,
`weights_finite` and its engine's `autocast` (its Outputs also `spec`, `fixed_inputs` and
`sample`). What happens around the steps (snapshots, phase ends, checkpoints, evaluation) is a
table of (cadence, job), as stylegan2-ada's training loop keeps its ticks.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from gankit.config import ExperimentConfig
from gankit.data import build_data
from gankit.engine import Engine
from gankit.models import build_model
from gankit.registry import MODELS
from gankit.training import distributed
from gankit.training.checkpoint import (
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    state_bytes,
)
from gankit.training.control import (
    StopOnSignal,
    Threads,
    TrainingDiverged,
    TrainingStopped,
    resolve_device,
    seed_everything,
)
from gankit.training.hardware import (
    resolve_channels_last,
    resolve_precision,
    resolve_threads,
)
from gankit.training.outputs import Outputs
from gankit.training.progress import ProgressBar
from gankit.training.run import RunDir, data_description


@dataclass(frozen=True)
class Moment:
    """Where the loop stands after a step: what the side jobs' cadences look at."""

    step: int
    last: bool  # the run ends after this step
    stopping: bool  # a signal asked to stop: the step in hand is checkpointed, then training ends
    phase_before: str  # the model's phase before this step
    phase: str  # and after it


@dataclass(frozen=True)
class Job:
    due: Callable[[Moment], bool]
    run: Callable[[Moment], object]
    everywhere: bool = False  # run by every process (a checkpoint checks the weights on all)


class Trainer:
    """Calls `model.train_step` over an endless data stream; everything else happens around it."""

    def __init__(self, cfg: ExperimentConfig, run: RunDir):
        self.cfg, self.run = cfg, run
        t = cfg.train
        self.ranks = distributed.setup(t.device)
        self.device = resolve_device(distributed.device_for(self.ranks, t.device))
        distributed.check_batch(self.ranks, t.batch_size)
        seed_everything(t.seed)  # the same on every process: same initial weights and stream
        self.data = build_data(cfg.data, seed=t.seed)
        self.data_info = data_description(self.data)
        spec = MODELS.entry(cfg.model.name).spec
        # decided once, then recorded in the run's config.yaml: a resumed run keeps the choice
        t.precision, self.precision_reason = resolve_precision(
            t.precision, self.device, spec.compute_bound
        )
        t.channels_last = resolve_channels_last(
            t.channels_last, self.device, t.precision, spec.compute_bound
        )
        self.threads = resolve_threads(t.threads, spec.compute_bound)
        self.channels_last = t.channels_last == "true"
        engine = Engine(
            self.ranks, t.precision, self.device, t.sync_bn, self.channels_last, t.compile
        )
        self.model = build_model(
            cfg.model, self.data.shape, self.device, t.ema, self.data.num_classes,
            self.data_info, engine,
        )  # fmt: skip
        self.model.start(t)  # e.g. a growth schedule that train.steps cannot finish
        self.out = Outputs(cfg, run, self.model, self.data, self.data_info, self.ranks.is_main)
        self.step, self.elapsed, self.rollbacks = 0, 0.0, 0  # elapsed: over all sessions
        self.resumed: tuple[int, int] | None = None  # (from step, last step logged before)
        self.results: dict[str, float] = {}

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            **self.model.training_state(),
            "data": self.data.state_dict(),
            "rng": rng_state(),
            "elapsed": self.elapsed,
            "config": self.cfg.to_yaml(),
        }

    def checkpoint_bytes(self) -> int:
        """About what one checkpoint takes on disk, before the first is written: its tensors
        now, and the two moments Adam keeps per trained weight once training has begun (an
        upper bound for optimizers that keep fewer)."""
        groups = [g for o in self.model.optimizers.values() for g in o.param_groups]
        trained = {id(p): p for g in groups for p in g["params"]}
        moments = sum(p.numel() * p.element_size() for p in trained.values())
        return state_bytes(self.state_dict()) + (0 if self.step else 2 * moments)

    def load_state_dict(self, state: dict) -> None:
        self.model.load_training_state(state, self.run.latest_checkpoint())
        self.data.load_state_dict(state["data"])
        set_rng_state(state["rng"])
        self.step, self.elapsed = int(state["step"]), float(state["elapsed"])
        self.clock = time.perf_counter() - self.elapsed

    def resume(self) -> int:
        """Restores the latest checkpoint, if any; returns the step training goes on from."""
        path = self.run.latest_checkpoint()
        if path is not None:
            # to the CPU first: RNG states must stay there; load_state_dict moves the rest
            self.load_state_dict(load_checkpoint(path, map_location="cpu"))
        if self.ranks.is_main:
            self.resumed = (self.step, self.run.truncate_metrics(self.step))
        return self.step

    def save(self) -> None:
        """Writes a checkpoint (the main process only); the weights are checked first, so a
        NaN checkpoint never replaces a good one."""
        if not self.model.weights_finite():
            raise TrainingDiverged(
                f"the weights became non-finite by step {self.step}; no checkpoint was written"
            )
        if self.ranks.is_main:
            save_checkpoint(
                self.run.checkpoints, self.step, self.state_dict(), self.cfg.train.keep_last
            )

    def rollback(self, error: TrainingDiverged) -> None:
        """Restores the last good checkpoint after a non-finite loss (train.on_nonfinite=
        rollback) and reseeds, so the repeat does not walk into the same NaN; re-raises when
        the policy is stop, no checkpoint exists or train.max_rollbacks is used up."""
        t = self.cfg.train
        path = self.run.latest_checkpoint()
        if t.on_nonfinite != "rollback" or path is None or self.rollbacks >= t.max_rollbacks:
            raise error
        self.rollbacks += 1
        failed_at = self.step
        self.load_state_dict(load_checkpoint(path, map_location="cpu"))
        self._time_up = False
        torch.manual_seed(t.seed + 1_000_003 * self.rollbacks + self.step)
        if self.ranks.is_main:
            self.run.truncate_metrics(self.step)
            self.run.append_metrics(
                {"step": self.step, "event": f"rollback from step {failed_at}: {error}"}
            )

    # ------------------------------------------------------------ logs
    def flush(self, pending: list[dict], check_weights: bool) -> dict[str, float] | None:
        """Averages the logs since the last flush (and over processes) with one host sync and
        writes them out. A non-finite value (or weight, with `check_weights`) rolls training
        back to the last checkpoint and returns None, or raises TrainingDiverged."""
        keys = list(pending[-1])
        means = torch.stack([torch.stack([p[k].float() for p in pending]).mean() for k in keys])
        means = distributed.mean_over_ranks(means, self.ranks)
        row = dict(zip(keys, means.tolist(), strict=True))
        bad = [k for k, v in row.items() if not math.isfinite(v)]
        if bad or (check_weights and not self.model.weights_finite()):
            what = ", ".join(bad) or "the weights"
            self.rollback(TrainingDiverged(
                f"{what} became non-finite by step {self.step}; lower the learning rates or "
                f"resume from the last good checkpoint in {self.run.checkpoints}"
            ))  # fmt: skip
            return None
        self.out.write_row(self.step, self.elapsed, row)
        return row

    # ------------------------------------------------------------ side jobs
    def jobs(self, bar: ProgressBar) -> list[Job]:
        """The side jobs, in the order they run after a step, with their cadences."""
        t = self.cfg.train

        def every(n: int) -> Callable[[Moment], bool]:
            return lambda m: bool(n and m.step % n == 0) or m.last

        return [
            Job(every(t.sample_every), lambda m: self.out.snapshot(m.step)),
            Job(lambda m: bool(m.phase_before) and m.phase != m.phase_before,
                lambda m: self.out.end_phase(m.step, self.elapsed, m.phase_before)),
            Job(lambda m: m.last and bool(m.phase),
                lambda m: self.out.end_phase(m.step, self.elapsed, m.phase)),
            # at a stop the step in hand is complete and checkpointed: nothing is lost
            Job(self.checkpoint_due, lambda m: self.save(), everywhere=True),
            Job(every(t.eval_every), lambda m: self.evaluate(bar)),
        ]  # fmt: skip

    def checkpoint_due(self, m: Moment) -> bool:
        return m.step % self.cfg.train.ckpt_every == 0 or m.last or m.stopping

    def evaluate(self, bar: ProgressBar) -> None:
        self.results = self.out.evaluate(self.step, self.elapsed, bar)

    # ------------------------------------------------------------ the loop
    def next_batch(self):
        """This process's share of the next global batch, on the device."""
        k, t = self.model.batches_per_step, self.cfg.train
        batch = self.data.batch(self.model.batch_size(t.batch_size) * k)
        return distributed.local_batch(batch, k, self.ranks, self.device, self.channels_last)

    def train_one_step(self) -> dict:
        batch = self.next_batch()
        with self.model.engine.autocast():
            logs = self.model.train_step(batch, self.step)
        self.model.end_step(self.step)
        self.step += 1
        self.elapsed = time.perf_counter() - self.clock
        return logs

    def finished(self) -> bool:
        """At train.steps, or past train.time_limit seconds of training (a fixed-time budget)."""
        return self.step >= self.cfg.train.steps or self._time_up

    def fit(self) -> dict[str, float]:
        """Trains to `train.steps`; returns the final evaluation. Meanwhile the run folder holds
        training.json (written by the main process only), which tells other processes."""
        with self.run.training() if self.ranks.is_main else contextlib.nullcontext():
            return self._fit()

    def _fit(self) -> dict[str, float]:
        t, main = self.cfg.train, self.ranks.is_main
        if main:
            self.run.data_info.write_text(json.dumps(self.data_info))
        if main and self.resumed is not None:  # recorded once training goes on, not before
            self.run.record_resume(*self.resumed, t.steps, self.elapsed)
            self.resumed = None
        self._time_up = bool(t.time_limit and self.elapsed >= t.time_limit)
        self.clock = time.perf_counter() - self.elapsed
        show = t.progress and main
        bar = ProgressBar(t.steps, self.step, show, time_limit=t.time_limit, elapsed=self.elapsed)
        jobs, pending, phase = self.jobs(bar), [], self.model.phase
        try:
            with Threads(self.threads), bar, StopOnSignal() as stop:
                self.model.prepare(self.data)  # inside the clock: its time counts as training
                while not self.finished():
                    pending.append(self.train_one_step())
                    time_up = bool(t.time_limit and self.elapsed >= t.time_limit)
                    # every process must agree to stop at the same step
                    self._time_up, stopping = distributed.any_rank(
                        [time_up, stop.requested], self.ranks, self.device
                    )
                    m = Moment(self.step, self.finished(), stopping, phase, self.model.phase)
                    # logs also flush at checkpoints, so a resumed run averages the same windows
                    row = None
                    if self.step % t.log_every == 0 or self.checkpoint_due(m):
                        row, pending = self.flush(pending, self.checkpoint_due(m)), []
                        if row is None:  # rolled back to the last checkpoint
                            phase = self.model.phase
                            continue
                    bar.update(self.step, row, self.elapsed, phase=m.phase)
                    for job in jobs:
                        if (main or job.everywhere) and job.due(m):
                            job.run(m)
                    phase = m.phase
                    if stopping:
                        raise TrainingStopped
                if main:
                    self.out.finish(bar)
        finally:
            self.out.close()
        distributed.barrier(self.ranks)  # the others wait for the main process's evaluation
        return self.results
