# %% [markdown]
# # 2. Binary cross-entropy and the two players' objectives
#
# A discriminator D(x) gives the probability that x is real. It is trained as any binary
# classifier is, by **binary cross-entropy**
#
# $$H(p, y) = -\big(y \log p + (1 - y) \log(1 - p)\big),$$
#
# with y = 1 for real data and y = 0 for the generator's samples. Averaged over both, that is the
# discriminator's objective of the lecture (written as a loss to minimise):
#
# $$\mathcal{L}_D = -\,\mathbb{E}_{x \sim p_\text{data}}[\log D(x)]
#   - \mathbb{E}_{z \sim p_z}[\log(1 - D(G(z)))].$$
#
# The generator plays against it. In the **minimax** game it minimises
# $\mathbb{E}_z[\log(1 - D(G(z)))]$; in practice it maximises $\mathbb{E}_z[\log D(G(z))]$
# instead (the **non-saturating** loss). Both have the same fixed point; they differ in the
# gradient G gets when D wins easily, which is exactly the situation at the start of training.
#
# **What to look at:** the two losses' gradients against D(G(z)), and two short trainings that
# differ only in the generator's loss. About a minute on a laptop CPU.

# %% tags=["parameters"]
STEPS = 600  # train steps of each of the two runs below (about 20 s each)
SEED = 0

# %%
import tempfile

import matplotlib.pyplot as plt
import torch

import gankit
from gankit.losses import binary_cross_entropy, d_loss_bce, g_loss_minimax, g_loss_nonsaturating

# %% [markdown]
# ## The formulas, checked by hand
#
# gankit's losses take D's **logits** (the score before the sigmoid): log(sigmoid(x)) computed
# from the logit never underflows to log(0). Here they are against the formulas, on three
# made-up scores.

# %%
logits = torch.tensor([2.0, -1.0, 0.5])
p = torch.sigmoid(logits)
by_hand = -(1 * torch.log(p)).mean()  # all three labelled real (y = 1)
print("BCE, gankit:", float(binary_cross_entropy(logits, 1.0)), " by hand:", float(by_hand))

d_real, d_fake = torch.tensor([2.0, 1.0]), torch.tensor([-1.0, 0.0])
by_hand = -(torch.log(torch.sigmoid(d_real)).mean() + torch.log(1 - torch.sigmoid(d_fake)).mean())
print("D loss, gankit:", float(d_loss_bce(d_real, d_fake)), " by hand:", float(by_hand))
print(
    "G minimax:",
    float(g_loss_minimax(d_fake)),
    " by hand:",
    float(torch.log(1 - torch.sigmoid(d_fake)).mean()),
)
print(
    "G non-saturating:",
    float(g_loss_nonsaturating(d_fake)),
    " by hand:",
    float(-torch.log(torch.sigmoid(d_fake)).mean()),
)

# %% [markdown]
# ## Why the minimax generator loss saturates
#
# Early in training G's samples are poor and D rejects them: D(G(z)) is close to 0. Plot each
# generator loss and its gradient with respect to D's logit against D(G(z)).

# %%
x = torch.linspace(-8, 8, 400, requires_grad=True)  # D's logit on a fake sample
d = torch.sigmoid(x).detach()
grads = {}
for name, loss in (
    ("minimax: log(1 - D)", g_loss_minimax),
    ("non-saturating: -log D", g_loss_nonsaturating),
):
    (g,) = torch.autograd.grad(loss(x) * len(x), x)  # per-sample gradient (the loss is a mean)
    grads[name] = g

fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
ax[0].plot(d, torch.log(1 - d), label="minimax: log(1 - D)")
ax[0].plot(d, -torch.log(d), label="non-saturating: -log D")
ax[0].set(xlabel="D(G(z))", ylabel="generator loss", ylim=(-6, 6))
for name, g in grads.items():
    ax[1].plot(d, g.abs(), label=name)
ax[1].set(xlabel="D(G(z))", ylabel="|d loss / d logit|", yscale="log")
for a in ax:
    a.legend()
plt.tight_layout()

# %% [markdown]
# Where D rejects the fakes (left of each plot) the minimax loss is flat: its gradient goes to 0
# as D(G(z)) -> 0, so G learns nothing just when it has most to learn. The non-saturating loss
# has its largest gradient there.

# %%
at = d.sub(0.01).abs().argmin()
for name, g in grads.items():
    print(f"{name:26s} gradient at D(G(z)) = 0.01: {float(g[at].abs()):.3f}")

# %% [markdown]
# ## The same GAN with each generator loss
#
# Two runs on the 8-Gaussian ring, identical but for `model.loss`, with a strong discriminator
# (5 D steps for each G step), which is when saturation hurts most. Compare the modes found and
# the share of high-quality samples (within 3 standard deviations of a mode).

# %%
runs = {}
for loss in ("minimax", "nonsaturating"):
    out = tempfile.mkdtemp(prefix=f"gankit-course-{loss}-")
    trainer = gankit.train(
        "ring-gan",
        overrides=[
            f"model.loss={loss}",
            "model.d_steps=5",
            f"train.steps={STEPS}",
            f"train.seed={SEED}",
            "train.progress=false",
            "train.report=false",
            "train.tensorboard=false",
        ],
        out=out,
    )
    runs[loss] = trainer
    print(loss, trainer.results)

# %%
fig, ax = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
for a, (loss, trainer) in zip(ax, runs.items(), strict=True):
    s = trainer.model.sample(1000, seed=0)
    centers = torch.tensor(trainer.data.info()["centers"])
    a.scatter(s[:, 0], s[:, 1], s=2, alpha=0.4)
    a.scatter(centers[:, 0], centers[:, 1], c="red", marker="x")
    r = trainer.results
    a.set_title(f"{loss}: {r['eval/modes']:.0f} of 8 modes, {r['eval/hq_pct']:.1f}% HQ")
plt.tight_layout()

# %% [markdown]
# **Try this.** Set `STEPS` to 300 and run again: which loss gets off the ground first? Then
# train from the command line with `gankit train ring-gan --set model.loss=minimax` and open the
# run's `report.html`: the generator's loss curve shows the saturation too.
#
# The equilibrium value of the game is worked out in the next notebook, on a 1-D example.
