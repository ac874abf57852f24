# %% [markdown]
# # 12. Music: a GAN that composes, heard and counted
#
# Music can be drawn as a **piano roll**: a grid with time running right and pitch running
# up, a cell on where a note sounds. A four-bar phrase of Bach's four-part chorales at
# sixteenth notes is a 64 x 48 binary image (64 steps, 48 pitches from C2 to B5), so an image
# GAN can learn to draw it. **MuseGAN** (Dong et al. 2018, "MuseGAN: Multi-track Sequential
# Generative Adversarial Networks for Symbolic Music Generation and Accompaniment") does this
# with convolutional nets over bars, time and pitch, trained as a WGAN-GP; gankit's `musegan`
# is its one-track form, on the JSB chorales (Boulanger-Lewandowski et al. 2012: 382 chorales
# split into train, valid and test).
#
# The baseline it must beat is the old way: a recurrent net trained by **maximum likelihood**
# to predict each step of the roll from the ones before (`music-rnn`, a GRU), which has a
# likelihood and so a **test NLL**; a GAN has none, which is why music GANs are judged by
# statistics of their samples instead, compared with the same statistics of real music
# (gankit's `music` metric, MuseGAN's and muspy's definitions, Dong et al. 2020):
#
# - **empty bars**: the share of bars with no note (a chorale has none);
# - **pitch classes per bar**: how many of the 12 note names (C, C#, ... B) sound in a bar:
#   tonal music uses about 7, noise all 12;
# - **qualified notes**: the share of notes at least an eighth note long (fragments are not);
# - **polyphony**: how many notes sound at once (a four-part chorale: about 4);
# - **in scale**: the share of a segment's notes in its best-fitting major scale;
# - **pitch-class histogram distance**: total variation $\tfrac12 \sum_c |p(c) - q(c)|$
#   between the note-name histograms of the samples and of the training set.
#
# None of these sees **diversity**: a generator that plays the same good phrase for every z
# scores perfectly. So we count it too: the mean share of roll cells in which two samples
# differ.
#
# An honest warning: gankit's MuseGAN is **mode-collapsed**. Its 20-minute preset run
# (2026-11-27) was farther from the data than the RNN on every statistic (empty bars aside:
# none of them has any), and its diversity was 0.008, against 0.136 for real chorales: nearly
# the same phrase for every z. gankit's second music GAN, **ChoraleGAN** (`choralegan`),
# changes the design so that collapse is hard: it writes a chorale bar by bar, each bar from
# its own noise and the bar before (MidiNet, Yang et al. 2017), as four voices that each choose
# one pitch or a rest per step (C-RNN-GAN's fixed number of tones, Mogren 2016), judged by a
# critic that also sees the pitch classes. Because each bar follows the one before, it can
# also **continue a first bar you give it**. The runs here are **short**, so listen for the
# kind of music each makes, not its best.
#
# **What to look at (and listen to):** the piano rolls of the data, the RNN and both GANs side
# by side; the audio of each; the statistics table, and above all the diversity column; then
# ChoraleGAN continuing the first bar of a real chorale. About 6 CPU-minutes.

# %% tags=["parameters"]
STEPS = 800  # train steps of each model (the presets: 1,253 and 2,417 in their time limits, 2,500)
N_SAMPLES = 1000  # segments scored
SEED = 0

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from IPython.display import Audio, display

import gankit
from gankit.metrics.music import binarize, roll_metrics
from gankit.viz.samples import write_samples

# %% [markdown]
# ## Three composers
#
# The same data, three presets, each trained on one thread (`train.threads=1`: small nets) for
# the same number of steps. At the end each run scores `N_SAMPLES` generated segments with the
# `music` metric (and the RNN its test NLL too).

# %%
runs = {}
composers = (("RNN (MLE)", "jsb-rnn"), ("MuseGAN", "jsb-musegan"), ("ChoraleGAN", "jsb-choralegan"))
for name, preset in composers:
    runs[name] = gankit.train(
        preset,
        overrides=[
            f"train.steps={STEPS}",
            "train.time_limit=0",
            f"train.n_samples={N_SAMPLES}",
            f"train.seed={SEED}",
            "train.threads=1",
            "train.progress=false",
            "train.report=false",
            "train.tensorboard=false",
        ],
        out=tempfile.mkdtemp(prefix=f"gankit-course-{preset}-"),
    )
data = runs["MuseGAN"].data
info = data.info()

# %% [markdown]
# ## Seen: piano rolls
#
# Four segments of each: real test chorales, then the RNN's, then each GAN's (each from its
# own z). Dotted lines are bar lines; the rows labelled C3, C4 ... are the C's.

# %%
rolls = {"data (test split)": binarize(data.reference(N_SAMPLES, "test")[0])}
for name, trainer in runs.items():
    rolls[name] = binarize(trainer.model.sample(N_SAMPLES, seed=SEED))

