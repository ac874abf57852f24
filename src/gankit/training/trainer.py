"""The one step-based Trainer: loop, device, precision, logging, snapshots, checkpoints, eval."""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import threading
import time

import numpy as np
import torch

from gankit.config import ExperimentConfig
from gankit.data import build_data, move_batch
from gankit.errors import GankitError
from gankit.metrics import check_metrics, evaluate
from gankit.models import build_model, load_nets
from gankit.training import distributed
from gankit.training.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from gankit.training.hardware import resolve_precision, resolve_threads
from gankit.training.progress import ProgressBar
from gankit.training.run import RunDir


class TrainingDiverged(GankitError):
    """A loss became NaN or infinite."""


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


class TrainingStopped(KeyboardInterrupt):
    """Training stopped at a signal after completing and checkpointing a step."""


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


def data_description(data) -> dict:
    """What a run folder records of its data: enough to rebuild the model without loading it."""
    return {"shape": list(data.shape), "num_classes": data.num_classes, **data.info()}


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
        self.model = build_model(
            cfg.model,
            self.data.shape,
            self.device,
            t.ema,
            self.data.num_classes,
            self.data_info,
        )
        # decided once, then recorded in the run's config.yaml: a resumed run keeps the choice
        t.precision, self.precision_reason = resolve_precision(
            t.precision, self.device, self.model.compute_bound
        )
        self.threads = resolve_threads(t.threads, self.model.compute_bound)
        self.configure_model()
        self.model.check_train(t)  # e.g. a growth schedule that train.steps cannot finish
        self.schedulers = self.model.configure_schedulers(t.steps)
        # the same z (and classes) for every snapshot: the time-lapse shows G moving, not noise
        n_fixed, self.fixed_labels, self.grid_row = self.data.snapshot_size or t.n_samples, None, 0
        if self.model.num_classes:  # one row per class
            self.grid_row = max(1, n_fixed // self.model.num_classes)
            self.fixed_labels = torch.arange(self.model.num_classes).repeat_interleave(
                self.grid_row
            )
            n_fixed = len(self.fixed_labels)
        self.fixed_z = self.model.fixed_inputs(
            self.data, n_fixed, torch.Generator().manual_seed(t.seed + 1)
        )
        self.metric_names = list(t.metrics) or list(self.data.default_metrics)
        check_metrics(self.metric_names, self.data)  # before training, not after
        self.step = 0
        self.elapsed = 0.0  # training seconds over all sessions of this run
        self.rollbacks = 0
        self._writer = None

    def configure_model(self) -> None:
        """Applies the train section's speed and scale options to the freshly built model."""
        t, model = self.cfg.train, self.model
        model.ranks = self.ranks
        if t.sync_bn:
            model.nets = distributed.sync_batchnorm(model.nets, self.ranks, self.device)
        distributed.broadcast_module(model.nets, self.ranks)
        if t.channels_last:
            model.nets.to(memory_format=torch.channels_last)
        if t.compile:
            for name, net in model.nets.items():
                if name != "G_ema":  # used a few times per run: not worth compiling
                    net.compile()
        if t.precision == "fp16":
            model.scalers = {k: torch.amp.GradScaler(self.device.type) for k in model.optimizers}

    # ------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "nets": self.model.nets.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.model.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scalers": {k: s.state_dict() for k, s in self.model.scalers.items()},
            "data": self.data.state_dict(),
            "rng": rng_state(),
            "elapsed": self.elapsed,
            "config": self.cfg.to_yaml(),
        }

    def load_state_dict(self, state: dict) -> None:
        load_nets(self.model, state, self.run.latest_checkpoint())
        for k, sched in self.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        for k, scaler in self.model.scalers.items():
            if k in state.get("scalers", {}):  # absent when the run began in another precision
                scaler.load_state_dict(state["scalers"][k])
        self.data.load_state_dict(state["data"])
        set_rng_state(state["rng"])
        self.step = int(state["step"])
        self.elapsed = float(state["elapsed"])

    def resume(self) -> int:
        """Restores the latest checkpoint, if any; returns the step training goes on from."""
        path = self.run.latest_checkpoint()
        if path is not None:
            # to the CPU first: RNG states must stay there; load_state_dict moves the rest
            self.load_state_dict(load_checkpoint(path, map_location="cpu"))
        if self.ranks.is_main:
            self.run.truncate_metrics(self.step)
        return self.step

    def save(self) -> None:
        """Writes a checkpoint (the main process only); the weights are checked first, so a
        NaN checkpoint never replaces a good one."""
        self.check_finite_weights()
        if self.ranks.is_main:
            save_checkpoint(
                self.run.checkpoints, self.step, self.state_dict(), self.cfg.train.keep_last
            )

    def check_finite_weights(self) -> None:
        params = [p for p in self.model.nets.parameters()]
        if params and not bool(torch.stack([p.detach().isfinite().all() for p in params]).all()):
            raise TrainingDiverged(
                f"the weights became non-finite by step {self.step}; no checkpoint was written"
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
        torch.manual_seed(t.seed + 1_000_003 * self.rollbacks + self.step)
        if self.ranks.is_main:
            self.run.truncate_metrics(self.step)
            self.run.append_metrics(
                {"step": self.step, "event": f"rollback from step {failed_at}: {error}"}
            )

    # ------------------------------------------------------------ side jobs
    @property
    def writer(self):
        if self._writer is None and self.cfg.train.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.run.tensorboard), purge_step=self.step + 1)
        return self._writer

    def log(self, pending: list[dict]) -> dict[str, float]:
        """Averages the logs since the last call (and over processes) with one host sync, and
        writes them out; raises TrainingDiverged on a non-finite value."""
        keys = list(pending[-1])
        means = torch.stack([torch.stack([p[k].float() for p in pending]).mean() for k in keys])
        means = distributed.mean_over_ranks(means, self.ranks)
        row = dict(zip(keys, means.tolist(), strict=True))
        bad = [k for k, v in row.items() if not math.isfinite(v)]
        if bad:
            raise TrainingDiverged(
                f"{', '.join(bad)} became non-finite by step {self.step}; lower the learning "
                f"rates or resume from the last good checkpoint in {self.run.checkpoints}"
            )
        self.write_row({"step": self.step, "time": round(self.elapsed, 3), **row})
        return row

    def write_row(self, row: dict) -> None:
        if not self.ranks.is_main:
            return
        self.run.append_metrics(row)
        if self.writer is not None:
            for key, value in row.items():
                if key not in ("step", "time") and not isinstance(value, str):  # not protocols
                    self.writer.add_scalar(key, value, row["step"])

    def snapshot(self, name: str = "", title: str = "") -> None:
        """Samples of the fixed noise as samples/NAME.npy and a picture (default step_NNNNNNN)."""
        from gankit.viz.samples import write_samples, writer_for

        x = self.model.sample(z=self.fixed_z, labels=self.fixed_labels).cpu().numpy()
        stem = self.run.samples / (name or f"step_{self.step:07d}")
        np.save(stem.with_suffix(".npy"), x)  # the time-lapse and the report read these
        out = stem.with_suffix(writer_for(self.data_info).snapshot)
        if out.suffix != ".npy":
            title = title or f"step {self.step}"
            write_samples(x, self.data_info, out, title, nrow=self.grid_row or None)

    def end_phase(self, phase: str) -> None:
        """At the end of one of the model's phases: the snapshot samples/phase_PHASE and a row
        in metrics.jsonl saying when (the report lists the phases from these)."""
        self.snapshot(f"phase_{phase}", f"phase {phase}, step {self.step}")
        event = {"event": f"end of phase {phase}", "phase": phase}
        self.write_row({"step": self.step, "time": round(self.elapsed, 3), **event})

    def evaluate(self, bar: ProgressBar) -> dict[str, float]:
        if not self.metric_names:
            return {}
        results = evaluate(
            self.model,
            self.data,
            self.metric_names,
            self.cfg.train.n_samples,
            report=lambda what: bar.note(f"evaluating {what}"),
        )
        self.write_row({"step": self.step, "time": round(self.elapsed, 3), **results})
        return results

    def finish(self, bar: ProgressBar) -> None:
        """The main process's end-of-run pictures and report, shown on the bar as they go."""
        from gankit.viz.pictures import save_final_pictures
        from gankit.viz.report import write_report

        bar.note("drawing pictures")
        save_final_pictures(self.model, self.data, self.run.path / "pictures", self.cfg.train.seed)
        if self.cfg.train.report:
            bar.note("writing report.html")
            write_report(self.run.path)
        bar.note("done")

    def autocast(self):
        precision = self.cfg.train.precision
        if precision in ("bf16", "fp16"):
            dtype = torch.bfloat16 if precision == "bf16" else torch.float16
            return torch.autocast(self.device.type, dtype=dtype)
        return contextlib.nullcontext()

    def next_batch(self):
        """This process's share of the next global batch, on the device."""
        t = self.cfg.train
        k = self.model.batches_per_step
        batch = self.data.batch(self.model.batch_size(t.batch_size) * k)
        parts = batch if isinstance(batch, tuple | list) else (batch,)
        parts = [distributed.shard(x, k, self.ranks) for x in parts]
        if t.channels_last and parts[0].dim() == 4:
            parts[0] = parts[0].contiguous(memory_format=torch.channels_last)
        batch = tuple(parts) if isinstance(batch, tuple | list) else parts[0]
        return move_batch(batch, self.device)

    # ------------------------------------------------------------ the loop
    def finished(self) -> bool:
        """At train.steps, or past train.time_limit seconds of training (a fixed-time budget)."""
        return self.step >= self.cfg.train.steps or self._time_up

    def fit(self) -> dict[str, float]:
        """Trains to `train.steps`; returns the final evaluation."""
        t, main = self.cfg.train, self.ranks.is_main
        if main:
            self.run.data_info.write_text(json.dumps(self.data_info))
        pending: list[dict] = []
        results: dict[str, float] = {}
        self._time_up = bool(t.time_limit and self.elapsed >= t.time_limit)
        start = time.perf_counter() - self.elapsed
        bar = ProgressBar(
            t.steps, self.step, t.progress and main, time_limit=t.time_limit, elapsed=self.elapsed
        )
        phase = self.model.phase
        threads_before = torch.get_num_threads()
        torch.set_num_threads(self.threads)  # for this run only: restored when it ends
        try:
            with bar, StopOnSignal() as stop:
                while not self.finished():
                    batch = self.next_batch()
                    with self.autocast():
                        logs = self.model.train_step(batch, self.step)
                    self.model.update_ema(self.step)
                    for sched in self.schedulers.values():
                        sched.step()
                    self.step += 1
                    self.elapsed = time.perf_counter() - start
                    pending.append(logs)
                    time_up = bool(t.time_limit and self.elapsed >= t.time_limit)
                    # every process must agree to stop at the same step
                    self._time_up, stopping = distributed.any_rank(
                        [time_up, stop.requested], self.ranks, self.device
                    )
                    last = self.finished()
                    now = self.model.phase
                    ckpt = self.step % t.ckpt_every == 0 or last or stopping
                    # logs also flush at checkpoints, so a resumed run averages the same windows
                    if self.step % t.log_every == 0 or ckpt:
                        try:
                            row = self.log(pending)
                            if ckpt:
                                self.check_finite_weights()
                        except TrainingDiverged as e:
                            pending = []
                            self.rollback(e)  # or re-raises
                            start = time.perf_counter() - self.elapsed
                            self._time_up = False
                            phase = self.model.phase
                            continue
                        bar.update(self.step, row, self.elapsed, phase=now)
                        pending = []
                    else:
                        bar.update(self.step, elapsed=self.elapsed, phase=now)
                    if main and (self.step % t.sample_every == 0 or last):
                        self.snapshot()
                    if main and phase and now != phase:
                        self.end_phase(phase)
                    if main and now and last:
                        self.end_phase(now)
                    phase = now
                    if ckpt:
                        self.save()  # at a stop, the step in hand is complete: nothing is lost
                    if main and ((t.eval_every and self.step % t.eval_every == 0) or last):
                        results = self.evaluate(bar)
                    if stopping:
                        raise TrainingStopped
                if main:
                    self.finish(bar)
        finally:
            torch.set_num_threads(threads_before)
            if self._writer is not None:
                self._writer.close()
        distributed.barrier(self.ranks)  # the others wait for the main process's evaluation
        return results
