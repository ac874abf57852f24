"""ProGAN: "Progressive Growing of GANs for Improved Quality, Stability, and Variation".

Karras, Aila, Laine and Lehtinen, ICLR 2018. Training starts at 4x4 and doubles the resolution
by adding a block to G and to D; each new block fades in, alpha rising from 0 to 1 over
`fade_images` real images, so the nets never see a sudden change. G uses pixel norm, every layer
an equalised learning rate, D a minibatch-stddev feature; the loss is WGAN-GP with the paper's
drift term, and an EMA copy of G samples.

Where training stands (resolution and alpha) is a function of one number, the real images shown
so far, kept as a buffer of G: it is in every checkpoint (so a resume in mid-fade continues
exactly) and in G_ema (so a sample always shows the resolution training has reached, upscaled to
the target for display and metrics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.batch import Batch, split_batch
from gankit.errors import ConfigError, DataError
from gankit.losses import Objective
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import ModelSpec, Optim
from gankit.nn.augment import Augment
from gankit.nn.conv import image_size
from gankit.nn.progressive import EqualizedConv2d, EqualizedLinear, MinibatchStd, PixelNorm
from gankit.options import Named, option
from gankit.registry import register_model

START = 4  # the first resolution, as in the paper
EMA_DECAY = 0.999  # the paper's G_ema; train.ema overrides it when set


@dataclass
class ProGANConfig(Augment, Objective, Optim, Named):
    """Progressive GAN; the target resolution is the data's (data.img_size, a power of two).

    The schedule counts real images shown to D: 4x4 trains for `stable_images`; each larger
    resolution fades in over `fade_images`, then trains for `stable_images`; the target goes on
    until the run ends. The paper used 800k and 800k; the defaults here, a tenth, fit the default
    train.steps (5,000 at batch 256) for targets up to 1024x1024. `batch_sizes` maps a resolution
    to its batch (e.g. {4: 64, 32: 16}); others use train.batch_size. The objective's defaults
    are the paper's: WGAN-GP (Gulrajani et al. 2017) with the drift term, Adam 0.001, (0, 0.99).
    """

    z_dim: int = option(128, min=1)
    g_channels: int = option(128, min=1)  # G's widest blocks (the paper: 512)
    d_channels: int = option(128, min=1)  # D's
    # width at resolution r: min(channels, channel_base / r); the paper 16384
    channel_base: int = option(4096, min=1)
    stable_images: int = option(80_000, min=1)
    fade_images: int = option(80_000, min=1)
    batch_sizes: dict[int, int] = option({})  # resolution -> global batch
    upscale: bool = False  # train on images smaller than the target, upscaled to it

    def validate(self) -> None:
        for res, n in self.batch_sizes.items():
            if not is_power_of_two(res) or res < START:
                raise ConfigError(
                    f"model.batch_sizes has resolution {res}, which the nets never train at; "
                    f"use powers of two from {START} (e.g. {{4: 64, 8: 64, 16: 32}})"
                )
            if n < 1:
                raise ConfigError(f"model.batch_sizes[{res}] must be at least 1, got {n}")


def is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def stage_width(channels: int, base: int, res: int) -> int:
    """Feature maps at resolution `res`: min(channels, base / res), at least 1; halving with each
    doubling past base / channels keeps the cost of the large blocks down (the paper: 512
    up to 32x32, 16 at 1024x1024)."""
    return max(1, min(channels, base // res))


@dataclass(frozen=True)
class Growth:
    """The schedule: where training stands after `shown` real images (level 0 = 4x4)."""

    levels: int  # doublings from 4x4 to the target
    stable: int  # images of each stable phase (4x4 and after each fade-in)
    fade: int  # images over which each new level fades in

    @property
    def target(self) -> int:
        return START << self.levels

    def fade_start(self, level: int) -> int:
        """Images shown when `level` (>= 1) begins to fade in."""
        return self.stable + (level - 1) * (self.fade + self.stable)

    def at(self, shown: int) -> tuple[int, float]:
        """(level, alpha) after `shown` images: alpha rises linearly from 0 to 1 over the fade-in
        of a level and stays 1 through its stable phase; the last level trains on at 1."""
        if self.levels == 0 or shown < self.stable:
            return 0, 1.0
        level, into = divmod(shown - self.stable, self.fade + self.stable)
        if level + 1 > self.levels:
            return self.levels, 1.0
        return level + 1, min(1.0, into / self.fade)

    def steps_to_grow(self, batch: Callable[[int], int]) -> int:
        """Train steps until the target has faded in, drawing `batch(level)` images a step at
        each level (the level of the images shown when the step starts)."""
        if self.levels == 0:
            return 0
        # each level runs until the next one starts to fade in; the target until it has faded in
        ends = [(level, self.fade_start(level + 1)) for level in range(self.levels)]
        ends.append((self.levels, self.fade_start(self.levels) + self.fade))
        shown = steps = 0
        for level, end in ends:
            if end > shown:
                k = -(-(end - shown) // batch(level))
                steps, shown = steps + k, shown + k * batch(level)
        return steps


def upsample(x: Tensor, factor: int = 2) -> Tensor:
    """Nearest-neighbour upscaling [N, C, H, W] -> [N, C, H * f, W * f] (the paper's)."""
    return x if factor == 1 else F.interpolate(x, scale_factor=factor, mode="nearest")


def lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2)


