"""Wasserstein GANs: weight clipping (Arjovsky 2017) and gradient penalty (Gulrajani 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gankit.errors import ConfigError
from gankit.losses import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty
from gankit.models.base import VectorGANConfig
from gankit.models.gan import VectorGAN
from gankit.registry import register_model


@dataclass
class CriticConfig(VectorGANConfig):
    n_critic: int = 5  # critic updates per G update

    def validate(self) -> None:
        super().validate()
        if self.n_critic < 1:
            raise ConfigError(f"model.n_critic must be at least 1, got {self.n_critic}")


@dataclass
class WGANConfig(CriticConfig):
    name: str = "wgan"
    lr_g: float = 5e-5  # the WGAN paper's RMSProp defaults (beta1/beta2 are not used)
    lr_d: float = 5e-5
    clip: float = 0.01

    def validate(self) -> None:
        super().validate()
        if self.clip <= 0:
            raise ConfigError(f"model.clip must be positive, got {self.clip}")


@dataclass
class WGANGPConfig(CriticConfig):
    name: str = "wgan-gp"
    lr_g: float = 1e-4  # Gulrajani et al.: Adam 1e-4, betas (0.5, 0.9), lambda 10, 5 critic steps
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    gp_lambda: float = 10.0

    def validate(self) -> None:
        super().validate()
        if self.gp_lambda < 0:
            raise ConfigError(f"model.gp_lambda must be 0 or more, got {self.gp_lambda}")


class _Critic(VectorGAN):
    """The WGAN game: n_critic critic updates on fresh real batches, then one G update."""

    @property
    def batches_per_step(self) -> int:
        return self.cfg.n_critic

    def d_loss(self, x_real, x_fake, y=None):
        d_real, d_fake = self.discriminate_pair(x_real, x_fake, y)
        # the critic's estimate of W(P_r, P_g), logged as the lecture's curve to watch
        wdist = (d_real.mean() - d_fake.mean()).detach()
        return d_loss_wasserstein(d_real, d_fake), {"wdist": wdist}

    def g_loss(self, d_fake):
        return g_loss_wasserstein(d_fake)


@register_model("wgan", config=WGANConfig)
class WGAN(_Critic):
    """WGAN (Arjovsky et al. 2017): critic with weight clipping, RMSProp, n_critic steps."""

    def configure_optimizers(self):
        return {
            "G": torch.optim.RMSprop(self.nets["G"].parameters(), lr=self.cfg.lr_g),
            "D": torch.optim.RMSprop(self.nets["D"].parameters(), lr=self.cfg.lr_d),
        }

    @torch.no_grad()
    def after_d_step(self) -> None:
        # clipping keeps the critic (roughly) K-Lipschitz, as the Kantorovich-Rubinstein dual needs
        for p in self.nets["D"].parameters():
            p.clamp_(-self.cfg.clip, self.cfg.clip)


@register_model("wgan-gp", config=WGANGPConfig)
class WGANGP(_Critic):
    """WGAN-GP (Gulrajani et al. 2017): a two-sided gradient penalty instead of clipping, Adam."""

    def d_loss(self, x_real, x_fake, y=None):
        loss_d, logs = super().d_loss(x_real, x_fake, y)
        gp = gradient_penalty(lambda x: self.discriminate(x, y), x_real, x_fake)
        return loss_d + self.cfg.gp_lambda * gp, {**logs, "loss/gp": gp.detach()}
