"""The original GAN (Goodfellow et al. 2014): MLP G and D, BCE, minimax or non-saturating G loss."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.errors import ConfigError
from gankit.losses import G_LOSSES, d_loss_bce, r1_penalty
from gankit.models.base import GANModel, VectorGANConfig, linear_decay, set_requires_grad
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


class VectorGAN(GANModel):
    """Shared by the MLP models: builds G and D for any data shape and Adam for both."""

    def __init__(self, cfg, data_shape):
        super().__init__(cfg, data_shape)
        self.nets["G"] = VectorGenerator(cfg.z_dim, self.data_shape, cfg.g_hidden, cfg.g_layers)
        self.nets["D"] = VectorDiscriminator(
            self.data_shape, cfg.d_hidden, cfg.d_layers, getattr(cfg, "pack", 1)
        )

    def configure_optimizers(self):
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {
            "G": torch.optim.Adam(self.nets["G"].parameters(), lr=self.cfg.lr_g, betas=betas),
            "D": torch.optim.Adam(self.nets["D"].parameters(), lr=self.cfg.lr_d, betas=betas),
        }

    def configure_schedulers(self, total_steps: int):
        return linear_decay(self.optimizers, total_steps, self.cfg.lr_decay_start)

    def generator_step(self, loss_fn, n: int) -> Tensor:
        """One G update on n samples against the current D, frozen; returns the detached loss."""
        G, D, opt = self.nets["G"], self.nets["D"], self.optimizers["G"]
        set_requires_grad(D, False)
        loss_g = loss_fn(D(G(self.noise(n))))
        opt.zero_grad(set_to_none=True)
        loss_g.backward()
        opt.step()
        set_requires_grad(D, True)
        return loss_g.detach()

    def chunks(self, batch: Tensor) -> tuple[Tensor, ...]:
        """Splits the Trainer's batch into `batches_per_step` real batches of equal size."""
        return batch.chunk(self.batches_per_step)


@register_model("gan", config=GANConfig)
class GAN(VectorGAN):
    """GAN (Goodfellow et al. 2014): MLP G and D trained with binary cross-entropy."""

    @property
    def batches_per_step(self) -> int:
        return self.cfg.d_steps

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        G, D, opt_d = self.nets["G"], self.nets["D"], self.optimizers["D"]
        gamma = self.cfg.r1_gamma
        logs = {}
        if batch.shape[0] % (self.cfg.pack * self.cfg.d_steps):
            raise ConfigError(
                f"train.batch_size must be a multiple of model.pack ({self.cfg.pack}); "
                f"got {batch.shape[0] // self.cfg.d_steps}"
            )
        for x_real in self.chunks(batch):  # [B, *data_shape] each
            with torch.no_grad():
                x_fake = G(self.noise(x_real.shape[0]))
            x_real.requires_grad_(gamma > 0)
            d_real = D(x_real)
            loss_d = d_loss_bce(d_real, D(x_fake))
            if gamma > 0:
                r1 = r1_penalty(d_real, x_real)
                loss_d = loss_d + 0.5 * gamma * r1
                logs["loss/r1"] = r1.detach()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        loss_g = self.generator_step(G_LOSSES[self.cfg.g_loss], x_real.shape[0])
        return {"loss/D": loss_d.detach(), "loss/G": loss_g, **logs}
