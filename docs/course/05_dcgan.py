# %% [markdown]
# # 5. DCGAN: a convolutional generator and discriminator
#
# The first GANs used small fully connected nets. Radford, Metz and Chintala (2015, "Unsupervised
# Representation Learning with Deep Convolutional GANs") found a set of architecture rules that
# made convolutional GANs train stably on images, and **DCGAN** has been the starting point of
# image GANs ever since:
#
# - no pooling: D downsamples with **strided convolutions**, G upsamples with **transposed
#   ("fractionally strided") convolutions**, so each net learns its own resampling
# - **batch normalisation** in both nets, except at G's output and D's input
# - no fully connected hidden layers: z is projected to a small 4x4 or 7x7 feature map
# - **ReLU** in G with a **tanh** output (images scaled to $[-1, 1]$), **LeakyReLU** (slope 0.2)
#   in D
# - Adam with learning rate $2 \cdot 10^{-4}$ and $\beta_1 = 0.5$.
#
# The game is the lecture's, unchanged: D minimises binary cross-entropy, G the non-saturating
# loss $-\mathbb{E}_z[\log D(G(z))]$. Here it learns 4,000 MNIST digits (the `mnist-dcgan` preset,
# with a moving average of G's weights for sampling, `train.ema=0.999`).
#
# **What to look at:** how the nets' feature maps change shape; the samples; walks in z between
# two samples (straight and spherical); each sample beside its nearest training digit (does G
# copy?); the Fréchet distance on the MNIST classifier's features over training.
# About 4 CPU-minutes.

# %% tags=["parameters"]
STEPS = 2500  # train steps (mnist-dcgan trains 3,000)
N_SAMPLES = 1000  # generated digits for each evaluation of the Frechet distance
SEED = 0

# %%
import tempfile

import matplotlib.pyplot as plt
import torch

import gankit
from gankit.metrics.features import classifier_extractor, real_features
from gankit.metrics.images import fid_from_features
from gankit.viz.pictures import nearest_images, slerp
from gankit.viz.plots import read_metrics


def show(images, nrow, title="", size=1.0):
    """A grid of [N, 1, 28, 28] images in [-1, 1]."""
    ncol = (len(images) + nrow - 1) // nrow
    fig, ax = plt.subplots(ncol, nrow, figsize=(nrow * size, ncol * size), squeeze=False)
    for a in ax.flat:
        a.axis("off")
    for a, x in zip(ax.flat, images, strict=False):
        a.imshow(x[0], cmap="gray", vmin=-1, vmax=1)
    fig.suptitle(title)


# %% [markdown]
# ## Training
#
# One thread (`train.threads=1`): on a machine shared with other jobs a second thread mostly
# waits for the first, and costs several times the CPU time. The Fréchet distance (below) is
# evaluated five times over training.

# %%
out = tempfile.mkdtemp(prefix="gankit-course-dcgan-")
trainer = gankit.train(
    "mnist-dcgan",
    overrides=[
        f"train.steps={STEPS}",
        f"train.seed={SEED}",
        "train.threads=1",
        "train.metrics=[fid-classifier]",
        f"train.eval_every={max(1, STEPS // 5)}",
        f"train.n_samples={N_SAMPLES}",
        "train.progress=false",
        "train.report=false",
        "train.tensorboard=false",
    ],
    out=out,
)
model = trainer.model

# %% [markdown]
# ## The nets, layer by layer
#
# G reads z, a vector of 100 numbers, as a 1x1 "image" with 100 channels. Its first transposed
# convolution spreads that to a 7x7 map, and each one after it doubles the side and halves the
# channels, up to one 28x28 channel. D runs the other way with strided convolutions and ends in
# one score.

# %%
G, D = model.nets["G"], model.nets["D"]
with torch.no_grad():
    h = model.noise(2)[:, :, None, None]
    print("G:", list(h.shape[1:]), end="")
    for layer in G.net:
        h = layer(h)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            print(" ->", list(h.shape[1:]), end="")
    print("  (tanh)")
    print("D:", list(h.shape[1:]), end="")
    for layer in [*D.features, D.out]:
        h = layer(h)
        if isinstance(layer, torch.nn.Conv2d):
            print(" ->", list(h.shape[1:]), end="")
    print("  (one score per image)")
n_g, n_d = (sum(p.numel() for p in net.parameters()) for net in (G, D))
print(f"parameters: G {n_g:,}, D {n_d:,}")

# %% [markdown]
# ## Samples

# %%
show(model.sample(64, seed=SEED), nrow=16, title=f"64 samples after {trainer.step} steps")

# %% [markdown]
# ## Walking in z
#
# If G has learnt a smooth map rather than a look-up table, the images along a path from $z_0$
# to $z_1$ should change gradually, one plausible digit morphing into another.
#
# The straight line $z_t = (1 - t) z_0 + t z_1$ has a catch in high dimensions. A draw from
# $\mathcal{N}(0, I_d)$ almost always has length close to $\sqrt{d}$ (here $\sqrt{100} = 10$),
# but the midpoint of two independent draws has length close to $\sqrt{d/2} \approx 7.1$: a
# region G almost never saw in training. **Spherical** interpolation (slerp),
#
# $$z_t = \frac{\sin((1 - t)\,\Omega)}{\sin \Omega}\, z_0
#   + \frac{\sin(t\,\Omega)}{\sin \Omega}\, z_1,
# \qquad \cos \Omega = \frac{z_0 \cdot z_1}{|z_0|\,|z_1|},$$
#
# walks along the arc instead and keeps the length typical.