fig, ax = plt.subplots(len(rolls), 4, figsize=(14, 9), sharex=True, sharey=True)
for row, (name, r) in zip(ax, rolls.items(), strict=True):
    for k, a in enumerate(row):
        a.imshow(r[k].T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
        for bar in (16, 32, 48):
            a.axvline(bar - 0.5, color="tab:blue", lw=0.6, ls=":")
        a.set_yticks(range(0, 48, 12), [f"C{2 + o}" for o in range(4)])
    row[0].set_ylabel(name)
plt.tight_layout()

# %% [markdown]
# ## Heard
#
# gankit renders rolls to audio with a small additive synthesiser (three harmonics and a
# plucked decay per note, no sound font): writing samples to a `.wav` file is what
# `gankit sample RUN --out x.wav` does. Two segments of each, a beat of silence between them.

# %%
work = Path(tempfile.mkdtemp(prefix="gankit-course-music-"))
for k, (name, r) in enumerate(rolls.items()):
    wav = work / f"{k}.wav"
    x = torch.from_numpy(r[:2, None]).float() * 2 - 1  # bool rolls -> [2, 1, T, P] in [-1, 1]
    write_samples(x.numpy(), info, wav)
    print(name)
    display(Audio(filename=str(wav)))

# %% [markdown]
# ## Counted
#
# The statistics of `N_SAMPLES` segments of each, the data's computed the same way (its
# histogram distance is the test split's own distance from the training set: the floor).
# Diversity is the mean, over pairs of segments, of the share of the 64 x 48 cells in which
# the two differ; for 0/1 vectors that is their L1 distance divided by the number of cells.


# %%
def diversity(r, n: int = 200) -> float:
    """Mean share of cells in which two of the first n rolls differ (over all pairs)."""
    x = torch.from_numpy(r[:n]).flatten(1).float()
    d = torch.cdist(x, x, p=1) / x.shape[1]  # [n, n], 0 on the diagonal
    return float(d.sum() / (len(x) * (len(x) - 1)))


train_rolls = binarize(data.reference(10**9, "train")[0])
print(f"{'':18s} {'empty':>6s} {'PC/bar':>6s} {'qual.':>6s} {'poly.':>6s} {'scale':>6s}", end="")
print(f" {'PC dist':>7s} {'diversity':>9s}")
for name, r in rolls.items():
    s = roll_metrics(r, train_rolls, info)
    print(
        f"{name:18s} {s['empty_bar_rate']:6.3f} {s['pitch_classes_per_bar']:6.2f} "
        f"{s['qualified_note_rate']:6.3f} {s['polyphony']:6.2f} {s['in_scale_ratio']:6.3f} "
        f"{s['pc_hist_distance']:7.3f} {diversity(r):9.3f}"
    )
print(f"RNN test NLL: {runs['RNN (MLE)'].results['eval/test_nll']:.3f} nats per time step")

# %% [markdown]
# Read the table row by row against the data's: the closer each column, the more the
# samples behave like chorales in that one respect. The RNN is close on most: about four
# voices at a time, a few more pitch classes per bar than Bach and more short fragments
# (fewer qualified notes), and as diverse as the data. MuseGAN's rolls above tell the rest:
# its four samples, drawn from four different z, are the same phrase, a short pattern
# repeated bar after bar. Its diversity counts what you see and hear, and its pitch-class
# histogram is far from the chorales' (one phrase cannot use the notes in Bach's
# proportions). This is not only a short run's problem: trained to the end of its preset,
# 20 minutes, MuseGAN was still collapsed, at a diversity of 0.008.
#
# ChoraleGAN's samples differ from each other about as much as real chorales do, with four
# voices at every step by design. Trained through its preset (2,500 steps, about 10
# CPU-minutes), it is closer to the data than the RNN on pitch classes per bar, qualified
# notes, polyphony and notes in scale, but not yet on the pitch-class histogram
# (`benchmarks/results/music.md`).
#
# Why was MuseGAN behind a likelihood model? The RNN must explain every test chorale
# (an NLL punishes a missed mode heavily), while the GAN's generator only has to fool its
# critic, which a single convincing phrase can do for a while: the mode collapse of
# notebook 4, now in music. MuseGAN's paper trains far longer, on far more data (the Lakh
# MIDI set), with tracks and bars generated by separate latent codes.
#
# ## Continued: a first bar, and the rest
#
# A chorale's first bar, written to a MIDI file, is what `gankit sample RUN --prime
# first_bar.mid` continues: every sample keeps that bar and ChoraleGAN writes bars 2 to 4,
# each from its own noise. The top row is the real chorale, the others continuations.

# %%
chorale = rolls["data (test split)"][:1]
first_bar = work / "first_bar.mid"
x = torch.from_numpy(chorale[:, None, :16]).float() * 2 - 1  # its first bar, [1, 1, 16, P]
write_samples(x.numpy(), info, first_bar)
continued = binarize(
    gankit.sample(runs["ChoraleGAN"].run.path, 3, seed=SEED, prime=first_bar)
)
fig, ax = plt.subplots(4, 1, figsize=(8, 8), sharex=True)
for a, r, title in zip(ax, [chorale[0], *continued], ["real chorale"] + ["continued"] * 3):
    a.imshow(r.T, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest")
    a.axvline(15.5, color="tab:red", lw=1)
    a.set_ylabel(title)
plt.tight_layout()
wav = work / "continued.wav"
write_samples(continued[:2, None].astype("float32") * 2 - 1, info, wav)
display(Audio(filename=str(wav)))

# %% [markdown]
# **Try this.** Give the GANs more steps (`STEPS = 2000`) and watch its diversity: does it
# fall as its samples get more chorale-like? Then try the remedy of notebook 4's exercise,
# PacGAN's packing, which lets the critic see that samples repeat each other:
# `gankit train jsb-musegan --set model.pack=2`, then `gankit eval RUN --metric music`.
# Finally, prime ChoraleGAN with a first bar of your own (any MIDI file: only its first bar
# is read) and listen to how it carries on.
