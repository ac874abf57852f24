"""The contract every gankit model keeps: what it declares (`ModelSpec`) and what it does
(`GANModel`: nets, optimizers, one train step, sampling, EMA of G, its training state).

The Trainer, the CLI, config resolution and the tests read only these names, so a new model is
one file: a config dataclass, a `GANModel` subclass (or none, when an existing class with other
defaults does the job) and a `register_model(name, config=..., spec=ModelSpec(...))`.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from gankit.batch import Batch
from gankit.engine import Engine
from gankit.errors import CheckpointError, ConfigError
from gankit.options import option
from gankit.registry import DATA_KINDS


@dataclass(frozen=True)
class ModelSpec:
    """What a registered model is, declared once where it is registered.

    `data_kind`: the data it trains on: points (any vectors: 2-D points, flat images), image
    ([C, S, S]), music (piano rolls), text (token ids), paired or unpaired (image translation).
    `default_data`: the data set when neither --data nor a preset names one.
    `conditional`: G(z, y) and D(x, y) take class labels; `sample(labels=...)` draws by class.
    `sample_options`: keyword options of `sample` beyond n, z, seed and labels (a text model's
    temperature), which the CLI offers.
    `compute_bound`: large convolutions, where bf16 (where native) and several threads pay;
    small MLPs and LSTMs train in fp32 on one thread (train.precision=auto, train.threads=0).
    `tiny`: `--set` overrides of model fields under which one step takes well under a second
    on the CPU; the registry-wide tests train every model with them on its kind's tiny data.
    `batch_size`: train.batch_size when neither a preset nor --set gives one (0: the trainer's
    default), for models whose paper trains with small batches of large images.
    """

    data_kind: str
    default_data: str
    conditional: bool = False
    sample_options: tuple[str, ...] = ()
    compute_bound: bool = False
    tiny: tuple[str, ...] = ()
    batch_size: int = 0

    def __post_init__(self):
        if self.data_kind not in DATA_KINDS:
            raise ValueError(f"data_kind must be one of {DATA_KINDS}, got {self.data_kind!r}")


@dataclass
class Optim:
    """The optimizer fields every model config shares (a config part, mixed in by dataclass
    inheritance): Adam's learning rates and betas, and a linear decay at the end."""

    lr_g: float = option(2e-4, above=0.0)
    lr_d: float = option(2e-4, above=0.0)
    beta1: float = option(0.5, min=0.0, below=1.0)
    beta2: float = option(0.999, min=0.0, below=1.0)
    # fraction of training after which the lrs fall linearly to 0 (1 = no decay)
    lr_decay_start: float = option(1.0, min=0.0, max=1.0)