# %%
g = torch.Generator().manual_seed(SEED + 1)
z0, z1 = model.noise(1, g), model.noise(1, g)
t = torch.linspace(0, 1, 10)
z_line = (1 - t)[:, None] * z0 + t[:, None] * z1  # [10, 100]
z_arc = slerp(z0, z1, t)[0]  # [10, 100]
show(model.sample(z=torch.cat([z_line, z_arc])), nrow=10, title="top: linear, bottom: slerp")

fig, ax = plt.subplots(figsize=(5, 2.8))
ax.plot(t, z_line.norm(dim=1), "o-", label="linear")
ax.plot(t, z_arc.norm(dim=1), "o-", label="slerp")
ax.set(xlabel="t", ylabel="|z_t|", ylim=(0, None))
ax.legend()

# %% [markdown]
# Both rows morph smoothly from one digit into another: G has learnt a continuous map. The two
# rows differ little for this G; the lengths show where the two paths differ (the straight line
# dips well below 10 halfway).
#
# Every image run also draws eight such walks (slerp) into its folder,
# `pictures/interpolation.png`, shown in its `report.html`:

# %%
fig, ax = plt.subplots(figsize=(7, 6))
ax.imshow(plt.imread(trainer.run.path / "pictures" / "interpolation.png"))
ax.axis("off")

# %% [markdown]
# ## Does G copy its training set?
#
# A generator that memorised its 4,000 training digits would also make sharp samples. To check,
# put each sample beside the training image closest to it (in pixel distance). As a yardstick,
# do the same for real digits G never saw, the test set: how close does a *new* real digit come
# to some training digit?

# %%
x = model.sample(16, seed=SEED)
near = nearest_images(x, trainer.data.reference_chunks(4000, "train"))
show(torch.stack([x, near], 1).flatten(0, 1), nrow=8, title="sample, nearest training digit")

test, _ = trainer.data.reference(200, "test")
near_test = nearest_images(test, trainer.data.reference_chunks(4000, "train"))
x = model.sample(200, seed=SEED)
near = nearest_images(x, trainer.data.reference_chunks(4000, "train"))
d_gen = (x - near).flatten(1).norm(dim=1)
d_test = (test - near_test).flatten(1).norm(dim=1)
print(
    f"pixel distance to the nearest training digit: generated {d_gen.mean():.2f} on average, "
    f"test digits {d_test.mean():.2f}"
)

# %% [markdown]
# Samples that sat much closer to their nearest training digit than real test digits do would
# be copies. Here the generated digits are, on average, *farther* from the training set than
# new real digits are: G makes digits of its own. The run also draws this check,
# `pictures/nearest.png`.
#
# ## Quality over training: the Fréchet distance
#
# The Fréchet Inception Distance (FID, Heusel et al. 2017) fits a Gaussian to the features of
# real images, $(\mu_r, \Sigma_r)$, and one to those of generated images, $(\mu_g, \Sigma_g)$,
# and measures
#
# $$\mathrm{FID} = |\mu_r - \mu_g|^2 + \mathrm{tr}\big(\Sigma_r + \Sigma_g
#   - 2 (\Sigma_r \Sigma_g)^{1/2}\big).$$
#
# Inception features are slow on a CPU; `fid-classifier` uses the 128 features of gankit's
# small MNIST classifier instead, compared with 1,000 test digits. Lower is better. The
# yardstick: the same distance between 1,000 *training* digits and the test digits.

# %%
rows = [r for r in read_metrics(trainer.run.path / "metrics.jsonl") if "eval/fid_classifier" in r]
extractor = classifier_extractor("mnist")
real_vs_real = fid_from_features(
    real_features(trainer.data, extractor, 1000, "train"),
    real_features(trainer.data, extractor, 1000, "test"),
)
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot([r["step"] for r in rows], [r["eval/fid_classifier"] for r in rows], "o-", label="G")
ax.axhline(real_vs_real, color="grey", ls="--", label="training digits")
ax.set(xlabel="step", ylabel="FID (classifier features)", yscale="log")
ax.legend()
for r in rows:
    print(f"step {r['step']:5d}: FID {r['eval/fid_classifier']:.2f}")
print(f"training digits against test digits: {real_vs_real:.2f}")

# %% [markdown]
# The distance falls steadily as G learns (in our run from about 700 after 500 steps to about
# 330 after 2,500), but stays far above the yardstick of real digits (about 25): a few thousand
# steps on 4,000 digits make recognisable digits, not ones a classifier's features cannot tell
# from real. FID has no absolute scale (it depends on the features), so compare numbers only
# under one protocol; gankit writes the protocol beside each value in `metrics.jsonl`.

# %% [markdown]
# **Try this.** (1) Vector arithmetic, DCGAN's famous demonstration: find z's whose samples are
# thick digits and thin ones, average each group, and add the difference to other z's. Does it
# thicken their digits? (2) Drop batch normalisation from D (`model.d_norm=none`) and train
# again: what happens to the samples and the distance? From the command line:
# `gankit train mnist-dcgan --set model.d_norm=none`, then open the run's `report.html`.
