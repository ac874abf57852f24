"""pix2pix (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
Networks"): a U-Net G translates A into B; a PatchGAN D judges (A, B) pairs patch by patch; G's
loss is the cGAN loss plus lambda * L1 to the target."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from gankit.errors import ConfigError, GankitError
from gankit.losses import EQUILIBRIUM, d_loss_bce, d_means, g_loss_nonsaturating
from gankit.models.base import ModelSpec, Optim, adam, eval_mode, set_requires_grad
from gankit.models.translator import Translator, as_channels, check_patch_size
from gankit.nn.translation import NORMS, PatchDiscriminator, UNetGenerator
from gankit.options import Named, option
from gankit.registry import register_model


@dataclass
class Pix2PixConfig(Optim, Named):
    g_channels: int = option(64, min=1)  # U-Net width at full resolution (64, 128, 256, 512)
    d_channels: int = option(64, min=1)
    d_layers: int = option(3, min=1)  # PatchGAN depth: 3 gives the paper's 70x70 patches
    norm: str = option("batch", choices=NORMS)
    dropout: float = option(0.5, min=0.0, below=1.0)  # in the U-Net's 3 levels by the bottleneck
    lambda_l1: float = option(100.0, min=0.0)  # weight of L1(G(a), b); 0 = cGAN alone
    gan_weight: float = option(1.0, min=0.0)  # weight of the cGAN loss; 0 = L1 alone (ablation)

    def validate(self) -> None:
        if self.lambda_l1 + self.gan_weight == 0:
            raise ConfigError("model.lambda_l1 and model.gan_weight must not both be 0")


TINY = ("model.g_channels=4", "model.d_channels=4", "model.d_layers=1")


@register_model(
    "pix2pix",
    config=Pix2PixConfig,
    # batch 1 as in the paper: a batch of 256 images of 256x256 would need tens of GB
    spec=ModelSpec(
        data_kind="paired", default_data="edges2digits", compute_bound=True, tiny=TINY, batch_size=1
    ),
)
class Pix2Pix(Translator):
    """pix2pix: U-Net G(a), PatchGAN D(a, b); G minimises cGAN + lambda * L1 (Isola et al. 2017).

    Its "noise" is the input: `sample(z=pairs)` with pairs [n, C_a + C_b, H, W] gives panels
    input | output | target side by side; `translate(a)` gives G(a)."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        info = self.data_info
        if info.get("kind") != "paired":
            raise ConfigError(
                f"model {cfg.name!r} translates paired images: use --data edges2digits, "
                "edges2fashion, gray2color or paired-folder"
            )
        self.channels = (int(info["channels_a"]), int(info["channels_b"]))
        size = self.data_shape[-1]
        depth = int(math.log2(size)) if size >= 4 else 0
        if 2**depth != size or self.data_shape[-2] != size:
            raise ConfigError(
                f"pix2pix's U-Net needs square images with a power-of-two side, got "
                f"{list(self.data_shape[1:])}; set data.img_size (or data.crop) to 32, 64, 128 ..."
            )
        c_a, c_b = self.channels
        self.nets["G"] = UNetGenerator(c_a, c_b, depth, cfg.g_channels, cfg.norm, cfg.dropout)
        check_patch_size(min(self.data_shape[1:]), cfg.d_layers)
        self.nets["D"] = PatchDiscriminator(c_a + c_b, cfg.d_channels, cfg.d_layers, cfg.norm)

    def configure_optimizers(self):
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {
            "G": adam(self.nets["G"].parameters(), self.cfg.lr_g, betas),
            "D": adam(self.nets["D"].parameters(), self.cfg.lr_d, betas),
        }

    @property
    def equilibrium(self) -> dict[str, float]:
        """D's halved BCE at D = 1/2; G's loss holds the L1 term too, so it has no such value."""
        return (
            {"loss/D": 0.5 * EQUILIBRIUM["nonsaturating"]["loss/D"]} if self.cfg.gan_weight else {}
        )

    def train_step(self, batch, step: int) -> dict[str, Tensor]:
        a, b = batch  # [B, C_a, H, W], [B, C_b, H, W]
        cfg, D = self.cfg, self.nets["D"]
        fake = self.nets["G"](a)
        logs = {}
        if cfg.gan_weight:
            # D judges pairs: is b (or G's output) a plausible translation of this a?
            d_real, d_fake = D(torch.cat([a, b], 1)), D(torch.cat([a, fake.detach()], 1))
            loss_d = 0.5 * d_loss_bce(d_real, d_fake)  # halved, as the paper slows D down
            self.update("D", loss_d)
            logs = {"loss/D": loss_d.detach(), **d_means(d_real, d_fake)}
        set_requires_grad(D, False)
        l1 = F.l1_loss(fake, b)
        loss_g = cfg.lambda_l1 * l1
        if cfg.gan_weight:
            loss_g = loss_g + cfg.gan_weight * g_loss_nonsaturating(D(torch.cat([a, fake], 1)))
        self.update("G", loss_g)
        set_requires_grad(D, True)
        return {"loss/G": loss_g.detach(), "loss/l1": l1.detach(), **logs}

    def input_channels(self, direction: str = "AtoB") -> int:
        self._check_direction(direction)
        return self.channels[0]

    def size_multiple(self, direction: str = "AtoB") -> int:
        """Input sides must be multiples of this (the U-Net halves them this often)."""
        return self.nets["G"].multiple

    def _check_direction(self, direction: str) -> None:
        if direction != "AtoB":
            raise GankitError(
                "pix2pix translates A to B only; drop --direction, or train a run on the pairs "
                "the other way with --set data.direction=BtoA"
            )

    @torch.no_grad()
    def translate(self, a: Tensor, direction: str = "AtoB") -> Tensor:
        """G(a) [N, C_b, H, W] in eval mode (dropout stays on: pix2pix's test-time noise)."""
        self._check_direction(direction)
        G = self.nets[self.sampler]
        # the dropout masks from a forked, fixed RNG: the same input gives the same output, and
        # training's random stream (hence exact resume) is left alone
        with (
            eval_mode(G),
            torch.random.fork_rng(devices=[] if self.device.type != "cuda" else [self.device]),
        ):
            for m in G.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.train()
            torch.manual_seed(0)
            return G(a.to(self.device)).float()

    @torch.no_grad()
    def sample(self, n=None, z=None, seed=None, labels=None) -> Tensor:
        """Panels input | output | target [n, C_b, H, 3W] of pairs z [n, C_a + C_b, H, W]."""
        a, b = self.split_inputs(z, n)
        out = self.translate(a)
        a_shown = as_channels(a, self.channels[1])[:, : self.channels[1]]
        return torch.cat([a_shown.to(out.device), out, b.to(out.device)], -1)
