"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two ResNet generators G_AB, G_BA and two PatchGAN critics, trained with
least-squares GAN losses, a cycle loss that asks G_BA(G_AB(a)) = a (and back), an identity loss,
and D fed from a pool of 50 past fakes."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError, GankitError
from gankit.models.base import ModelSpec, Optim, adam, eval_mode, set_requires_grad
from gankit.models.translator import Translator, as_channels, check_patch_size
from gankit.nn.translation import NORMS, PatchDiscriminator, ResnetGenerator
from gankit.options import Named, option
from gankit.registry import register_model

DIRECTIONS = {"AtoB": "G_AB", "BtoA": "G_BA"}


class ImagePool(nn.Module):
    """The last `size` fakes (Shrivastava et al. 2017): D sees, for each new fake, either it or
    (half the time, once full) an older one that it replaces, so D does not chase G's latest
    move. Kept as buffers, so checkpoints restore it."""

    def __init__(self, size: int, shape: tuple[int, ...]):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.zeros(size, *shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def forward(self, fakes: Tensor) -> Tensor:
        if self.size == 0:
            return fakes
        out = []
        for x in fakes:
            n = int(self.count)
            if n < self.size:
                self.images[n] = x
                self.count += 1
                out.append(x)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = x
            else:
                out.append(x)
        return torch.stack(out)


@dataclass
class CycleGANConfig(Optim, Named):
    g_channels: int = option(64, min=1)
    d_channels: int = option(64, min=1)
    g_blocks: int = option(9, min=0)  # residual blocks: 9 for 256x256, 6 for 128x128 and below
    d_layers: int = option(3, min=1)  # PatchGAN depth (3: 70x70 patches)
    norm: str = option("instance", choices=NORMS)
    lambda_cycle: float = option(10.0, min=0.0)
    lambda_identity: float = option(0.5, min=0.0)  # x lambda_cycle; A and B as many channels
    pool_size: int = option(50, min=0)
    lr_decay_start: float = option(0.5, min=0.0, max=1.0)  # constant for half, then down to 0


TINY = ("model.g_channels=4", "model.d_channels=4", "model.d_layers=1", "model.g_blocks=1",
        "model.pool_size=4")  # fmt: skip


@register_model(
    "cyclegan",
    config=CycleGANConfig,
    # batch 1 as in the paper: a batch of 256 images of 256x256 would need tens of GB
    spec=ModelSpec(
        data_kind="unpaired", default_data="mnist-usps", compute_bound=True, tiny=TINY, batch_size=1
    ),
)
class CycleGAN(Translator):
    """CycleGAN (Zhu et al. 2017): A <-> B without pairs, held together by cycle consistency.

    `sample(z=[a, b] stacked along channels)` gives panels a | G_AB(a) | G_BA(G_AB(a)) and
    b | G_BA(b) | G_AB(G_BA(b)); `translate(x, "AtoB" | "BtoA")` one direction."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        info = self.data_info
        if info.get("kind") != "unpaired":
            raise ConfigError(
                f"model {cfg.name!r} translates between two image domains: use --data "
                "unpaired-folder (trainA/, trainB/) or mnist-usps"
            )
        c_a, c_b = self.channels = (int(info["channels_a"]), int(info["channels_b"]))
        h, w = self.data_shape[1:]
        if h % 4 or w % 4:
            raise ConfigError(
                f"CycleGAN's generators need sides that are multiples of 4, got {h}x{w}"
            )
        if cfg.lambda_identity and c_a != c_b:
            raise ConfigError(
                "model.lambda_identity needs A and B with as many channels; set it to 0"
            )
        args = (cfg.g_blocks, cfg.g_channels, cfg.norm)
        self.nets["G_AB"] = ResnetGenerator(c_a, c_b, *args)
        self.nets["G_BA"] = ResnetGenerator(c_b, c_a, *args)
        check_patch_size(min(self.data_shape[1:]), cfg.d_layers)
        self.nets["D_A"] = PatchDiscriminator(c_a, cfg.d_channels, cfg.d_layers, cfg.norm)
        self.nets["D_B"] = PatchDiscriminator(c_b, cfg.d_channels, cfg.d_layers, cfg.norm)
        self.nets["pool_A"] = ImagePool(cfg.pool_size, (c_a, h, w))
        self.nets["pool_B"] = ImagePool(cfg.pool_size, (c_b, h, w))

    def configure_optimizers(self):
        betas, n = (self.cfg.beta1, self.cfg.beta2), self.nets
        gens = itertools.chain(n["G_AB"].parameters(), n["G_BA"].parameters())
        critics = itertools.chain(n["D_A"].parameters(), n["D_B"].parameters())
        return {"G": adam(gens, self.cfg.lr_g, betas), "D": adam(critics, self.cfg.lr_d, betas)}

    def enable_ema(self, decay: float) -> None:
        raise ConfigError("CycleGAN keeps no EMA of its generators; drop train.ema")

    def train_step(self, batch, step: int) -> dict[str, Tensor]:
        a, b = batch  # [B, C_a, H, W], [B, C_b, H, W]: unrelated images of each domain
        cfg, n = self.cfg, self.nets
        critics = (n["D_A"], n["D_B"])
        for D in critics:
            set_requires_grad(D, False)
        fake_b, fake_a = n["G_AB"](a), n["G_BA"](b)
        gan = _ls(n["D_B"](fake_b), 1.0) + _ls(n["D_A"](fake_a), 1.0)
        cycle = F.l1_loss(n["G_BA"](fake_b), a) + F.l1_loss(n["G_AB"](fake_a), b)
        loss_g = gan + cfg.lambda_cycle * cycle
        logs = {"loss/cycle": cycle.detach()}
        if cfg.lambda_identity:  # G_AB(b) = b: keeps colours when nothing needs to change
            identity = F.l1_loss(n["G_AB"](b), b) + F.l1_loss(n["G_BA"](a), a)
            loss_g = loss_g + cfg.lambda_identity * cfg.lambda_cycle * identity
            logs["loss/identity"] = identity.detach()
        self.update("G", loss_g)
        for D in critics:
            set_requires_grad(D, True)
        loss_d = 0.0
        for D, real, fake, pool in (
            (n["D_A"], a, fake_a, "pool_A"),
            (n["D_B"], b, fake_b, "pool_B"),
        ):
            old = n[pool](fake.detach())
            loss_d = loss_d + 0.5 * (_ls(D(real), 1.0) + _ls(D(old), 0.0))
        self.update("D", loss_d)
        return {"loss/G": loss_g.detach(), "loss/D": loss_d.detach(), **logs}

    # ------------------------------------------------------------ translating
    def input_channels(self, direction: str = "AtoB") -> int:
        return self.channels[self._net(direction) == "G_BA"]

    def size_multiple(self, direction: str = "AtoB") -> int:
        return 4

    def _net(self, direction: str) -> str:
        if direction not in DIRECTIONS:
            raise GankitError(f"--direction must be AtoB or BtoA, got {direction!r}")
        return DIRECTIONS[direction]

    @torch.no_grad()
    def translate(self, x: Tensor, direction: str = "AtoB") -> Tensor:
        """G_AB(x) or G_BA(x), [N, C, H, W], in eval mode."""
        with eval_mode(self.nets[self._net(direction)]) as G:
            return G(x.to(self.device)).float()

    @torch.no_grad()
    def sample(self, n=None, z=None, seed=None, labels=None) -> Tensor:
        """Rows a | A->B | A->B->A, then b | B->A | B->A->B: [2n, C, H, 3W]."""
        a, b = self.split_inputs(z, n)
        ab = self.translate(a, "AtoB")
        ba = self.translate(b, "BtoA")
        c = max(self.channels)
        rows = [
            (a, ab, self.translate(ab, "BtoA")),
            (b, ba, self.translate(ba, "AtoB")),
        ]
        return torch.cat(
            [torch.cat([as_channels(p.to(ab.device), c) for p in r], -1) for r in rows]
        )


def _ls(d: Tensor, target: float) -> Tensor:
    """Least-squares GAN loss (Mao et al. 2017): mean (D(x) - target)^2."""
    return ((d - target) ** 2).mean()
