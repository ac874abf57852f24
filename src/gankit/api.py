"""The Python entry points: train an experiment, load a run back, sample from it."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import torch

from gankit.config import ExperimentConfig, resolve_config
from gankit.data import DataSource, build_data
from gankit.errors import CheckpointError, ConfigError, GankitError, RunError
from gankit.files import free_path
from gankit.models import GANModel, build_model
from gankit.training import distributed
from gankit.training.checkpoint import load_checkpoint
from gankit.training.control import resolve_device
from gankit.training.run import RunDir, data_description
from gankit.training.trainer import Trainer
from gankit.viz.report import write_report


def default_run_dir(cfg: ExperimentConfig, preset: str | None, root: Path = Path("runs")) -> Path:
    """root/NAME-YYYYMMDD-HHMMSS, with -2, -3 ... after it when a run started in that second."""
    name = Path(preset).stem if preset else f"{cfg.model.name}-{cfg.data.name}"
    return free_path(root / f"{name}-{datetime.now():%Y%m%d-%H%M%S}")


def prepare(
    preset: str | dict | None = None,
    model: str | None = None,
    data: str | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = None,
) -> Trainer:
    """Resolves the config and makes a new run folder; `.fit()` on the result trains.

    Under torchrun every process calls this; the main process names and creates the folder.
    """
    cfg = resolve_config(preset, model, data, overrides)
    ranks = distributed.setup(cfg.train.device)
    path = Path(out or default_run_dir(cfg, preset if isinstance(preset, str) else None))
    path = distributed.broadcast_object(path, ranks)  # default names hold the time
    if ranks.is_main:
        RunDir.check_new(path)
    trainer = Trainer(cfg, RunDir(path))  # bad data or options fail here, before any file exists
    if ranks.is_main:
        RunDir.create(path, cfg)
    distributed.barrier(ranks)
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


RESUME_KEYS = ("train.time_limit",)  # what --set may change on resume, besides --steps


def prepare_resume(
    run_dir: str | Path, steps: int | None = None, overrides: list[str] | None = None
) -> Trainer:
    """Restores a run's latest checkpoint, to go on to `steps` in all when given; `overrides`
    may set RESUME_KEYS (a larger `train.time_limit` extends a run that reached its own)."""
    run = RunDir.open(run_dir)
    if (run.path / EXPORT_WEIGHTS).is_file():
        raise RunError(
            f"{run_dir} is an export (weights for sampling, no training state); resume the run "
            "it came from"
        )
    overrides = list(overrides or [])
    bad = [o for o in overrides if o.partition("=")[0].strip() not in RESUME_KEYS]
    if bad:
        raise RunError(
            f"--resume continues a run as configured; drop --set {bad[0]} (only --steps and "
            f"--set {', '.join(k + '=...' for k in RESUME_KEYS)} may change)"
        )
    cfg = run.load_config(overrides)
    if steps is not None:
        cfg.train.steps = steps
        cfg.train.validate()
    # the main process only: under torchrun, its own marker may be there by the time others look
    if distributed.setup(cfg.train.device).is_main:
        run.check_idle()
    trainer = Trainer(cfg, run)
    trainer.resume()
    if steps is not None and steps <= trainer.step:
        raise RunError(
            f"{run_dir} is at step {trainer.step} already; give --steps above it to go on"
        )
    limit = cfg.train.time_limit
    if limit and trainer.elapsed >= limit:
        raise RunError(
            f"{run_dir} has trained its train.time_limit of {limit:g} s already; to go on, give "
            "--set train.time_limit=SECONDS (a larger total, or 0 for none)"
        )
    if (steps is not None or overrides) and trainer.ranks.is_main:
        run.save_config(cfg)
    return trainer


def resume(
    run_dir: str | Path, steps: int | None = None, overrides: list[str] | None = None
) -> Trainer:
    """Continues a run from its latest checkpoint; returns the finished Trainer."""
    trainer = prepare_resume(run_dir, steps, overrides)
    trainer.fit()
    return trainer


EXPORT_WEIGHTS = "model.safetensors"


def load_run(
    run_dir: str | Path, device: str = "cpu", with_data: bool = True
) -> tuple[GANModel, DataSource | None, ExperimentConfig, int]:
    """Rebuilds a run's model from its config and latest checkpoint: (model, data, cfg, step).

    `run_dir` may also be a folder written by `export_run`. Without `with_data` the data set is
    not loaded (data is None): the model's shape and classes come from the run's data.json.
    """
    run = RunDir.open(run_dir)
    cfg = run.load_config()
    exported = run.path / EXPORT_WEIGHTS
    path = exported if exported.is_file() else run.latest_checkpoint()
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
    if path == exported:
        step = _load_export(model, path)
    else:
        state = load_checkpoint(path, map_location="cpu")
        model.load_training_state(state, path, weights_only=True)
        step = int(state["step"])
    if cfg.train.channels_last == "true":  # the layout it trained in: the very same samples
        model.nets.to(memory_format=torch.channels_last)
    model.eval()
    return model, data if with_data else None, cfg, step


def export_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Writes a run's nets as safetensors (no pickled code), with its config.yaml and data.json,
    to `out` (default RUN_DIR/export); `load`, `gankit sample` and `gankit eval` read it back."""
    from safetensors.torch import save_file

    model, _, cfg, step = load_run(run_dir, with_data=False)
    run = RunDir.open(run_dir)
    out = Path(out) if out else run.path / "export"
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunError(f"{out} exists and is not empty; choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        weights = {k: v.contiguous() for k, v in model.nets.state_dict().items()}
        save_file(weights, str(out / EXPORT_WEIGHTS), metadata={"step": str(step)})
        (out / "config.yaml").write_text(cfg.to_yaml())
        if run.data_info.is_file():
            (out / run.data_info.name).write_text(run.data_info.read_text())
    except OSError as e:
        raise RunError(f"cannot write to {out}: {e.strerror or e}; choose another --out") from None
    return out


def _load_export(model: GANModel, path: Path) -> int:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            state = {k: f.get_tensor(k) for k in f.keys()}
            step = int((f.metadata() or {}).get("step", 0))
        model.nets.load_state_dict(state)
    except (SafetensorError, OSError, RuntimeError, ValueError) as e:
        raise CheckpointError(
            f"{path} is not a gankit export that fits its config.yaml ({str(e)[:160]})"
        ) from None
    return step


def load(run_dir: str | Path, device: str = "cpu") -> GANModel:
    """The trained model of a run folder, ready for `model.sample(n)`."""
    return load_run(run_dir, device, with_data=False)[0]


def sample(
    run_dir: str | Path, n: int, seed: int = 0, device: str = "cpu", prime: str | Path | None = None
) -> torch.Tensor:
    """n samples [n, *data_shape] from a run's latest checkpoint, reproducible by seed; with
    `prime` (a MIDI file; music models that declare the sample option "prime") every sample
    starts with the file's first bar and G writes the rest."""
    model = load(run_dir, device)
    if prime is None:
        return model.sample(n, seed=seed).cpu()
    bar = prime_bar_for(model, prime, RunDir.open(run_dir).read_data_info(), run_dir)
    return model.sample(n, seed=seed, prime=bar).cpu()


def prime_bar_for(model: GANModel, prime: str | Path, info: dict, run_dir) -> torch.Tensor:
    """The first bar of MIDI file `prime` on the grid of a run's data (`info`), for a model that
    continues a first bar; a ConfigError for any other model."""
    from gankit.data.music import prime_bar
    from gankit.registry import MODELS

    if "prime" not in model.spec.sample_options:
        able = ", ".join(e.name for e in MODELS.entries() if "prime" in e.spec.sample_options)
        raise ConfigError(
            f"--prime needs a model that continues a first bar ({able}); {run_dir} was trained "
            f"with {model.cfg.name!r}"
        )
    return torch.from_numpy(prime_bar(prime, info))


def report(run_dir: str | Path) -> Path:
    """Writes RUN/report.html and returns its path; with the run's model, when it has a
    checkpoint gankit can load, the page also draws D's decision surface and the losses'
    equilibria."""
    try:
        model = load_run(run_dir, with_data=False)[0]
    except GankitError:  # no checkpoint yet, or one that cannot be read: the rest still shows
        model = None
    return write_report(Path(run_dir), model)
