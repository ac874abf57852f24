"""MuseGAN-style convolutional G and D on piano rolls (Dong et al. 2018, "MuseGAN: Multi-track
Sequential Generative Adversarial Networks for Symbolic Music Generation and Accompaniment"), and
an MLE RNN baseline over the same rolls (the frame-level RNN of Boulanger-Lewandowski et al. 2012).

Why MuseGAN and not C-RNN-GAN (Mogren 2016): MuseGAN generates a whole fixed-length polyphonic
segment at once with convolutions that factor time (bars -> beats -> steps) from pitch (octaves ->
semitones), so a step of G or D is a few small convolutions (a fraction of a second on a CPU), and
any number of simultaneous notes is just more ones in the roll. C-RNN-GAN emits a fixed number of
tones per step through recurrent nets trained adversarially, which is slower to train and harder
to fit to polyphony. Additions from the follow-up work: G's output passes straight-through binary
neurons and D also sees onsets/offsets (Dong & Yang 2018, BinaryMuseGAN); D has a minibatch-stddev
feature against mode collapse (Karras et al. 2018). The loss, critic steps and penalties are
DCGAN's options (MuseGAN's paper uses WGAN-GP); only the nets differ, so MuseGAN is the same
adversarial game as DCGAN with other nets.

On the JSB chorales this MuseGAN collapses to one segment for every z (benchmarks/results/
music.md); `choralegan` (choralegan.py) is the music GAN that does not, and says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.batch import Batch, split_batch
from gankit.errors import ConfigError
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import GANModel, ModelSpec
from gankit.models.dcgan import ConvGameConfig
from gankit.nn.conv import dcgan_init, norm_layer
from gankit.nn.progressive import MinibatchStd
from gankit.options import Named, option
from gankit.registry import register_model

TIME_BLOCK = 16  # G starts from one vector per 16 steps (a bar at 16th notes), refined x4 twice


def roll_layout(model: str, data_shape: tuple[int, ...]) -> tuple[int, int]:
    """(time blocks, octaves) of piano rolls [1, T, P]; a clear error for other data."""
    ok = len(data_shape) == 3 and data_shape[0] == 1
    if not ok or data_shape[1] % TIME_BLOCK or data_shape[2] % 12:
        raise ConfigError(
            f"model {model} needs piano rolls [1, T, P] with T a multiple of {TIME_BLOCK} and P "
            f"a multiple of 12, but the data gives samples of shape {list(data_shape)}; use a "
            "music data set (jsb-chorales, bach-music21, midi-folder) with data.n_pitches a "
            "multiple of 12"
        )
    return data_shape[1] // TIME_BLOCK, data_shape[2] // 12


def _up(c_in: int, c_out: int, kernel: tuple[int, int]) -> list[nn.Module]:
    """A transposed conv that multiplies time and pitch by `kernel` (stride = kernel), BN, ReLU."""
    return [
        nn.ConvTranspose2d(c_in, c_out, kernel, kernel, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class RollGenerator(nn.Module):
    """z [N, z_dim] -> piano roll [N, 1, T, P] in [-1, 1] (> 0 means a note sounds).

    As MuseGAN's bar generator: one vector per 16-step block, then beats (time x4), octaves
    (pitch x octaves), 16th steps (time x4) and semitones (pitch x12, kernel = stride = 12), so
    every layer has one musical meaning; (3, 1) convs let neighbouring beats and steps agree.
    """

    def __init__(self, z_dim: int, blocks: int, octaves: int, channels: int, binary: bool = False):
        super().__init__()
        c, self.binary = channels, binary
        self.fc = nn.Linear(z_dim, 4 * c * blocks)
        self.start = (4 * c, blocks)
        self.net = nn.Sequential(
            nn.BatchNorm2d(4 * c),
            nn.ReLU(inplace=True),
            *_up(4 * c, 2 * c, (4, 1)),  # [N, 2c, 4 * blocks, 1]: beats
            nn.Conv2d(2 * c, 2 * c, (3, 1), padding=(1, 0), bias=False),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(inplace=True),
            *_up(2 * c, 2 * c, (1, octaves)),  # [N, 2c, 4 * blocks, octaves]
            # 16th steps by repeating each beat, then a (3, 1) conv: a note is held unless G
            # chooses to change it (a stride-4 transposed conv breaks notes into blips)
            nn.Upsample(scale_factor=(4, 1), mode="nearest"),  # [N, 2c, T, octaves]
            nn.Conv2d(2 * c, c, (3, 1), padding=(1, 0), bias=False),
            nn.BatchNorm2d(c),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(c, 1, (1, 12), (1, 12)),  # [N, 1, T, P]: semitones
            nn.Tanh(),
        )
        dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor:
        c, blocks = self.start
        x = self.net(self.fc(z).view(-1, c, blocks, 1))
        if not self.binary:
            return x
        # deterministic binary neurons with the straight-through estimator (Dong & Yang 2018):
        # D sees rolls of -1 and 1 like the real ones, G gets tanh's gradient
        return x + (torch.where(x > 0, 1.0, -1.0) - x).detach()


class RollDiscriminator(nn.Module):
    """Piano rolls [N, 1, T, P] -> scores [N / pack]: G's layers in reverse, leaky ReLU, on the
    roll and its change over time."""

    def __init__(
        self, blocks: int, octaves: int, channels: int, norm: str, sn: bool = False, pack: int = 1
    ):
        super().__init__()
        c, self.pack = channels, pack

        def down(c_in: int, c_out: int, kernel, stride=None, padding=(0, 0)) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, kernel, stride or kernel, padding),
                norm_layer(norm, c_out),
                nn.LeakyReLU(0.2, inplace=True),
            ]

        self.net = nn.Sequential(
            nn.Conv2d(2 * pack, c, (1, 12), (1, 12)),  # [N, c, T, octaves]: per octave
            nn.LeakyReLU(0.2, inplace=True),
            *down(c, 2 * c, (4, 1)),  # [N, 2c, T / 4, octaves]: beats
            *down(2 * c, 2 * c, (1, octaves)),  # [N, 2c, T / 4, 1]: chords
            *down(2 * c, 4 * c, (3, 1), (1, 1), (1, 0)),  # progressions over 3 beats
            *down(4 * c, 4 * c, (4, 1)),  # [N, 4c, blocks, 1]
            MinibatchStd(),  # [N, 4c + 1, blocks, 1]
            nn.Flatten(),
            nn.Linear((4 * c + 1) * blocks, 1),
        )
        dcgan_init(self)
        if sn:
            for m in self.net:
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    spectral_norm(m)

    def forward(self, x: Tensor) -> Tensor:
        # the roll and its change over time (+ onsets, - offsets): broken notes stand out, as
        # with the onset/offset stream of Dong & Yang 2018 (BinaryMuseGAN)
        change = x - F.pad(x[:, :, :-1], (0, 0, 1, 0), value=-1.0)  # silence before step 0
        x = torch.cat([x, change], 1).reshape(-1, 2 * self.pack, *x.shape[2:])  # PacGAN packs
        return self.net(x).squeeze(1)


@dataclass
class MuseGANConfig(ConvGameConfig):
    """DCGAN's options with MuseGAN's choices as defaults (WGAN-GP, 5 critic steps, no BN in D)
    and the nets of piano rolls."""

    binary: bool = True  # G outputs -1/1 through straight-through binary neurons

    def build_nets(self, data_shape, num_classes):
        blocks, octaves = roll_layout(self.name, data_shape)
        G = RollGenerator(self.z_dim, blocks, octaves, self.g_channels, self.binary)
        D = RollDiscriminator(
            blocks, octaves, self.d_channels, self.d_norm, self.spectral_norm, self.pack
        )
        return G, D


register_model(
    "musegan",
    config=MuseGANConfig,
    spec=ModelSpec(
        data_kind="music",
        default_data="jsb-chorales",
        compute_bound=True,
        tiny=("model.z_dim=8", "model.g_channels=8", "model.d_channels=8", "model.d_steps=1"),
    ),  # fmt: skip
    defaults=dict(
        z_dim=64,
        g_channels=32,
        d_channels=32,
        loss="wasserstein",
        d_steps=5,
        d_norm="layer",
        gp_lambda=10.0,
        lr_g=1e-3,
        lr_d=1e-3,
        beta2=0.9,
    ),  # fmt: skip
    help="MuseGAN (Dong et al. 2018): conv G and D over time and pitch of piano rolls; WGAN-GP.",
)(AdversarialGAN)


# ---------------------------------------------------------------- the MLE baseline


class RollRNN(nn.Module):
    """p(x_t | x_<t) of piano-roll frames: a GRU over the previous frames, one Bernoulli per
    pitch (independent given the past), as the RNN baseline of Boulanger-Lewandowski 2012.

    `forward(z)` samples ancestrally with z [N, T * P] ~ N(0, I) as its randomness (a note sounds
    where Phi(z) < p), so samples follow from z as a GAN's do: fixed z gives fixed samples.
    """

    def __init__(self, steps: int, pitches: int, hidden: int, layers: int):
        super().__init__()
        self.steps, self.pitches = steps, pitches
        self.gru = nn.GRU(pitches, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, pitches)

    def logits(self, x: Tensor) -> Tensor:
        """Teacher-forced logits [N, T, P] of binary frames x [N, T, P] (frame t from x_<t)."""
        prev = F.pad(x[:, :-1], (0, 0, 1, 0))  # silence before the first frame
        h, _ = self.gru(prev)
        return self.out(h)

    def forward(self, z: Tensor) -> Tensor:
        u = 0.5 * (1 + torch.erf(z.view(-1, self.steps, self.pitches) / math.sqrt(2)))  # U(0, 1)
        frame = z.new_zeros(len(z), 1, self.pitches)
        state, frames = None, []
        for t in range(self.steps):
            h, state = self.gru(frame, state)
            frame = (u[:, t : t + 1] < torch.sigmoid(self.out(h))).float()
            frames.append(frame)
        return torch.cat(frames, 1)[:, None] * 2 - 1  # [N, 1, T, P] in {-1, 1}


@dataclass
class MusicRNNConfig(Named):
    hidden: int = option(256, min=1)
    layers: int = option(1, min=1)
    lr: float = option(1e-3, above=0.0)
    grad_clip: float = option(1.0, min=0.0)  # max gradient norm; 0 = none


@register_model(
    "music-rnn",
    config=MusicRNNConfig,
    spec=ModelSpec(data_kind="music", default_data="jsb-chorales", tiny=("model.hidden=8",)),
)
class MusicRNN(GANModel):
    """MLE baseline: an RNN over piano-roll frames, trained on test-set-comparable likelihood."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        roll_layout(cfg.name, self.data_shape)
        _, steps, pitches = self.data_shape
        self.nets["G"] = RollRNN(steps, pitches, cfg.hidden, cfg.layers)

    @property
    def z_dim(self) -> int:
        return self.data_shape[1] * self.data_shape[2]  # one uniform draw per roll cell

    def configure_optimizers(self):
        return {"G": torch.optim.Adam(self.nets["G"].parameters(), lr=self.cfg.lr)}

    def nll(self, x: Tensor, net: str = "G") -> Tensor:
        """Negative log-likelihood [N] in nats per frame of rolls x [N, 1, T, P] in [-1, 1]."""
        target = (x[:, 0] > 0).float()
        logits = self.nets[net].logits(target)
        return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(2).mean(1)

    @torch.no_grad()
    def test_nll(self, x: Tensor) -> Tensor:
        """nll() of the net that `sample` draws from (G_ema if there is one, else G)."""
        return self.nll(x.to(self.device), self.sampler)

    def train_step(self, batch: Batch, step: int) -> dict[str, Tensor]:
        x, _ = split_batch(batch)
        loss = self.nll(x).mean()
        self.update("G", loss, clip_norm=self.cfg.grad_clip)
        return {"loss/G": loss.detach()}
