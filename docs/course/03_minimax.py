# %% [markdown]
# # 3. The minimax game on a 1-D example
#
# The lecture's game is
#
# $$\min_G \max_D V(G, D),$$
#
# $$V(G, D) = \mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
#   + \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# For a fixed generator, whose samples have density $p_g$, the best discriminator is
#
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)},$$
#
# and at that discriminator $V(G, D^*) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data} \,\|\, p_g)$:
# the game's value falls to $-\log 4 \approx -1.386$ exactly when $p_g = p_\text{data}$, where
# $D^* = 1/2$ everywhere (Goodfellow et al. 2014, Theorem 1).
#
# In one dimension every one of these can be drawn. We train a small GAN on a mixture of two
# Gaussians, then draw the trained D against the $D^*$ of its own generator.
#
# **What to look at:** (1) D(x) against D*(x), and where the two differ; (2) the value V over
# training against -log 4. About a minute on a laptop CPU.

# %% tags=["parameters"]
STEPS = 3000  # train steps
N_SAMPLES = 20000  # data points, and generator samples for the density estimate
SEED = 0

# %%
import json
import math
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

import gankit

# %% [markdown]
# ## The data: two Gaussians on a line
#
# gankit trains on any file of points (`--data my_points.npy`); here the points are a 1-D array of
# shape (N, 1).

# %%
MEANS, STD = np.array([-2.0, 2.0]), 0.5


def p_data(x: np.ndarray) -> np.ndarray:
    """The true density: an equal mixture of N(-2, 0.5^2) and N(2, 0.5^2)."""
    z = (x[:, None] - MEANS[None, :]) / STD
    return np.exp(-0.5 * z**2).mean(1) / (STD * math.sqrt(2 * math.pi))


rng = np.random.default_rng(SEED)
points = rng.choice(MEANS, N_SAMPLES) + STD * rng.normal(size=N_SAMPLES)
work = Path(tempfile.mkdtemp(prefix="gankit-course-minimax-"))
np.save(work / "points.npy", points[:, None].astype(np.float32))

# %%
trainer = gankit.train(
    model="gan",
    data="points",
    overrides=[
        f"data.path={work / 'points.npy'}",
        f"train.steps={STEPS}",
        f"train.seed={SEED}",
        "train.log_every=50",
        "model.z_dim=4",
        "model.lr_g=1e-3",
        "model.lr_d=1e-3",
        "train.progress=false",
        "train.report=false",
        "train.tensorboard=false",
    ],
    out=work / "run",
)
model = trainer.model

# %% [markdown]
# ## D against D*
#
# $p_g$ is estimated from generator samples with a Gaussian kernel density estimate, so
# $D^* = p_\text{data} / (p_\text{data} + p_g)$ can be drawn beside the trained D (the sigmoid of
# its logit).

# %%
xs = np.linspace(-4.5, 4.5, 400)
samples = model.sample(N_SAMPLES, seed=SEED).numpy()[:, 0]
bandwidth = 1.06 * samples.std() * len(samples) ** -0.2  # Silverman's rule
z = (xs[:, None] - samples[None, :]) / bandwidth
p_g = np.exp(-0.5 * z**2).mean(1) / (bandwidth * math.sqrt(2 * math.pi))
d_star = p_data(xs) / (p_data(xs) + p_g + 1e-12)
with torch.no_grad():
    d_trained = torch.sigmoid(model.nets["D"](torch.tensor(xs, dtype=torch.float32)[:, None]))
d_trained = d_trained.numpy().ravel()

fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
ax[0].plot(xs, p_data(xs), label="p_data")
ax[0].plot(xs, p_g, label="p_g (generator, KDE)")
ax[0].set(xlabel="x", ylabel="density", title="the data and the generator")
ax[1].plot(xs, d_star, label="D* = p_data / (p_data + p_g)")
ax[1].plot(xs, d_trained, label="trained D")
ax[1].axhline(0.5, color="grey", ls=":", label="1/2 (p_g = p_data)")
ax[1].set(xlabel="x", ylim=(0, 1), title="the discriminator")
for a in ax:
    a.legend(fontsize=8)
plt.tight_layout()

# %% [markdown]
# Where the generator puts too little mass D* rises above 1/2, where it puts too much D* falls
# below. The trained D follows D* where there is data; far from any data neither player has
# seen a sample, and D is whatever its last layer extrapolates.

# %% [markdown]
# ## The value of the game over training
#
# gankit logs the discriminator's loss, which is $-V(G, D)$ on each batch. Its negative should
# approach $-\log 4$ as the generator improves (it stays above it on average: the trained D is
# not D*, and batches are noisy).

# %%
rows = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
steps = [r["step"] for r in rows if "loss/D" in r]
value = [-r["loss/D"] for r in rows if "loss/D" in r]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(steps, value, label="V(G, D) = -(D's loss)")
ax.axhline(-math.log(4), color="red", ls="--", label="-log 4")
ax.set(xlabel="step", ylabel="V")
ax.legend()
print(
    f"V over the last fifth of training: {np.mean(value[-max(1, len(value) // 5) :]):.3f}; "
    f"-log 4 = {-math.log(4):.3f}"
)

# %% [markdown]
# With D* itself the value is $-\log 4 + 2\,\mathrm{JSD}$, so the gap says how far $p_g$ is
# from $p_\text{data}$. Computed here by numerical integration on the grid:

# %%
dx = xs[1] - xs[0]
pd = p_data(xs)
v_star = np.sum(pd * np.log(d_star + 1e-12) + p_g * np.log(1 - d_star + 1e-12)) * dx
print(f"V(G, D*) = {v_star:.3f}; JSD(p_data || p_g) = {(v_star + math.log(4)) / 2:.4f} nats")

# %% [markdown]
# **Try this.** Train for 300 steps instead of 3,000 and draw the same two plots: how far is
# V(G, D*) from -log 4, and where does D* differ most from 1/2? Then make the modes closer
# (`MEANS = np.array([-1.0, 1.0])`): does the generator still put mass between them?
