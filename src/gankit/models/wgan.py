"""Wasserstein GANs: weight clipping (Arjovsky 2017) and gradient penalty (Gulrajani 2017)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from gankit.errors import ConfigError
from gankit.losses import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty
from gankit.models.base import VectorGANConfig
from gankit.models.gan import VectorGAN
from gankit.registry import register_model


@dataclass
class WGANConfig(VectorGANConfig):
    name: str = "wgan"
    lr_g: float = 5e-5  # the WGAN paper's RMSProp defaults
    lr_d: float = 5e-5
    clip: float = 0.01
    n_critic: int = 5

    def validate(self) -> None:
        super().validate()
        if self.n_critic < 1:
            raise ConfigError(f"model.n_critic must be at least 1, got {self.n_critic}")
        if self.clip <= 0:
            raise ConfigError(f"model.clip must be positive, got {self.clip}")


@dataclass
class WGANGPConfig(VectorGANConfig):
    name: str = "wgan-gp"
    lr_g: float = 1e-4  # Gulrajani et al.: Adam 1e-4, betas (0.5, 0.9), lambda 10, 5 critic steps
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    gp_lambda: float = 10.0
    n_critic: int = 5

    def validate(self) -> None:
        super().validate()
        if self.n_critic < 1:
            raise ConfigError(f"model.n_critic must be at least 1, got {self.n_critic}")
        if self.gp_lambda < 0:
            raise ConfigError(f"model.gp_lambda must be 0 or more, got {self.gp_lambda}")


class _Critic(VectorGAN):
    """The WGAN game: n_critic critic updates on fresh real batches, then one G update."""

    @property
    def batches_per_step(self) -> int:
        return self.cfg.n_critic

    def critic_loss(
        self, x_real: Tensor, x_fake: Tensor, d_real: Tensor, d_fake: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The critic's loss to minimise and its extra logs."""
        raise NotImplementedError

    def after_critic_step(self) -> None:
        pass

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        G, D, opt_d = self.nets["G"], self.nets["D"], self.optimizers["D"]
        for x_real in self.chunks(batch):
            with torch.no_grad():
                x_fake = G(self.noise(x_real.shape[0]))
            d_real, d_fake = D(x_real), D(x_fake)
            loss_d, logs = self.critic_loss(x_real, x_fake, d_real, d_fake)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            self.after_critic_step()
        loss_g = self.generator_step(g_loss_wasserstein, x_real.shape[0])
        # the critic's estimate of W(P_r, P_g), from the last critic step
        wdist = (d_real.mean() - d_fake.mean()).detach()
        return {"loss/D": loss_d.detach(), "loss/G": loss_g, "wdist": wdist, **logs}


@register_model("wgan", config=WGANConfig)
class WGAN(_Critic):
    """WGAN (Arjovsky et al. 2017): critic with weight clipping, RMSProp, n_critic steps."""

    def configure_optimizers(self):
        return {
            "G": torch.optim.RMSprop(self.nets["G"].parameters(), lr=self.cfg.lr_g),
            "D": torch.optim.RMSprop(self.nets["D"].parameters(), lr=self.cfg.lr_d),
        }

    def critic_loss(self, x_real, x_fake, d_real, d_fake):
        return d_loss_wasserstein(d_real, d_fake), {}

    @torch.no_grad()
    def after_critic_step(self) -> None:
        # clipping keeps the critic (roughly) K-Lipschitz, as the Kantorovich-Rubinstein dual needs
        for p in self.nets["D"].parameters():
            p.clamp_(-self.cfg.clip, self.cfg.clip)


@register_model("wgan-gp", config=WGANGPConfig)
class WGANGP(_Critic):
    """WGAN-GP (Gulrajani et al. 2017): a two-sided gradient penalty instead of clipping, Adam."""

    def critic_loss(self, x_real, x_fake, d_real, d_fake):
        gp = gradient_penalty(self.nets["D"], x_real, x_fake)
        return d_loss_wasserstein(d_real, d_fake) + self.cfg.gp_lambda * gp, {
            "loss/gp": gp.detach()
        }
