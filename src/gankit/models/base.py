"""The thin base of every gankit model: nets, optimizers, one train step, sampling, EMA of G."""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from gankit.data.sources import Batch
from gankit.errors import ConfigError
from gankit.training.distributed import SINGLE, Ranks, average_gradients


class GANModel(nn.Module):
    """Holds `nets` (G, D, ...), builds its optimizers and owns one round of the game.

    The Trainer calls `train_step(batch, step)` with `batch_size * batches_per_step` real samples
    and never looks inside; logs come back as detached scalar tensors so no step syncs the device.
    """

    batches_per_step: ClassVar[int] = 1
    conditional: ClassVar[bool] = False  # G(z, y) and D(x, y) take class labels
    uses_data_info: ClassVar[bool] = False  # the constructor takes data_info= (e.g. a vocabulary)
    # the data set when neither --data nor a preset names one (None: mnist5k or ring)
    default_data: ClassVar[str | None] = None
    # large convolutions: bf16 (where native) and several threads pay; small MLPs and LSTMs train
    # in fp32 on one thread (train.precision=auto, train.threads=0)
    compute_bound: ClassVar[bool] = False

    def __init__(self, cfg, data_shape: tuple[int, ...], num_classes: int = 0):
        super().__init__()
        self.cfg = cfg
        self.data_shape = tuple(data_shape)
        self.num_classes = num_classes if self.conditional else 0
        self.nets = nn.ModuleDict()
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}  # fp16 only: one per optimizer
        self.ranks: Ranks = SINGLE  # set by the Trainer under torchrun
        self.ema_decay = 0.0

    # ------------------------------------------------------------ to override
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def configure_schedulers(
        self, total_steps: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Learning-rate schedules, stepped by the Trainer once per train step."""
        return {}

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        raise NotImplementedError

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

    def check_train(self, train) -> None:
        """Checks the model against the run's train section once the data's shape is known
        (the configs' own `check_train` sees no data); raises ConfigError."""

    # ------------------------------------------------------------ shared
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def z_dim(self) -> int:
        return self.cfg.z_dim

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """z ~ N(0, I), [n, z_dim]; a CPU `generator` gives the same z on every device.

        In distributed training every process draws the global batch's noise and keeps its own
        slice, so N processes see the z of the 1-process run.
        """
        if generator is not None:
            return torch.randn(n, self.z_dim, generator=generator).to(self.device)
        r = self.ranks
        if r.enabled:
            return torch.randn(n * r.world, self.z_dim, device=self.device)[r.rank * n :][:n]
        return torch.randn(n, self.z_dim, device=self.device)

    def fixed_inputs(self, data, n: int, generator: torch.Generator) -> Tensor:
        """What the Trainer's snapshots feed `sample(z=...)` at every snapshot: noise here; a
        translator takes held-out inputs from `data` instead."""
        return self.noise(n, generator)

    def update(
        self,
        name: str,
        loss: Tensor,
        inputs: list[Tensor] | None = None,
        clip_norm: float = 0.0,
    ) -> None:
        """One step of optimizer `name` on `loss`: backward (scaled under fp16), gradients
        averaged over processes, clipped to a global norm of `clip_norm` when > 0, step.
        `inputs` limits the backward to those parameters."""
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        scaler = self.scalers.get(name)
        (scaler.scale(loss) if scaler else loss).backward(inputs=inputs)
        params = [p for g in opt.param_groups for p in g["params"]]
        average_gradients(params, self.ranks)
        if clip_norm > 0:
            if scaler:
                scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
            nn.utils.clip_grad_norm_(params, clip_norm)
        if scaler:
            scaler.step(opt)  # skipped when the fp16 gradients overflowed
            scaler.update()
        else:
            opt.step()

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
        if self.conditional:
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


def check_optimizer_options(cfg) -> None:
    """lr_g, lr_d, beta1, beta2 and lr_decay_start, shared by every model config."""
    if cfg.lr_g <= 0 or cfg.lr_d <= 0:
        raise ConfigError("model.lr_g and model.lr_d must be positive")
    if not (0.0 <= cfg.beta1 < 1.0 and 0.0 <= cfg.beta2 < 1.0):
        raise ConfigError(
            f"model.beta1 and model.beta2 must be in [0, 1), got {cfg.beta1}, {cfg.beta2}"
        )
    if not 0.0 <= cfg.lr_decay_start <= 1.0:
        raise ConfigError(
            f"model.lr_decay_start must be in [0, 1] (1 = no decay), got {cfg.lr_decay_start}"
        )


@dataclass
class VectorGANConfig:
    """Options shared by the MLP models that work on any vector data (points, flat images)."""

    name: str = "gan"
    z_dim: int = 16
    g_hidden: int = 256
    g_layers: int = 3
    d_hidden: int = 256
    d_layers: int = 3
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_start: float = 1.0  # fraction of training after which the lrs fall linearly to 0

    def validate(self) -> None:
        for key in ("z_dim", "g_hidden", "d_hidden"):
            if getattr(self, key) < 1:
                raise ConfigError(
                    f"model.{key} must be a positive integer, got {getattr(self, key)}"
                )
        for key in ("g_layers", "d_layers"):
            if getattr(self, key) < 0:
                raise ConfigError(f"model.{key} must be 0 or more, got {getattr(self, key)}")
        check_optimizer_options(self)


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
