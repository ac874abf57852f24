"""ChoraleGAN: a bar-by-bar, voice-by-voice GAN for polyphonic piano rolls, after MidiNet (Yang
et al. 2017, "MidiNet: A Convolutional Generative Adversarial Network for Symbolic-domain Music
Generation": each bar generated from noise and the previous bar, so a given first bar can be
continued) and C-RNN-GAN (Mogren 2016: a fixed number of tones per time step, a recurrent net
carrying the piece from one step to the next).

Why not MuseGAN (musegan.py) as it was: on the JSB chorales it collapsed to one 4-bar segment for
every z (diversity 0.008 against the data's 0.136; benchmarks/results/music.md of 2026-11-27).
What this design changes, and why:
- G writes `voices` voices, each a choice per 16th step among the pitches and a rest (one-hot
  through the straight-through estimator, as BinaryMuseGAN's binary neurons but a softmax per
  voice). MuseGAN's G sets 48 independent binary cells per step, so it must learn from D alone
  that a chorale has about four notes at once; it drifted to 12 pitch classes a bar. Here the
  number of notes is a design choice (4 for SATB) and G only chooses which. Each voice chooses
  among the pitches the voices before it left free (model.distinct_voices): in a first 5,000-step
  run without that rule the voices drifted into unison as training went on (polyphony 3.0 at
  step 1,000, 1.3 at 2,000, the critic's estimate of the distance growing). The price: G rarely
  rests, so its polyphony sits at about 4 where the data's is 3.92. With
  model.note_steps=2 each choice lasts an 8th note (G cannot write a 16th note; the data has a
  few), against the blips of one step that a 16th-note G makes early in training.
- The piece is a recurrent net over bars (a GRU cell): each bar comes from the piece's state,
  the bar's own noise and an encoding of the previous bar. The state carries key and direction;
  the previous bar lets a user's first bar be continued (`sample(prime=...)`).
- D sees the roll, its onsets/offsets (as musegan.py's D) and its pitch-class profile per step
  (chroma): key and harmony are facts about pitch classes, which a D that only convolves octave
  by octave learns slowly. Its minibatch-stddev feature (Karras et al. 2018) and PacGAN packing
  (model.pack) show D when samples look alike, the cue against collapse.
The loss is an `Objective` (WGAN-GP by default, as MuseGAN's paper), so hinge or packing are
presets, not code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError, DataError
from gankit.losses import Objective
from gankit.models.adversarial import AdversarialGAN
from gankit.models.base import ModelSpec, Optim, eval_mode
from gankit.models.musegan import TIME_BLOCK, roll_layout
from gankit.nn.conv import norm_layer
from gankit.nn.progressive import MinibatchStd
from gankit.options import Named, option
from gankit.registry import register_model

BEATS = 4  # beats of a bar: TIME_BLOCK steps of 16th notes


def straight_through_onehot(logits: Tensor) -> Tensor:
    """One-hot of the argmax over the last dim, with the softmax's gradient (straight-through):
    D sees hard choices like the data's, G learns through the soft ones."""
    soft = logits.softmax(-1)
    hard = F.one_hot(soft.argmax(-1), soft.shape[-1]).to(soft.dtype)
    return hard + (soft - soft.detach())  # in this order the forward value is exactly hard


