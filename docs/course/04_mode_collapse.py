# %% [markdown]
# # 4. Mode collapse, seen and counted
#
# Training alternates gradient steps: D improves against the current G, then G against the
# current D. That does not solve $\min_G \max_D V$; it behaves more like $\max_D \min_G V$, and
# there the best G puts all its mass on whichever point D currently likes most. The generator
# **collapses** onto one mode, D learns to reject it, G hops to another, and so on.
#
# The lecture's demonstration, on 8 Gaussians in a ring: the same small nets trained as a plain
# GAN (`ring-gan-collapse`) and as an Unrolled GAN (`ring-unrolled`, Metz et al. 2016, the
# topic of notebook 6), which optimises G against D as it will be a few steps ahead.
#
# **What to look at:** the snapshots over training (does G sit on one mode and hop, or spread
# over all?) and the counts: modes covered, the share of high-quality samples, reverse KL.
# About three minutes on a laptop CPU.

# %% tags=["parameters"]
STEPS = 5000  # train steps of each preset (their own length)
SEED = 0

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import gankit

# %%
runs = {}
for preset in ("ring-gan-collapse", "ring-unrolled"):
    out = Path(tempfile.mkdtemp(prefix=f"gankit-course-{preset}-"))
    runs[preset] = gankit.train(
        preset,
        overrides=[
            f"train.steps={STEPS}",
            f"train.seed={SEED}",
            f"train.sample_every={max(1, STEPS // 8)}",
            "train.progress=false",
            "train.report=false",
            "train.tensorboard=false",
        ],
        out=out,
    )

# %% [markdown]
# ## Seen: snapshots of the same fixed noise over training
#
# Each run keeps the samples of one fixed batch of noise every `train.sample_every` steps
# (`samples/step_*.npy`, the frames of its time-lapse).

# %%
fig, ax = plt.subplots(2, 8, figsize=(16, 4.4), sharex=True, sharey=True)
for row, (preset, trainer) in enumerate(runs.items()):
    frames = sorted((trainer.run.path / "samples").glob("step_*.npy"))[-8:]
    centers = np.array(trainer.data.info()["centers"])
    for a, frame in zip(ax[row], frames, strict=False):
        s = np.load(frame)
        a.scatter(s[:, 0], s[:, 1], s=1, alpha=0.3)
        a.scatter(centers[:, 0], centers[:, 1], c="red", marker="x", s=12)
        a.set_title(f"{preset}\n{frame.stem}", fontsize=7)
plt.tight_layout()

# %% [markdown]
# ## Counted
#
# The protocol of the Unrolled GAN, VEEGAN and PacGAN papers, on 2,500 samples: a sample is of
# **high quality** when it lies within 3 standard deviations of a mode's centre; a mode is
# **covered** when at least one high-quality sample is nearest to it; **reverse KL** compares
# the high-quality samples' spread over the modes with the uniform spread (0 is perfect).

# %%
for preset, trainer in runs.items():
    r = trainer.results
    print(
        f"{preset:18s} modes {r['eval/modes']:.0f} of 8   high quality {r['eval/hq_pct']:5.1f}%"
        f"   reverse KL {r['eval/rev_kl']:.3f}"
    )

# %% [markdown]
# The plain GAN's snapshots sit on one or two modes at a time and move; the unrolled one
# spreads over the ring. `benchmarks/results/toy2d.md` has the same counts over five seeds for
# every 2-D preset, and Stacked MNIST (`gankit train stacked-dcgan`, `--metric stacked-modes`)
# counts modes among 1,000 three-digit colour images.
#
# **Try this.** Change `SEED` and run again: does the plain GAN always collapse, onto the same
# mode? Then give it PacGAN's packing (`gankit train ring-gan-pac2`): D judges two samples at
# once, so a generator that repeats itself is easier to catch.