class ProGANGenerator(nn.Module):
    """z [N, z_dim] -> images: a 4x4 block, then one block per doubling (nearest upscale, two
    3x3 convs, each followed by leaky ReLU and pixel norm) and a 1x1 toRGB per resolution;
    linear output, as in the paper."""

    def __init__(self, z_dim: int, img_channels: int, widths: list[int], growth: Growth):
        super().__init__()
        self.growth = growth
        w = widths  # per level
        self.start = nn.Sequential(
            PixelNorm(),  # z onto the sphere of radius sqrt(z_dim)
            # a dense layer to 4x4 = the paper's 4x4 conv on z padded by 3, whose fan-in is
            # 16 z_dim: hence the gain sqrt(2) / 4 at fan-in z_dim
            EqualizedLinear(z_dim, w[0] * START * START, gain=math.sqrt(2) / 4),
            nn.Unflatten(1, (w[0], START, START)),  # [N, w0, 4, 4]
            lrelu(),
            PixelNorm(),
            EqualizedConv2d(w[0], w[0], 3, padding=1),
            lrelu(),
            PixelNorm(),
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                EqualizedConv2d(w[level - 1], w[level], 3, padding=1),
                lrelu(),
                PixelNorm(),
                EqualizedConv2d(w[level], w[level], 3, padding=1),
                lrelu(),
                PixelNorm(),
            )
            for level in range(1, growth.levels + 1)
        )
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, img_channels, 1, gain=1.0) for c in w)
        # real images shown to D so far: the whole training state of the schedule
        self.register_buffer("images_seen", torch.zeros((), dtype=torch.int64))

    def synthesize(self, z: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        """Images [N, C, 4 * 2^level, 4 * 2^level]; while `level` fades in, its toRGB output is
        blended by alpha with the previous level's, upscaled (alpha 0: the old output exactly)."""
        h = self.start(z)  # [N, w0, 4, 4]
        if level == 0:
            return self.to_rgb[0](h)
        for block in self.blocks[: level - 1]:
            h = block(h)
        new = self.to_rgb[level](self.blocks[level - 1](h))
        if alpha >= 1.0:
            return new
        return torch.lerp(upsample(self.to_rgb[level - 1](h)), new, alpha)

    def forward(self, z: Tensor) -> Tensor:
        """Images [N, C, T, T] at the target T: at the resolution and alpha training has reached,
        upscaled (nearest) so that samples of every phase have one shape."""
        level, alpha = self.growth.at(int(self.images_seen))
        return upsample(self.synthesize(z, level, alpha), 1 << (self.growth.levels - level))


class ProGANDiscriminator(nn.Module):
    """Images at 4 * 2^level -> scores [N]: a 1x1 fromRGB per resolution, one block per
    doubling (two 3x3 convs with leaky ReLU, 2x2 average pooling) and a 4x4 head with the
    minibatch-stddev feature, a 3x3 and a 4x4 conv and a linear score."""

    def __init__(self, img_channels: int, widths: list[int]):
        super().__init__()
        w, levels = widths, len(widths) - 1
        self.from_rgb = nn.ModuleList(
            nn.Sequential(EqualizedConv2d(img_channels, c, 1), lrelu()) for c in w
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                EqualizedConv2d(w[level], w[level], 3, padding=1),
                lrelu(),
                EqualizedConv2d(w[level], w[level - 1], 3, padding=1),
                lrelu(),
                nn.AvgPool2d(2),
            )
            for level in range(1, levels + 1)
        )
        self.head = nn.Sequential(
            MinibatchStd(4),  # [N, w0 + 1, 4, 4]
            EqualizedConv2d(w[0] + 1, w[0], 3, padding=1),
            lrelu(),
            EqualizedConv2d(w[0], w[0], START),  # [N, w0, 1, 1]
            lrelu(),
            nn.Flatten(),
            EqualizedLinear(w[0], 1, gain=1.0),
        )

    def forward(self, x: Tensor, level: int, alpha: float = 1.0) -> Tensor:
        """x [N, C, 4 * 2^level, ...]; while `level` fades in, its block's output is blended by
        alpha with the previous level's fromRGB of x average-pooled (alpha 0: the old D)."""
        h = self.from_rgb[level](x)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1.0:
                h = torch.lerp(self.from_rgb[level - 1](F.avg_pool2d(x, 2)), h, alpha)
            for block in reversed(self.blocks[: level - 1]):
                h = block(h)
        return self.head(h).flatten()