class BarGenerator(nn.Module):
    """The piece's state h [N, H] -> one bar of `voices` one-hot voices -> roll [N, 16, P] in
    {0, 1} (forward values; straight-through gradients).

    Beats first (a conv over the bar's 4 beats), then 16th steps by repeating each beat and a
    (3,) conv, so a voice holds its note unless G chooses to move it; a linear layer per step
    scores each voice's P pitches and a rest.
    """

    def __init__(
        self,
        hidden: int,
        pitches: int,
        voices: int,
        channels: int,
        note_steps: int = 1,
        distinct: bool = True,
    ):
        super().__init__()
        c, self.voices, self.pitches, self.distinct = channels, voices, pitches, distinct
        self.note_steps, self.frames = note_steps, TIME_BLOCK // note_steps
        self.fc = nn.Linear(hidden, 2 * c * BEATS)
        self.beats = nn.Sequential(
            nn.BatchNorm1d(2 * c),
            nn.ReLU(),
            nn.Conv1d(2 * c, 2 * c, 3, padding=1, bias=False),
            nn.BatchNorm1d(2 * c),
            nn.ReLU(),
        )
        self.steps = nn.Sequential(
            nn.Upsample(scale_factor=self.frames // BEATS, mode="nearest"),  # [N, 2c, frames]
            nn.Conv1d(2 * c, c, 3, padding=1, bias=False),
            nn.BatchNorm1d(c),
            nn.ReLU(),
            nn.Conv1d(c, voices * (pitches + 1), 1),  # each voice: P pitches and a rest
        )

    def logits(self, h: Tensor) -> Tensor:
        """[N, voices, frames, P + 1]: each voice's scores of its pitches and a rest, per frame
        of `note_steps` steps."""
        x = self.steps(self.beats(self.fc(h).view(len(h), -1, BEATS)))  # [N, V * (P + 1), F]
        return x.view(len(h), self.voices, self.pitches + 1, self.frames).transpose(2, 3)

    def forward(self, h: Tensor) -> Tensor:
        logits = self.logits(h)
        if self.distinct:  # voice v chooses among the pitches voices < v left free (or rests)
            taken = logits.new_zeros(logits[:, 0].shape, dtype=torch.bool)  # [N, F, P + 1]
            voices = []
            for v in range(self.voices):
                voices.append(straight_through_onehot(logits[:, v].masked_fill(taken, -1e9)))
                taken = taken | (voices[-1].detach() > 0)
                taken[..., self.pitches] = False  # any number of voices may rest
            onehot = torch.stack(voices, 1)
        else:
            onehot = straight_through_onehot(logits)
        onehot = onehot[..., : self.pitches].repeat_interleave(self.note_steps, 2)  # [N,V,16,P]
        roll = onehot.sum(1)  # [N, 16, P]: voices in unison make one note
        return roll - (roll - roll.clamp(max=1.0)).detach()  # 0/1 forward, sum's gradient


class ChoraleGenerator(nn.Module):
    """z [N, z_dim] -> piano roll [N, 1, T, P] in {-1, 1}, one bar at a time.

    z sets the piece's initial state and each bar's own noise; the GRU cell's input at bar b
    is that noise and an encoding of bar b - 1 (silence before bar 0). `forward(z, prime)`
    with a first bar prime [N, 16, P] in {0, 1} puts it in place of bar 0 and continues it.
    """

    def __init__(
        self,
        z_dim: int,
        bars: int,
        pitches: int,
        voices: int,
        channels: int,
        note_steps: int = 1,
        distinct: bool = True,
    ):
        super().__init__()
        hidden = 4 * channels
        self.bars, self.pitches, self.bar_noise = bars, pitches, channels
        self.h0 = nn.Linear(z_dim, hidden)
        self.noise = nn.Linear(z_dim, bars * channels)  # each bar's own noise, from z
        # the previous bar: per step its pitches -> features, then its beats -> a vector
        self.encode = nn.Sequential(
            nn.Conv1d(pitches, channels, 4, stride=4),  # [N, c, 4 beats]
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(channels * BEATS, channels),
            nn.LeakyReLU(0.2),
        )
        self.cell = nn.GRUCell(2 * channels, hidden)
        self.bar = BarGenerator(hidden, pitches, voices, channels, note_steps, distinct)

    def forward(self, z: Tensor, prime: Tensor | None = None) -> Tensor:
        n = len(z)
        h = torch.tanh(self.h0(z))
        noise = self.noise(z).view(n, self.bars, -1)
        prev = z.new_zeros(n, TIME_BLOCK, self.pitches)  # silence before the first bar
        out = []
        for b in range(self.bars):
            ctx = self.encode(prev.transpose(1, 2))  # [N, c]
            h = self.cell(torch.cat([noise[:, b], ctx], 1), h)
            prev = prime if b == 0 and prime is not None else self.bar(h)  # [N, 16, P]
            out.append(prev)
        return (torch.cat(out, 1) * 2 - 1)[:, None]  # [N, 1, T, P]


def chroma(roll: Tensor, octaves: int) -> Tensor:
    """Pitch-class profile [N, 1, T, 12] of rolls [N, 1, T, P] in {0, 1}, P = 12 * octaves (the
    lowest row a C or not, the profile is the same up to a rotation D learns)."""
    return roll.view(*roll.shape[:3], octaves, 12).sum(3) / octaves


class ChoraleDiscriminator(nn.Module):
    """Rolls [N, 1, T, P] in [-1, 1] -> scores [N / pack]: a stream of the roll and its
    onsets/offsets octave by octave, a stream of its chroma, joined per beat, then beats ->
    bars -> the segment, with a minibatch-stddev feature before the last layer."""

    def __init__(self, bars: int, octaves: int, channels: int, norm: str, pack: int = 1):
        super().__init__()
        c, self.pack, self.octaves = channels, pack, octaves

        def block(c_in, c_out, kernel, stride=None, padding=(0, 0)) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, kernel, stride or kernel, padding),
                norm_layer(norm, c_out),
                nn.LeakyReLU(0.2),
            ]

        self.roll = nn.Sequential(
            nn.Conv2d(2 * pack, c, (1, 12), (1, 12)),  # [N, c, T, octaves]
            nn.LeakyReLU(0.2),
            *block(c, 2 * c, (4, 1)),  # [N, 2c, T / 4, octaves]: beats
            *block(2 * c, 2 * c, (1, octaves)),  # [N, 2c, T / 4, 1]: chords
        )
        self.chroma = nn.Sequential(
            nn.Conv2d(2 * pack, c, (1, 12)),  # [N, c, T, 1]: pitch-class sets
            nn.LeakyReLU(0.2),
            *block(c, 2 * c, (4, 1)),  # [N, 2c, T / 4, 1]
        )
        self.joint = nn.Sequential(
            *block(4 * c, 4 * c, (3, 1), (1, 1), (1, 0)),  # progressions over 3 beats
            *block(4 * c, 4 * c, (4, 1)),  # [N, 4c, bars, 1]
            MinibatchStd(),
            nn.Flatten(),
            nn.Linear((4 * c + 1) * bars, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        roll = (x + 1) / 2  # [N, 1, T, P] in [0, 1]
        change = roll - F.pad(roll[:, :, :-1], (0, 0, 1, 0))  # + onsets, - offsets
        pcs = chroma(roll, self.octaves)
        pcs_change = pcs - F.pad(pcs[:, :, :-1], (0, 0, 1, 0))

        def packed(*parts: Tensor) -> Tensor:  # PacGAN: `pack` samples as one, channels joined
            both = torch.cat(parts, 1)
            return both.reshape(-1, len(parts) * self.pack, *both.shape[2:])

        a = self.roll(packed(roll, change))
        b = self.chroma(packed(pcs, pcs_change))
        return self.joint(torch.cat([a, b], 1)).squeeze(1)


@dataclass
class ChoraleGANConfig(Objective, Optim, Named):
    """The nets' sizes, an objective (WGAN-GP by default) and Adam."""

    z_dim: int = option(64, min=1)
    channels: int = option(32, min=1)  # G's width; its GRU state is 4x this
    d_channels: int = option(16, min=1)
    d_norm: str = option("none", choices=("none", "layer", "instance"))
    voices: int = option(4, min=1)  # notes G may sound per step (4: SATB)
    # G's shortest note in steps: 1 (a 16th) or 2 (an 8th: each choice held for 2 steps)
    note_steps: int = option(1, choices=(1, 2))
    # voices never share a pitch (each chooses among those left free): without it the voices
    # of the first long run drifted into unison (polyphony 3.0 at step 1,000, 1.3 at 2,000)
    distinct_voices: bool = True
    pack: int = option(1, min=1)  # PacGAN: D judges this many samples at once

    def validate(self) -> None:
        if self.gp_lambda and self.d_norm == "instance":
            raise ConfigError("model.gp_lambda needs d_norm=none or layer (per-sample gradients)")

    def build_nets(self, data_shape, num_classes):
        blocks, octaves = roll_layout(self.name, data_shape)
        G = ChoraleGenerator(
            self.z_dim,
            blocks,
            data_shape[2],
            self.voices,
            self.channels,
            self.note_steps,
            self.distinct_voices,
        )
        D = ChoraleDiscriminator(blocks, octaves, self.d_channels, self.d_norm, self.pack)
        return G, D


@register_model(
    "choralegan",
    config=ChoraleGANConfig,
    spec=ModelSpec(
        data_kind="music",
        default_data="jsb-chorales",
        sample_options=("prime",),
        tiny=("model.z_dim=8", "model.channels=8", "model.d_channels=8", "model.d_steps=1"),
    ),
    defaults=dict(loss="wasserstein", gp_lambda=10.0, d_steps=2, lr_g=1e-3, lr_d=1e-3, beta2=0.9),
    help="Bar-by-bar, voice-by-voice music GAN (MidiNet + C-RNN-GAN ideas); primable by a bar.",
)
class ChoraleGAN(AdversarialGAN):
    """The adversarial game of `AdversarialGAN` with ChoraleGAN's nets, and sampling that can
    continue a given first bar."""

    @torch.no_grad()
    def sample(self, n=None, z=None, seed=None, labels=None, prime: Tensor | None = None):
        """As `GANModel.sample`; with `prime` [16, P] or [n, 16, P] (a first bar, > 0 sounds),
        every sample starts with it and G writes the bars after it."""
        if prime is None:
            return super().sample(n, z, seed, labels)
        z = self.noise_or(z, n, seed)
        bar = (torch.as_tensor(prime) > 0).float().to(self.device)
        if bar.dim() == 2:
            bar = bar.expand(len(z), -1, -1)
        want = (len(z), TIME_BLOCK, self.data_shape[2])
        if tuple(bar.shape) != want:
            raise DataError(
                f"a prime must be one bar of {TIME_BLOCK} steps x {want[2]} pitches, got "
                f"{list(bar.shape)}"
            )
        G = self.nets[self.sampler]
        with eval_mode(G):
            return G(z.to(self.device), bar).float()
