"""LSGAN (Mao et al. 2017, "Least Squares Generative Adversarial Networks"): DCGAN's nets with
least-squares losses, D pulling real scores to 1 and fake ones to 0, G pulling its fakes to 1.

A new GAN of an existing kind in one file: no class of its own, the adversarial game with other
defaults (this file is the README's worked example of "Adding a model").
"""

from gankit.models.adversarial import AdversarialGAN
from gankit.models.dcgan import IMAGES, ConvGANConfig
from gankit.registry import register_model

register_model(
    "lsgan",
    config=ConvGANConfig,
    spec=IMAGES,  # what dcgan declares: image data, mnist5k by default, compute-bound
    defaults=dict(loss="ls"),
    help="LSGAN (Mao et al. 2017): DCGAN's nets, least-squares losses for D and G.",
)(AdversarialGAN)
