"""The adversarial game most gankit models play (Goodfellow et al. 2014), once: nets from a
family of `gankit.nn` and an `Objective` (loss, critic steps, clipping, penalties) as data.

A config is made of parts: a nets part that builds (G, D) (`MLPNets`, `ConvNets`, ...), the
`Objective`, `Optim` and `Named`, and on image models `Augment` (DiffAugment: every image D sees
goes through `augment`, see gankit.nn.augment). GAN, WGAN, WGAN-GP, cGAN, DCGAN, cDCGAN, hinge +
SN and MuseGAN are registrations of `AdversarialGAN` with other parts and defaults (see gan.py,
dcgan.py, musegan.py); Unrolled GAN and ProGAN subclass it for their own step and schedule.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from gankit.batch import Batch, split_batch
from gankit.errors import CheckpointError, ConfigError
from gankit.losses import Objective
from gankit.models.base import GANModel, adam, set_requires_grad
from gankit.nn.augment import diff_augment, policy_parts

# added to train.seed for the augmentation's generator: a stream apart from the global one,
# which train.seed itself seeds (the same seed would draw the same numbers in both)
AUGMENT_SEED = 0x9E3779B97F4A7C15


class AdversarialGAN(GANModel):
    """`d_steps` D updates on fresh real batches, then one G update, as the objective says."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        # a config without an Objective part plays the original game (BCE, one D step)
        self.objective: Objective = cfg if isinstance(cfg, Objective) else Objective()
        self.pack = getattr(cfg, "pack", 1)  # samples D judges at once (PacGAN)
        if self.num_classes and self.pack != 1:
            raise ConfigError("model.pack must be 1 for a conditional model")
        self.nets["G"], self.nets["D"] = self.build_nets()
        # DiffAugment (model.augment, image models only): its own generator, on the CPU so the
        # draws are the same on every device; seeded by `start`, kept in the checkpoint
        self.augment_policy = policy_parts(getattr(cfg, "augment", ""))
        if self.augment_policy and len(self.data_shape) != 3:
            raise ConfigError(
                f"model.augment transforms images [C, H, W]; this data is {list(self.data_shape)}"
            )
        self.augment_rng = torch.Generator()

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        return self.cfg.build_nets(self.data_shape, self.num_classes)

    @property
    def batches_per_step(self) -> int:
        return self.objective.d_steps

    def configure_optimizers(self):
        cfg = self.cfg

        def make(net: str, lr: float) -> torch.optim.Optimizer:
            params = self.nets[net].parameters()
            if self.objective.optimizer == "rmsprop":
                return torch.optim.RMSprop(params, lr=lr)
            return adam(params, lr, (cfg.beta1, cfg.beta2))

        return {"G": make("G", cfg.lr_g), "D": make("D", cfg.lr_d)}

    def start(self, train) -> None:
        super().start(train)
        self.augment_rng.manual_seed((train.seed + AUGMENT_SEED) % 2**64)

    def training_state(self) -> dict:
        state = super().training_state()
        if self.augment_policy:
            state["augment"] = self.augment_rng.get_state()
        return state

    def load_training_state(self, state: dict, path=None, weights_only: bool = False) -> None:
        super().load_training_state(state, path, weights_only)
        if self.augment_policy and not weights_only:
            if "augment" not in state:
                raise CheckpointError(
                    f"checkpoint {path} has no state of model.augment's draws: the run began "
                    "without augmentation; restore config.yaml's model.augment, or start a new run"
                )
            self.augment_rng.set_state(state["augment"])

    def check_run(self, train) -> None:
        if train.batch_size % self.pack:
            raise ConfigError(
                f"train.batch_size ({train.batch_size}) must be a multiple of model.pack "
                f"({self.pack})"
            )
        if train.compile and self.objective.differentiates_d_twice:
            raise ConfigError(
                f"model {self.cfg.name}'s gradient penalty differentiates D twice, which "
                "torch.compile does not support; drop train.compile (or the penalty)"
            )

    # ------------------------------------------------------------ the players
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        """G(z), or G(z, y) for a conditional model."""
        return self.nets["G"](z) if y is None else self.nets["G"](z, y)

    def judge(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D(x), or D(x, y) for a conditional model: one score per sample (per pack)."""
        return self.nets["D"](x) if y is None else self.nets["D"](x, y)

    @torch.no_grad()
    def verdict(self, x: Tensor) -> Tensor:
        """D's verdict on each sample of x [N, ...] -> [N], as the report draws it (no
        augmentation): the probability that it is real in a BCE game, the critic's score
        otherwise. With PacGAN's pack m, each sample is judged as a pack of m copies of itself."""
        scores = self.judge(x.repeat_interleave(self.pack, 0))
        return self.objective.verdict(scores.float().reshape(x.shape[0]))

    @property
    def equilibrium(self) -> dict[str, float]:
        return self.objective.equilibrium

    def augment(self, x: Tensor) -> Tensor:
        """x through fresh random transformations of model.augment (x itself when off); the
        same for real and fake, differentiable, so G's step learns through them."""
        ranks = self.engine.ranks
        return diff_augment(x, self.augment_policy, self.augment_rng, ranks.rank, ranks.world)

    def discriminate(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's scores of x as D sees images in the game: through `augment`, then `judge`.
        Every D pass of the game comes here (real, fake, penalties; D's step and G's), so an
        augmentation applies to all that D sees, as DiffAugment requires; labels pass as they
        are."""
        return self.judge(self.augment(x), y)

    def discriminate_pair(
        self, x_real: Tensor, x_fake: Tensor, y: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """(D(x_real), D(x_fake)): one pass over both batches when no layer of D looks across
        samples (the same numbers, fewer and larger kernels); two passes otherwise, so that
        batch norm or a minibatch-statistics layer never mixes real and fake."""
        if self.d_mixes_samples:
            return self.discriminate(x_real, y), self.discriminate(x_fake, y)
        y_both = None if y is None else torch.cat([y, y])
        d_both = self.discriminate(torch.cat([x_real, x_fake]), y_both)
        return d_both.split([d_both.shape[0] // 2] * 2)

    @functools.cached_property
    def d_mixes_samples(self) -> bool:
        return any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) or getattr(m, "mixes_samples", False)
            for m in self.nets["D"].modules()
        )

    # ------------------------------------------------------------ the game
    def d_loss(
        self, x_real: Tensor, x_fake: Tensor, y: Tensor | None = None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """D's loss to minimise on one real and one fake batch (of classes y), and extra logs."""
        x_real.requires_grad_(self.objective.r1_gamma > 0)  # R1 differentiates D w.r.t. x_real
        d_real, d_fake = self.discriminate_pair(x_real, x_fake, y)
        return self.objective.d_loss(
            d_real, d_fake, x_real, x_fake, lambda x: self.discriminate(x, y)
        )

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        x, y = split_batch(batch)
        if not self.num_classes:
            y = None  # labelled data trains an unconditional model too
        xs = x.chunk(self.batches_per_step)
        ys = y.chunk(len(xs)) if y is not None else [None] * len(xs)
        for x_real, y_real in zip(xs, ys, strict=True):  # fresh real data for each D update
            with torch.no_grad():
                # fakes of the real batch's classes, so labels follow the data's frequencies
                x_fake = self.generate(self.noise(x_real.shape[0]), y_real)
            loss_d, logs = self.d_loss(x_real, x_fake, y_real)
            self.update("D", loss_d)
            self.objective.after_d_step(self.nets["D"])
        loss_g = self.generator_step(x_real.shape[0], y_real)
        return {"loss/D": loss_d.detach(), "loss/G": loss_g, **logs}

    def generator_step(self, n: int, y: Tensor | None = None) -> Tensor:
        """One G update on n samples against the current D, frozen; returns the detached loss."""
        D = self.nets["D"]
        set_requires_grad(D, False)
        loss_g = self.objective.g_loss(self.discriminate(self.generate(self.noise(n), y), y))
        self.update("G", loss_g)
        set_requires_grad(D, True)
        return loss_g.detach()
