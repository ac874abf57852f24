"""The original GAN (Goodfellow et al. 2014): MLP G and D, BCE, minimax or non-saturating G loss."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gankit.data.sources import Batch, split_batch
from gankit.errors import ConfigError
from gankit.losses import G_LOSSES, d_loss_bce, r1_penalty
from gankit.models.base import GANModel, VectorGANConfig, adam, linear_decay, set_requires_grad
from gankit.nn.mlp import VectorDiscriminator, VectorGenerator
from gankit.registry import register_model


@dataclass
class GANConfig(VectorGANConfig):
    name: str = "gan"
    g_loss: str = "nonsaturating"  # nonsaturating | minimax (the lecture's saturating form)
    d_steps: int = 1  # D updates per G update
    r1_gamma: float = 0.0  # R1 penalty weight on real data (Mescheder et al. 2018); 0 = off
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges this many samples at once

    def validate(self) -> None:
        super().validate()
        if self.g_loss not in ("nonsaturating", "minimax"):
            raise ConfigError(f"model.g_loss must be nonsaturating or minimax, got {self.g_loss!r}")
        if self.r1_gamma < 0:
            raise ConfigError(f"model.r1_gamma must be 0 or more, got {self.r1_gamma}")
        if self.pack < 1:
            raise ConfigError(f"model.pack must be at least 1, got {self.pack}")
        if self.d_steps < 1:
            raise ConfigError(f"model.d_steps must be at least 1, got {self.d_steps}")

    def check_train(self, train) -> None:
        """Checks against the train section: packed batches must split evenly."""
        if train.batch_size % self.pack:
            raise ConfigError(
                f"train.batch_size ({train.batch_size}) must be a multiple of model.pack "
                f"({self.pack})"
            )


class VectorGAN(GANModel):
    """The game most models share: `batches_per_step` D updates on fresh real batches, then one
    G update. Subclasses give the nets (`build_nets`) and the losses (`d_loss`, `g_loss`); this
    base uses MLPs, which fit any data shape, and Adam for both players."""

    pack = 1  # samples D judges at once (PacGAN); the GAN makes it configurable

    def __init__(self, cfg, data_shape, num_classes: int = 0):
        super().__init__(cfg, data_shape, num_classes)
        self.nets["G"], self.nets["D"] = self.build_nets()

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        cfg = self.cfg
        return (
            VectorGenerator(cfg.z_dim, self.data_shape, cfg.g_hidden, cfg.g_layers),
            VectorDiscriminator(self.data_shape, cfg.d_hidden, cfg.d_layers, self.pack),
        )

    def configure_optimizers(self):
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {
            "G": adam(self.nets["G"].parameters(), self.cfg.lr_g, betas),
            "D": adam(self.nets["D"].parameters(), self.cfg.lr_d, betas),
        }

    def configure_schedulers(self, total_steps: int):
        return linear_decay(self.optimizers, total_steps, self.cfg.lr_decay_start)

    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """G(z), or G(z, y) for a conditional model."""
        return self.nets["G"](z) if y is None else self.nets["G"](z, y)

    def discriminate(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D(x), or D(x, y) for a conditional model: one score per sample (per pack)."""
        return self.nets["D"](x) if y is None else self.nets["D"](x, y)

    def discriminate_pair(
        self, x_real: Tensor, x_fake: Tensor, y: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """(D(x_real), D(x_fake)): one pass over both batches when no layer of D looks across
        samples (the same numbers, fewer and larger kernels); two passes otherwise, so that
        batch norm or a minibatch-statistics layer never mixes real and fake."""
        if self._d_mixes_samples:
            return self.discriminate(x_real, y), self.discriminate(x_fake, y)
        y_both = None if y is None else torch.cat([y, y])
        d_both = self.discriminate(torch.cat([x_real, x_fake]), y_both)
        return d_both.split([d_both.shape[0] // 2] * 2)

    @functools.cached_property
    def _d_mixes_samples(self) -> bool:
        return any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_samples", False)
            for m in self.nets["D"].modules()
        )

    def d_loss(
        self, x_real: Tensor, x_fake: Tensor, y: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss to minimise on one real and one fake batch (of classes y), and extra logs."""
        raise NotImplementedError

    def g_loss(self, d_fake: Tensor) -> Tensor:
        raise NotImplementedError

    def after_d_step(self) -> None:
        """Called after each D update (WGAN clips its weights here)."""

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        x, y = split_batch(batch)
        if not self.conditional:
            y = None  # labelled data trains an unconditional model too
        k = self.batches_per_step
        xs = x.chunk(k)
        ys = y.chunk(k) if y is not None else [None] * len(xs)
        for x_real, y_real in zip(xs, ys, strict=True):  # fresh real data for each D update
            with torch.no_grad():
                # fakes of the real batch's classes, so labels follow the data's frequencies
                x_fake = self.generate(self.noise(x_real.shape[0]), y_real)
            loss_d, logs = self.d_loss(x_real, x_fake, y_real)
            self.update("D", loss_d)
            self.after_d_step()
        loss_g = self.generator_step(x_real.shape[0], y_real)
        return {"loss/D": loss_d.detach(), "loss/G": loss_g, **logs}

    def generator_step(self, n: int, y: Tensor | None = None) -> Tensor:
        """One G update on n samples against the current D, frozen; returns the detached loss."""
        D = self.nets["D"]
        set_requires_grad(D, False)
        loss_g = self.g_loss(self.discriminate(self.generate(self.noise(n), y), y))
        self.update("G", loss_g)
        set_requires_grad(D, True)
        return loss_g.detach()


@register_model("gan", config=GANConfig)
class GAN(VectorGAN):
    """GAN (Goodfellow et al. 2014): MLP G and D trained with binary cross-entropy."""

    def __init__(self, cfg, data_shape, num_classes: int = 0):
        self.pack = cfg.pack
        super().__init__(cfg, data_shape, num_classes)

    @property
    def batches_per_step(self) -> int:
        return self.cfg.d_steps

    def d_loss(self, x_real, x_fake, y=None):
        gamma = self.cfg.r1_gamma
        x_real.requires_grad_(gamma > 0)  # R1 differentiates D's output w.r.t. the real input
        d_real, d_fake = self.discriminate_pair(x_real, x_fake, y)
        loss_d = d_loss_bce(d_real, d_fake)
        if gamma == 0:
            return loss_d, {}
        r1 = r1_penalty(d_real, x_real)
        return loss_d + 0.5 * gamma * r1, {"loss/r1": r1.detach()}

    def g_loss(self, d_fake):
        return G_LOSSES[self.cfg.g_loss](d_fake)
