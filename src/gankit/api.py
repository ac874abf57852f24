"""The Python entry points: train an experiment, load a run back, sample from it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import torch

from gankit.config import ExperimentConfig, resolve_config
from gankit.data import DataSource, build_data
from gankit.errors import RunError
from gankit.models import GANModel, build_model, load_nets
from gankit.training.checkpoint import load_checkpoint
from gankit.training.run import RunDir
from gankit.training.trainer import Trainer, data_description, resolve_device


def default_run_dir(cfg: ExperimentConfig, preset: str | None, root: Path = Path("runs")) -> Path:
    name = Path(preset).stem if preset else f"{cfg.model.name}-{cfg.data.name}"
    return root / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"


def prepare(
    preset: str | dict | None = None,
    model: str | None = None,
    data: str | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = None,
) -> Trainer:
    """Resolves the config and makes a new run folder; `.fit()` on the result trains."""
    cfg = resolve_config(preset, model, data, overrides)
    path = Path(out or default_run_dir(cfg, preset if isinstance(preset, str) else None))
    RunDir.check_new(path)
    trainer = Trainer(cfg, RunDir(path))  # bad data or options fail here, before any file exists
    RunDir.create(path, cfg)
    return trainer


def train(
    preset: str | dict | None = None,
    model: str | None = None,
    data: str | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = None,
) -> Trainer:
    """Trains a new run (see `prepare`); returns the finished Trainer."""
    trainer = prepare(preset, model, data, overrides, out)
    trainer.fit()
    return trainer


def prepare_resume(run_dir: str | Path, steps: int | None = None) -> Trainer:
    """Restores a run's latest checkpoint, to go on to `steps` in all when given."""
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    if steps is not None:
        cfg.train.steps = steps
        cfg.train.validate()
    trainer = Trainer(cfg, run)
    trainer.resume()
    if steps is not None:
        if steps <= trainer.step:
            raise RunError(
                f"{run_dir} is at step {trainer.step} already; give --steps above it to go on"
            )
        run.save_config(cfg)
    return trainer


def resume(run_dir: str | Path, steps: int | None = None) -> Trainer:
    """Continues a run from its latest checkpoint; returns the finished Trainer."""
    trainer = prepare_resume(run_dir, steps)
    trainer.fit()
    return trainer


def load_run(
    run_dir: str | Path, device: str = "cpu", with_data: bool = True
) -> tuple[GANModel, DataSource | None, ExperimentConfig, int]:
    """Rebuilds a run's model from its config and latest checkpoint: (model, data, cfg, step).

    Without `with_data` the data set is not loaded (data is None): the model's shape and classes
    come from the run's data.json.
    """
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    path = run.latest_checkpoint()
    if path is None:
        raise RunError(f"{run_dir} has no checkpoint yet; train it first (`gankit train --resume`)")
    info = run.read_data_info()
    data = None
    if with_data or "shape" not in info:
        data = build_data(cfg.data, seed=cfg.train.seed)
        info = data_description(data)
    model = build_model(
        cfg.model,
        tuple(info["shape"]),
        resolve_device(device),
        cfg.train.ema,
        info["num_classes"],
        info,
    )
    state = load_checkpoint(path, map_location="cpu")
    load_nets(model, state, path)
    model.eval()
    return model, data if with_data else None, cfg, int(state["step"])


def load(run_dir: str | Path, device: str = "cpu") -> GANModel:
    """The trained model of a run folder, ready for `model.sample(n)`."""
    return load_run(run_dir, device, with_data=False)[0]


def sample(run_dir: str | Path, n: int, seed: int = 0, device: str = "cpu") -> torch.Tensor:
    """n samples [n, *data_shape] from a run's latest checkpoint, reproducible by seed."""
    return load(run_dir, device).sample(n, seed=seed).cpu()