class GANModel(nn.Module):
    """Holds `nets` (G, D, ...), builds its optimizers and owns one round of the game.

    The Trainer calls `start(train)` once, then `train_step(batch, step)` and `end_step(step)`
    for every step, with `batch_size(B) * batches_per_step` real samples; it never looks inside.
    Logs come back as detached scalar tensors, so no step syncs the device. Updates go through
    `self.engine` (backward, gradient averaging over processes, fp16 scaling, step).
    """

    batches_per_step: int = 1  # real batches one train step consumes (one per D update)

    def __init__(
        self,
        cfg,
        data_shape: tuple[int, ...],
        num_classes: int = 0,
        data_info: dict | None = None,
        engine: Engine | None = None,
    ):
        super().__init__()
        from gankit.registry import MODELS

        self.cfg = cfg
        self.spec: ModelSpec = MODELS.entry(cfg.name).spec
        self.data_shape = tuple(data_shape)
        self.data_info = data_info or {}
        self.num_classes = num_classes if self.spec.conditional else 0
        if self.spec.conditional and num_classes < 2:
            raise ConfigError(
                f"model {cfg.name} draws samples by class and needs a data set with classes "
                "(mnist5k, digits, mnist, fashion-mnist, cifar10, or a folder with class "
                "sub-folders)"
            )
        self.engine = engine or Engine()
        self.nets = nn.ModuleDict()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LRScheduler] = {}
        self.ema_decay = 0.0

    # ------------------------------------------------------------ to override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def configure_schedulers(
        self, total_steps: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Learning-rate schedules, stepped once per train step; by default the linear decay
        of `cfg.lr_decay_start` when the config has one."""
        return linear_decay(self.optimizers, total_steps, getattr(self.cfg, "lr_decay_start", 1))

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        raise NotImplementedError

    def check_run(self, train) -> None:
        """Checks the model against the run's train section (its data is known by now);
        raises ConfigError. A config's own `validate` checks its fields alone."""

    def batch_size(self, default: int) -> int:
        """The global batch of the coming step (train.batch_size = `default`); a model whose
        batch changes as it trains (ProGAN: one per resolution) says so here."""
        return default

    @property
    def phase(self) -> str:
        """The stage of training the model is in, for models that train in stages (ProGAN: its
        resolution), "" otherwise. The progress bar shows it, and the Trainer writes a snapshot
        `samples/phase_NAME` at the end of each."""
        return ""

    @property
    def equilibrium(self) -> dict[str, float]:
        """Log key -> the value that loss takes at the game's equilibrium, where G's samples
        match the data (the report draws them on the loss curves); {} where none is known."""
        return {}

    def fixed_inputs(self, data, n: int, generator: torch.Generator) -> Tensor:
        """What the Trainer's snapshots feed `sample(z=...)` at every snapshot: noise here; a
        translator takes held-out inputs from `data` instead."""
        return self.noise(n, generator)

    # ------------------------------------------------------------ the run
    def start(self, train) -> None:
        """Once before training: checks against the train section, sets up the lr schedules."""
        self.check_run(train)
        self.schedulers = self.configure_schedulers(train.steps)

    def prepare(self, data) -> None:
        """Once the run's state is in place (fresh or resumed), before the next step, with the
        data set: a model that first fits helpers to the data (CycleGAN's semantic classifiers)
        does it here, keeping them in `training_state` so a resumed run finds them done."""

    def end_step(self, step: int) -> None:
        """After train step `step` (0-based): G_ema and the learning rates move on."""
        self.update_ema(step)
        for sched in self.schedulers.values():
            sched.step()

    def training_state(self) -> dict[str, Any]:
        """Everything of the model a checkpoint holds: nets, optimizers, schedules, engine."""
        return {
            "nets": self.nets.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "engine": self.engine.state_dict(),
        }

    def load_training_state(self, state: dict, path=None, weights_only: bool = False) -> None:
        """Restores `training_state()` (only nets and optimizers with `weights_only`); a
        checkpoint that does not fit the model is a user's error (was config.yaml edited?)."""
        try:
            self.nets.load_state_dict(state["nets"])
            for key, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][key])
            if not weights_only:
                for key, sched in self.schedulers.items():
                    sched.load_state_dict(state["schedulers"][key])
                self.engine.load_state_dict(state.get("engine", {}))
        except (KeyError, RuntimeError, ValueError) as e:
            reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
            raise CheckpointError(
                f"checkpoint {path} does not fit the run's config.yaml ({reason}); "
                "was config.yaml edited? Restore it, or start a new run"
            ) from None

    def weights_finite(self) -> bool:
        params = list(self.nets.parameters())
        return not params or bool(torch.stack([p.detach().isfinite().all() for p in params]).all())

    # ------------------------------------------------------------ shared
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    def update(
        self, name: str, loss: Tensor, inputs: list[Tensor] | None = None, clip_norm: float = 0.0
    ) -> None:
        """One step of optimizer `name` on `loss`, carried out by the engine."""
        self.engine.step(name, self.optimizers[name], loss, inputs, clip_norm)

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), [n, z_dim]; a CPU `generator` gives the same z on every device.

        In distributed training every process draws the global batch's noise and keeps its own
        slice, so N processes see the z of the 1-process run.
        """
        if generator is not None:
            return torch.randn(n, self.z_dim, generator=generator).to(self.device)
        world = self.engine.ranks.world
        z = torch.randn(n * world, self.z_dim, device=self.device)
        return z[self.engine.global_rows(n)] if world > 1 else z

    def check_labels(self, labels: Tensor) -> None:
        if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < self.num_classes:
            raise ConfigError(
                f"class labels must be in 0..{self.num_classes - 1} for this model, "
                f"got {sorted(set(labels.tolist()))[:10]}"
            )

    @property
    def sampler(self) -> str:
        """The net that samples and is evaluated: "G_ema" when there is one, else "G"."""
        return "G_ema" if "G_ema" in self.nets else "G"

    def noise_or(self, z: Tensor | None, n: int | None, seed: int | None) -> Tensor:
        """z as given, or n draws of noise, reproducible by seed on every device."""
        if z is not None:
            return z
        return self.noise(n, None if seed is None else torch.Generator().manual_seed(seed))

    @torch.no_grad()
    def sample(
        self,
        n: int | None = None,
        z: Tensor | None = None,
        seed: int | None = None,
        labels: Tensor | None = None,
    ) -> Tensor:
        """n samples [n, *data_shape] from G (its EMA copy when there is one), in eval mode.

        Give z, or n and optionally a seed (the same samples on every device). A conditional
        model draws the classes in `labels` [n] (default: 0, 1, ..., K-1, 0, 1, ...).
        """
        z = self.noise_or(z, n, seed)
        G = self.nets[self.sampler]
        if self.spec.conditional:
            if labels is None:
                labels = torch.arange(z.shape[0]) % self.num_classes
            self.check_labels(labels)
            args = (z.to(self.device), labels.to(self.device))
        else:
            args = (z.to(self.device),)
        with eval_mode(G):
            return G(*args).float()

    def enable_ema(self, decay: float) -> None:
        """Keeps G_ema, a moving average of G's weights, used for sampling and evaluation."""
        self.ema_decay = decay
        if "G_ema" not in self.nets:
            self.nets["G_ema"] = copy.deepcopy(self.nets["G"]).requires_grad_(False)

    @torch.no_grad()
    def update_ema(self, step: int | None = None) -> None:
        """G_ema <- decay * G_ema + (1 - decay) * G after training step `step` (0-based).

        With a step, the decay warms up as min(decay, (1 + step) / (10 + step)), so the average
        forgets the random initial weights within a short run (decay 0.999 alone would still
        weigh them by 0.999^1000 = 37% after 1,000 steps).
        """
        if not self.ema_decay:
            return
        decay = self.ema_decay
        if step is not None:
            decay = min(decay, (1 + step) / (10 + step))
        G, G_ema = self.nets["G"], self.nets["G_ema"]
        torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - decay)
        for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
            b_ema.copy_(b)


@contextlib.contextmanager
def eval_mode(net: nn.Module):
    """`net` in eval mode for the block, then back in the mode it was in."""
    was_training = net.training
    net.eval()
    try:
        yield net
    finally:
        net.train(was_training)


def adam(params, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    """Adam with the fused kernel (one call per step instead of ~10 per tensor; measured in
    benchmarks/throughput.md) on the devices that have it."""
    params = list(params)
    fused = bool(params) and params[0].device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=fused)


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    """Freezes D during G's step so its weight gradients are not computed for nothing."""
    for p in net.parameters():
        p.requires_grad_(flag)


def linear_decay(
    optimizers: dict[str, torch.optim.Optimizer], total_steps: int, start: float
) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
    """Constant lr, then a linear fall to 0 over the last (1 - start) of training (as CycleGAN).

    Settling the lr at the end sharpens the modes that the game has found.
    """
    if start >= 1.0:
        return {}
    begin = int(start * total_steps)

    def factor(step: int) -> float:
        return 1.0 - max(0, step - begin) / max(1, total_steps - begin)

    return {k: torch.optim.lr_scheduler.LambdaLR(o, factor) for k, o in optimizers.items()}