def real_at(x: Tensor, level: int, alpha: float = 1.0) -> Tensor:
    """Real images [N, C, T, T] as D sees them at `level`: average-pooled to its resolution and,
    while it fades in, blended with the previous resolution (nearest-upscaled) by alpha, just as
    G's output is, so that real and fake change resolution in the same way."""
    res = START << level
    if x.shape[-1] > res:
        x = F.avg_pool2d(x, x.shape[-1] // res)
    if alpha < 1.0:
        x = torch.lerp(upsample(F.avg_pool2d(x, 2)), x, alpha)
    return x


@register_model(
    "progan",
    config=ProGANConfig,
    # digits: the one built-in set whose native size is a power of two (8x8); tiny: 4x4 for 2
    # steps at batch 32, then 8x8 fading in over the next 2
    spec=ModelSpec(
        data_kind="image",
        default_data="digits",
        compute_bound=True,
        tiny=(
            "model.z_dim=8",
            "model.g_channels=8",
            "model.d_channels=8",
            "model.stable_images=64",
            "model.fade_images=64",
        ),
    ),  # fmt: skip
    defaults=dict(
        loss="wasserstein", gp_lambda=10.0, drift=0.001, lr_g=1e-3, lr_d=1e-3, beta1=0.0, beta2=0.99
    ),  # fmt: skip
)
class ProGAN(AdversarialGAN):
    """Progressive GAN (Karras et al. 2018): grows G and D from 4x4, WGAN-GP + drift, EMA of G."""

    def __init__(self, cfg: ProGANConfig, data_shape, num_classes=0, data_info=None, engine=None):
        channels, size = image_size(cfg.name, data_shape)
        if not is_power_of_two(size) or size < START:
            raise ConfigError(
                f"progan grows from {START}x{START} by doubling, so its target resolution must "
                f"be a power of two (8, 16, ..., 256, ...), but the data is {size}x{size}; set "
                "data.img_size (MNIST and Fashion-MNIST: data.img_size=32 data.fit=pad)"
            )
        self.growth = Growth(int(math.log2(size // START)), cfg.stable_images, cfg.fade_images)
        # entries above the target are not used: one schedule (a preset's) serves smaller runs
        check_native_size(data_info or {}, size, cfg.upscale)
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        self.enable_ema(EMA_DECAY)  # build_model sets train.ema's decay instead when given
        self._level, self._alpha = 0, 1.0  # of the step in hand: generate/judge use them

    def build_nets(self) -> tuple[nn.Module, nn.Module]:
        cfg, channels = self.cfg, self.data_shape[0]
        res = [START << level for level in range(self.growth.levels + 1)]
        g_widths = [stage_width(cfg.g_channels, cfg.channel_base, r) for r in res]
        d_widths = [stage_width(cfg.d_channels, cfg.channel_base, r) for r in res]
        G = ProGANGenerator(cfg.z_dim, channels, g_widths, self.growth)
        return G, ProGANDiscriminator(channels, d_widths)

    # ------------------------------------------------------------ the schedule
    @property
    def images_seen(self) -> int:
        # read on the host every step: the batch size and the nets' shapes depend on it (one
        # tiny device sync per step on a GPU, negligible beside a gradient-penalty step)
        return int(self.nets["G"].images_seen)

    def level_batch(self, level: int, default: int) -> int:
        return self.cfg.batch_sizes.get(START << level, default)

    def batch_size(self, default: int) -> int:
        return self.level_batch(self.growth.at(self.images_seen)[0], default)

    @property
    def phase(self) -> str:
        res = START << self.growth.at(self.images_seen)[0]
        return f"{res}x{res}"

    def check_run(self, train) -> None:
        """The schedule must fade the target in within train.steps, and every batch size
        split evenly over the processes."""
        super().check_run(train)
        world = self.engine.ranks.world
        for level in range(self.growth.levels + 1):
            n = self.level_batch(level, train.batch_size)
            if n % world:
                res = START << level
                raise ConfigError(
                    f"the batch at {res}x{res} ({n}, model.batch_sizes or train.batch_size) must "
                    f"split evenly over {world} processes; choose a multiple of {world}"
                )
        need = self.growth.steps_to_grow(lambda level: self.level_batch(level, train.batch_size))
        if need > train.steps:
            t = self.growth.target
            raise ConfigError(
                f"the growth schedule needs {need} steps to fade in {t}x{t} (model.stable_images="
                f"{self.cfg.stable_images}, model.fade_images={self.cfg.fade_images} at these "
                f"batch sizes), but train.steps is {train.steps}; raise train.steps or shorten "
                "the phases"
            )

    # ------------------------------------------------------------ the game
    def generate(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        return self.nets["G"].synthesize(z, self._level, self._alpha)

    def judge(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return self.nets["D"](x, self._level, self._alpha)

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        x, _ = split_batch(batch)  # unconditional: class labels of a folder are not used
        self._level, self._alpha = self.growth.at(self.images_seen)
        logs = super().train_step(real_at(x, self._level, self._alpha), step)
        # images of the global batch, so that every process agrees on the schedule
        self.nets["G"].images_seen += x.shape[0] * self.engine.ranks.world
        return {**logs, "alpha": torch.tensor(self._alpha, device=x.device)}


def check_native_size(info: dict, size: int, upscale: bool) -> None:
    """A DataError when the data's images were smaller than the target and `upscale` is off."""
    n = info.get("n_upscaled", 0)
    if n and not upscale:
        raise DataError(
            f"{n} of the {info.get('n_train', n)} training images are smaller than the target "
            f"resolution {size}x{size} (smallest side {info.get('upscaled_from', '?')} px); use "
            "larger images or a smaller data.img_size, or set model.upscale=true to train on "
            "them upscaled"
        )
