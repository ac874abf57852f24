# %% [markdown]
# # 11. Progressive growing: from 4x4 upwards
#
# The lecture's photos of people who do not exist came from **ProGAN** (Karras et al. 2018,
# "Progressive Growing of GANs for Improved Quality, Stability, and Variation"). A GAN asked to
# make 1024x1024 images from the first step has a hard time: D can tell real from fake by any
# of a million pixels, its gradients to G are large and uninformative, and training falls
# apart. ProGAN starts both nets at **4x4**, where the game is easy (only the coarse layout
# matters), and doubles the resolution when that is learnt, adding a block to G (upscale, two
# 3x3 convolutions) and a mirror block to D. Each stage only has to add detail at its own
# scale to a picture whose structure is already right.
#
# A new block would shock nets that are already trained, so it is **faded in**. While the
# resolution doubles from $r$ to $2r$, G's output is
#
# $$x = (1 - \alpha)\,\mathrm{up}\big(\mathrm{toRGB}_r(h)\big)
#   + \alpha\,\mathrm{toRGB}_{2r}\big(\mathrm{block}(h)\big),$$
#
# and D sees the same blend on its side (the real images too are blended between $2r$ and an
# upscaled $r$). $\alpha$ rises linearly from 0 (the old net, exactly) to 1 (the new one)
# over a fixed number of real images; then the new resolution trains on its own ("stable"),
# and the next doubling begins. gankit follows the paper otherwise too: WGAN-GP with a small
# drift term, pixel norm in G, equalised learning rates, a minibatch-stddev feature in D and
# an exponential moving average (EMA) of G's weights for sampling.
#
# Here: the `fashion-progan` preset (Fashion-MNIST padded to 32x32) grown 4 -> 8 -> 16 -> 32
# in a **short run** with short phases. The preset trains 10 minutes on one core and is still
# far from DCGAN's quality then (`benchmarks/results/progan.md`); this run is shorter still,
# to show the growth, not the end result.
#
# **What to look at:** the schedule (resolution and $\alpha$ against the step), the samples
# of the same fixed noise at the end of each phase (what each resolution adds), and how the
# cost of a step grows with the resolution. About 3 CPU-minutes.

# %% tags=["parameters"]
STEPS = 600  # train steps in all; the phases are scaled so that 32x32 fades in by 70% of them
EMA = 0.99  # EMA decay of G's weights (the preset's 0.999 averages over ~1,000 steps: too slow)
SEED = 0

# %%
import json
import tempfile

import matplotlib.pyplot as plt
import numpy as np

import gankit

# %% [markdown]
# ## The schedule
#
# Phases are counted in **real images shown to D**, not in steps. The preset uses batches of 32
# at 4x4 and 8x8 and 16 above: with `P` images per phase (each stable phase and each fade-in),
# the 32x32 layer has faded in after $3P/32 + 3P/16 = 9P/32$ steps.

# %%
P = max(1, int(0.7 * STEPS * 32 / 9))  # images per phase
print(f"{P} images per stable phase and per fade-in")
trainer = gankit.train(
    "fashion-progan",
    overrides=[
        f"model.stable_images={P}",
        f"model.fade_images={P}",
        f"train.steps={STEPS}",
        "train.time_limit=0",
        f"train.ema={EMA}",
        f"train.seed={SEED}",
        "train.log_every=5",
        "train.n_samples=32",  # the fixed-noise snapshot: 32 images
        "train.metrics=[]",
        "train.threads=1",
        "train.progress=false",
        "train.report=false",
        "train.tensorboard=false",
    ],
    out=tempfile.mkdtemp(prefix="gankit-course-progan-"),
)

# %% [markdown]
# Every logged row of the run's `metrics.jsonl` holds $\alpha$; the rows marking the end of a
# phase say which resolution ended, and when. Each row's `time` is the training time so far.

# %%
rows = [json.loads(line) for line in open(trainer.run.path / "metrics.jsonl")]
logged = [r for r in rows if "alpha" in r]
ends = [r for r in rows if "event" in r]
fig, ax = plt.subplots(1, 2, figsize=(11, 3.2))
ax[0].plot([r["step"] for r in logged], [r["alpha"] for r in logged])
for r in ends:
    ax[0].axvline(r["step"], color="gray", ls=":")
    ax[0].text(r["step"], 0.5, f" end of {r['phase']}", rotation=90, fontsize=8)
ax[0].set(xlabel="step", ylabel="alpha", title="fade-in: alpha of the newest layer")
ax[1].plot([r["step"] for r in logged], [r["time"] for r in logged])
ax[1].set(xlabel="step", ylabel="training time, wall clock (s)", title="steps get dearer")
plt.tight_layout()
for r in ends:
    print(f"{r['phase']:>6s} ended at step {r['step']:4d}, {r['time']:6.1f} s into training")

# %% [markdown]
# $\alpha$ climbs from 0 to 1 at every fade-in and stays at 1 through each stable phase (the
# 4x4 phase has nothing to fade in). The time curve gets steeper at each doubling: a step at
# 32x32 costs several 4x4 steps, even at half the batch. That is ProGAN's other gift: much of
# training happens at low resolution, where it is cheap.
#
# ## The samples at the end of each phase
#
# The run draws the same fixed noise at the end of each phase (`samples/phase_*.npy`),
# upscaled by nearest neighbour to 32x32 so they line up.

# %%
phases = [r["phase"] for r in ends]
fig, ax = plt.subplots(len(phases), 1, figsize=(12, 1.6 * len(phases)))
for a, phase in zip(np.atleast_1d(ax), phases, strict=True):
    x = np.load(trainer.run.path / "samples" / f"phase_{phase}.npy")[:12, 0]  # [12, 32, 32]
    a.imshow(np.concatenate(list(x), axis=1), cmap="gray", vmin=-1, vmax=1)
    a.set_title(f"end of {phase}", fontsize=9)
    a.axis("off")
plt.tight_layout()

# %% [markdown]
# Each row is one resolution's contribution. At 4x4, after a few dozen steps, a sample is 16
# grey blocks; at 8x8 a bright blob in the middle of a dark frame, which is where and how large
# a garment is; at 16x16 the blobs get texture; at 32x32 most are garment-like silhouettes
# (bags, tops, a shoe) with rough edges, and a few are still failures. Each coarse stage
# gave the next a starting point, so no stage had to learn the whole image from scratch. In
# a run this short, G's mapping still moves a lot between phases, so one column is not the
# same garment at every resolution. The paper grows for millions of images; this run showed
# D about 12,000.
#
# **Try this.** Train without the fade-in: a tiny `model.fade_images=1` swaps each new layer
# in at once. Do the samples right after a doubling look worse, and does the loss jump
# (`loss/D` in `metrics.jsonl`)? For photos: `gankit train lfw-progan` grows 100 faces to
# 64x64, and `gankit train progan --data ./my_photos` grows your own (the report shows each
# phase's samples).
