"""DCGAN (Radford et al. 2016) and its image variants: WGAN, WGAN-GP, hinge loss with SN."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.errors import ConfigError
from gankit.losses import D_LOSSES, G_LOSSES, gradient_penalty, r1_penalty
from gankit.models.base import adam, check_optimizer_options, linear_decay
from gankit.models.gan import VectorGAN
from gankit.nn.conv import NORMS, DCGANDiscriminator, DCGANGenerator
from gankit.registry import register_model

LOSSES = ("nonsaturating", "minimax", "wasserstein", "hinge", "ls")


@dataclass
class DCGANConfig:
    """DCGAN's nets with the loss and regularisers as options, so the image variants of the
    lecture's GANs are settings (see the presets), not copies of the loop:
    WGAN = loss wasserstein, clip 0.01, optimizer rmsprop, d_steps 5;
    WGAN-GP = loss wasserstein, gp_lambda 10, d_norm layer (no batch norm), d_steps 5;
    hinge + SN = loss hinge, spectral_norm true, d_norm none."""

    name: str = "dcgan"
    z_dim: int = 100
    g_channels: int = 64  # G's width at full resolution; doubles at each halving
    d_channels: int = 64  # D's width at its first layer
    loss: str = "nonsaturating"  # nonsaturating | minimax | wasserstein | hinge | ls
    d_steps: int = 1  # D (critic) updates per G update
    d_norm: str = "batch"  # batch | layer | instance | none
    spectral_norm: bool = False  # on every D layer (Miyato et al. 2018)
    clip: float = 0.0  # WGAN weight clipping of D (Arjovsky et al. 2017); 0 = off
    gp_lambda: float = 0.0  # WGAN-GP gradient penalty (Gulrajani et al. 2017); 0 = off
    r1_gamma: float = 0.0  # R1 penalty on real data (Mescheder et al. 2018); 0 = off
    pack: int = 1  # PacGAN: D judges this many samples at once (Lin et al. 2018)
    optimizer: str = "adam"  # adam | rmsprop (the WGAN paper's)
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_decay_start: float = 1.0  # fraction of training after which the lrs fall linearly to 0

    def validate(self) -> None:
        for key in ("z_dim", "g_channels", "d_channels", "d_steps", "pack"):
            if getattr(self, key) < 1:
                raise ConfigError(f"model.{key} must be at least 1, got {getattr(self, key)}")
        choices = {"loss": LOSSES, "d_norm": NORMS, "optimizer": ("adam", "rmsprop")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(
                    f"model.{key} must be one of {', '.join(allowed)}, got {getattr(self, key)!r}"
                )
        for key in ("clip", "gp_lambda", "r1_gamma"):
            if getattr(self, key) < 0:
                raise ConfigError(f"model.{key} must be 0 (off) or positive")
        if self.gp_lambda and self.d_norm == "batch":
            # batch norm mixes samples, so the per-sample gradient the penalty needs is wrong
            raise ConfigError(
                "model.gp_lambda needs a critic without batch norm: set model.d_norm=layer or none"
            )
        check_optimizer_options(self)

    def check_train(self, train) -> None:
        if train.batch_size % self.pack:
            raise ConfigError(
                f"train.batch_size ({train.batch_size}) must be a multiple of model.pack "
                f"({self.pack})"
            )


def image_size(model: str, data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(channels, size) of square image data; a clear error for anything else."""
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(
            f"model {model} needs square images [C, S, S], but the data gives samples of shape "
            f"{list(data_shape)}; use an image data set (see `gankit list datasets`)"
        )
    return data_shape[0], data_shape[1]


@register_model("dcgan", config=DCGANConfig)
class DCGAN(VectorGAN):
    """DCGAN (Radford et al. 2016): conv G and D; loss, norm and penalties by config."""

    compute_bound = True

    def __init__(self, cfg, data_shape, num_classes: int = 0):
        self.pack = cfg.pack
        super().__init__(cfg, data_shape, num_classes)

    def build_nets(self):
        cfg = self.cfg
        channels, size = image_size(cfg.name, self.data_shape)
        G = DCGANGenerator(cfg.z_dim, channels, size, cfg.g_channels, self.num_classes)
        D = DCGANDiscriminator(
            channels, size, cfg.d_channels, cfg.d_norm, cfg.spectral_norm, cfg.pack,
            self.num_classes,
        )  # fmt: skip
        return G, D

    @property
    def batches_per_step(self) -> int:
        return self.cfg.d_steps

    def configure_optimizers(self):
        cfg = self.cfg
        if cfg.optimizer == "rmsprop":
            make = lambda p, lr: torch.optim.RMSprop(p, lr=lr)  # noqa: E731
        else:
            make = lambda p, lr: adam(p, lr, (cfg.beta1, cfg.beta2))  # noqa: E731
        return {
            "G": make(self.nets["G"].parameters(), cfg.lr_g),
            "D": make(self.nets["D"].parameters(), cfg.lr_d),
        }

    def configure_schedulers(self, total_steps: int):
        return linear_decay(self.optimizers, total_steps, self.cfg.lr_decay_start)

    def d_loss(self, x_real, x_fake, y=None):
        cfg = self.cfg
        x_real.requires_grad_(cfg.r1_gamma > 0)  # R1 differentiates D w.r.t. the real input
        d_real, d_fake = self.discriminate_pair(x_real, x_fake, y)
        kind = "bce" if cfg.loss in ("nonsaturating", "minimax") else cfg.loss
        loss_d = D_LOSSES[kind](d_real, d_fake)
        logs = {}
        if cfg.loss == "wasserstein":  # the critic's estimate of W(P_r, P_g)
            logs["wdist"] = (d_real.mean() - d_fake.mean()).detach()
        if cfg.gp_lambda:
            gp = gradient_penalty(lambda x: self.discriminate(x, y), x_real, x_fake)
            loss_d = loss_d + cfg.gp_lambda * gp
            logs["loss/gp"] = gp.detach()
        if cfg.r1_gamma:
            r1 = r1_penalty(d_real, x_real)
            loss_d = loss_d + 0.5 * cfg.r1_gamma * r1
            logs["loss/r1"] = r1.detach()
        return loss_d, logs

    def g_loss(self, d_fake):
        return G_LOSSES[self.cfg.loss](d_fake)

    @torch.no_grad()
    def after_d_step(self) -> None:
        if self.cfg.clip:
            for p in self.nets["D"].parameters():
                p.clamp_(-self.cfg.clip, self.cfg.clip)
