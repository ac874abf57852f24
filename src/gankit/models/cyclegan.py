"""CycleGAN (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks"): two ResNet generators G_AB, G_BA and two PatchGAN critics, trained with
least-squares GAN losses, a cycle loss that asks G_BA(G_AB(a)) = a (and back), an identity loss,
and D fed from a pool of 50 past fakes.

The cycle loss does not ask a translation to keep what the image shows: G_AB may hide a's
identity in faint detail that G_BA reads back (Chu et al. 2017, "CycleGAN, a Master of
Steganography"), and a 7 may come out as a 9. `model.lambda_semantic` > 0 adds CyCADA's semantic
consistency loss (Hoffman et al. 2018, "CyCADA: Cycle-Consistent Adversarial Domain
Adaptation", eq. 4): a classifier f_S, trained on the source domain's labels and then frozen,
should give the translated image the class it gives the source image,

    L_sem = CE(f_A(G_AB(a)), argmax f_A(a)) + CE(f_B(G_BA(b)), argmax f_B(b)).

CyCADA adapts one labelled source S to an unlabelled target T and so has only f_S, which judges
both G_ST(x_s) and G_TS(x_t). Here both domains have labels and both directions are wanted, so
each generator is judged by the classifier of the domain it translates FROM: f_A (trained on A's
labels) judges G_AB's images, f_B judges G_BA's. CyCADA's second term, f_S judging G_TS(x_t),
would steer a generator with a classifier of its own target domain: a near copy of the judge
one would score that direction with, which G could learn to please without drawing the digit;
it is left out. f_A and f_B are trained fresh at the start of training (model.semantic_steps
batches of 128 from the training split, seed train.seed + SEMANTIC_SEED; gankit's small digit CNN
with model.semantic_width channels) and kept in the checkpoint, so a resumed run goes on with
the same ones. The data must give each domain's class labels (mnist-usps does; unpaired-folder
does not)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError, GankitError
from gankit.models.base import ModelSpec, Optim, adam, eval_mode, set_requires_grad
from gankit.models.translator import Translator, as_channels, check_patch_size
from gankit.nn.digits import Classifier, fit_classifier, to_28
from gankit.nn.translation import NORMS, PatchDiscriminator, ResnetGenerator
from gankit.options import Named, option
from gankit.registry import register_model

DIRECTIONS = {"AtoB": "G_AB", "BtoA": "G_BA"}
SEMANTIC_SEED = 104_729  # added to train.seed: the classifiers' own draws, apart from the run's


class DomainClassifier(nn.Module):
    """A domain's frozen classifier for the semantic loss: always in eval mode (BatchNorm's
    running statistics, no dropout), trained once by `fit`; `trained` is a buffer, so a
    checkpoint says whether it has been."""

    def __init__(self, width: int):
        super().__init__()
        self.width = width
        self.net = Classifier(width=width).requires_grad_(False)
        self.register_buffer("trained", torch.zeros((), dtype=torch.bool))
        self.eval()

    def train(self, mode: bool = True) -> DomainClassifier:
        return super().train(False)

    def fit(self, x: Tensor, y: Tensor, steps: int, seed: int) -> None:
        fresh = fit_classifier(x, y, steps, seed, width=self.width)
        self.net.load_state_dict(fresh.state_dict())
        self.trained.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(to_28(x.float()))  # antialiased resizing has no bf16 kernel on the CPU


def semantic_loss(f: nn.Module, source: Tensor, translated: Tensor) -> Tensor:
    """CE(f(translated), argmax f(source)): the class f gives the source image is the label the
    translation must keep (CyCADA's pseudo-labels; f learnt the source domain's labels)."""
    with torch.no_grad():
        labels = f(source).argmax(1)
    return F.cross_entropy(f(translated).float(), labels)


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
    # CyCADA's semantic consistency (module docstring): 0 = plain CycleGAN; needs labelled data
    lambda_semantic: float = option(0.0, min=0.0)
    semantic_steps: int = option(500, min=1)  # batches of 128 that train each domain's classifier
    semantic_width: int = option(16, min=1)  # its first conv's channels (the judges' CNN: 32)


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
        if cfg.lambda_semantic:
            self._check_semantic(info)
            self.nets["f_A"] = DomainClassifier(cfg.semantic_width)
            self.nets["f_B"] = DomainClassifier(cfg.semantic_width)
        self.semantic_seed = SEMANTIC_SEED

    def _check_semantic(self, info: dict) -> None:
        if not all(info.get("num_classes", (0, 0))):
            raise ConfigError(
                "model.lambda_semantic needs class labels in both domains (mnist-usps has them, "
                f"data {info.get('source', 'unpaired-folder')!r} has none); set it to 0"
            )
        if self.channels != (1, 1):
            raise ConfigError(
                "model.lambda_semantic judges with gankit's digit classifier, which reads grey "
                f"images; A and B have {self.channels[0]} and {self.channels[1]} channels"
            )

    def start(self, train) -> None:
        super().start(train)
        self.semantic_seed = train.seed + SEMANTIC_SEED

    def prepare(self, data) -> None:
        """Trains f_A on A's training labels and f_B on B's, unless the run (resumed) has them."""
        for name in ("A", "B") if self.cfg.lambda_semantic else ():
            f = self.nets[f"f_{name}"]
            if not bool(f.trained):
                x, y = data.labelled(name)
                f.fit(x, y, self.cfg.semantic_steps, self.semantic_seed + (name == "B"))

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
        if cfg.lambda_semantic:
            semantic = semantic_loss(n["f_A"], a, fake_b) + semantic_loss(n["f_B"], b, fake_a)
            loss_g = loss_g + cfg.lambda_semantic * semantic
            logs["loss/semantic"] = semantic.detach()
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
