"""The lecture's GANs on MLPs, for any vector data (2-D points, flat images): the original GAN
(Goodfellow et al. 2014), WGAN (Arjovsky et al. 2017), WGAN-GP (Gulrajani et al. 2017) and the
conditional GAN (Mirza and Osindero 2014). One game (`AdversarialGAN`) and one config; each is
a registration with its paper's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from gankit.losses import Objective
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import ModelSpec, Optim
from gankit.nn.augment import Augment
from gankit.nn.mlp import ConditionalMLPNets, MLPNets
from gankit.options import Named, option
from gankit.registry import register_model


@dataclass
class MLPGANConfig(Objective, Optim, MLPNets, Named):
    """MLP nets, an objective and Adam (or RMSProp); the defaults are the original GAN's."""

    lr_g: float = option(1e-4, above=0.0)
    lr_d: float = option(1e-4, above=0.0)


@dataclass
class CGANConfig(Augment, ConditionalMLPNets, MLPGANConfig):
    """cGAN's: MLPGANConfig with conditional nets, on images, with DiffAugment (model.augment)
    for small data."""


TINY = ("model.z_dim=4", "model.g_hidden=16", "model.d_hidden=16", "model.g_layers=1",
        "model.d_layers=1")  # fmt: skip
POINTS = ModelSpec(data_kind="points", default_data="ring", tiny=TINY)

register_model(
    "gan",
    config=MLPGANConfig,
    spec=POINTS,
    help="GAN (Goodfellow et al. 2014): MLP G and D trained with binary cross-entropy.",
)(AdversarialGAN)

register_model(
    "wgan",
    config=MLPGANConfig,
    spec=POINTS,
    defaults=dict(
        loss="wasserstein", d_steps=5, clip=0.01, optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5
    ),  # fmt: skip
    help="WGAN (Arjovsky et al. 2017): critic with weight clipping, RMSProp, 5 critic steps.",
)(AdversarialGAN)

register_model(
    "wgan-gp",
    config=MLPGANConfig,
    spec=POINTS,
    # Gulrajani et al.: Adam 1e-4, betas (0.5, 0.9), lambda 10, 5 critic steps
    defaults=dict(loss="wasserstein", d_steps=5, gp_lambda=10.0, beta2=0.9),
    help="WGAN-GP (Gulrajani et al. 2017): a two-sided gradient penalty instead of clipping.",
)(AdversarialGAN)

register_model(
    "cgan",
    config=CGANConfig,
    spec=ModelSpec(data_kind="image", default_data="mnist5k", conditional=True, tiny=TINY),
    defaults=dict(
        z_dim=100,
        g_hidden=512,
        g_layers=2,
        d_hidden=512,
        d_layers=2,
        lr_g=2e-4,
        lr_d=2e-4,
        g_norm=True,
        d_dropout=0.3,
    ),  # fmt: skip
    help="Conditional GAN (Mirza and Osindero 2014): MLP G and D, the label joined to z and x.",
)(AdversarialGAN)
