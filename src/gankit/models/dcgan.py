"""DCGAN (Radford et al. 2016) and its image variants: conv G and D with the lecture's objectives
as options. WGAN = loss wasserstein, clip 0.01, optimizer rmsprop, d_steps 5; WGAN-GP = loss
wasserstein, gp_lambda 10, d_norm layer, d_steps 5; hinge + SN = loss hinge, spectral_norm true,
d_norm none (see the presets). cDCGAN (conditional: a label embedding joined to z in G and a
projection D, Miyato and Koyama 2018) is the same game with classes.
"""

from __future__ import annotations

from dataclasses import dataclass

from gankit.errors import ConfigError
from gankit.losses import Objective
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import ModelSpec, Optim
from gankit.nn.augment import Augment
from gankit.nn.conv import ConvNets
from gankit.options import Named
from gankit.registry import register_model


@dataclass
class ConvGameConfig(Objective, Optim, ConvNets, Named):
    """DCGAN's nets, an objective and Adam (or RMSProp); the defaults are DCGAN's."""

    def validate(self) -> None:
        if self.gp_lambda and self.d_norm == "batch":
            # batch norm mixes samples, so the per-sample gradient the penalty needs is wrong
            raise ConfigError(
                "model.gp_lambda needs a critic without batch norm: set model.d_norm=layer or none"
            )


@dataclass
class ConvGANConfig(Augment, ConvGameConfig):
    """The image models' ConvGameConfig: with DiffAugment (model.augment) for small data."""


TINY = ("model.z_dim=8", "model.g_channels=8", "model.d_channels=8")
IMAGES = ModelSpec(data_kind="image", default_data="mnist5k", compute_bound=True, tiny=TINY)

register_model(
    "dcgan",
    config=ConvGANConfig,
    spec=IMAGES,
    help="DCGAN (Radford et al. 2016): conv G and D; loss, norm and penalties by config.",
)(AdversarialGAN)

register_model(
    "cdcgan",
    config=ConvGANConfig,
    spec=ModelSpec(
        data_kind="image",
        default_data="mnist5k",
        conditional=True,
        compute_bound=True,
        tiny=TINY,
    ),  # fmt: skip
    # with spectral norm, the usual pairing for a projection D (Miyato 2018)
    defaults=dict(loss="hinge", spectral_norm=True, d_norm="none"),
    help="Conditional DCGAN: label embedding joined to z in G, projection discriminator.",
)(AdversarialGAN)
