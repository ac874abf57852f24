# %% [markdown]
# # 10. Image-to-image translation: pix2pix and CycleGAN
#
# Many tasks turn one picture into another: edges into a photo, a map into an aerial view, a
# horse into a zebra. A conditional GAN does it by conditioning on the input image itself.
#
# **pix2pix** (Isola et al. 2017, "Image-to-Image Translation with Conditional Adversarial
# Networks") learns from **pairs** (a, b) of the same scene. A U-Net generator (an
# encoder-decoder whose skip connections carry fine detail straight across) maps a to G(a); a
# **PatchGAN** discriminator judges (input, output) pairs patch by patch, each of its outputs
# seeing a 70x70 window, so it judges texture and local sharpness. The generator minimises
#
# $$\mathcal{L}_G = \mathcal{L}_\text{cGAN}(G, D)
#   + \lambda\, \mathbb{E}_{a, b}\big[\lVert b - G(a) \rVert_1\big], \qquad \lambda = 100.$$
#
# The L1 term gets the layout right, but alone it gives the *average* of all plausible outputs:
# blur. The cGAN term rejects blur, because real images are not blurry.
#
# **CycleGAN** (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
# Adversarial Networks") needs **no pairs**, only two collections, A and B. Two generators,
# $G_{AB}$ and $G_{BA}$, each with its own discriminator, learn to make images that pass for
# the other domain. On its own that would allow any mapping at all onto B; the **cycle
# consistency** loss ties each image to its translation by asking that a round trip comes
# home:
#
# $$\mathcal{L}_\text{cyc} = \mathbb{E}_a\big[\lVert G_{BA}(G_{AB}(a)) - a \rVert_1\big]
#   + \mathbb{E}_b\big[\lVert G_{AB}(G_{BA}(b)) - b \rVert_1\big],$$
#
# weighted by $\lambda_\text{cyc} = 10$ (gankit also keeps the paper's identity loss and its
# pool of 50 past fakes for D, and uses least-squares GAN losses as the paper does).
#
# Here: pix2pix from Canny edges to MNIST digits (`edges2digits-pix2pix`), once with the cGAN
# term and once with L1 alone, then CycleGAN between MNIST and USPS digits
# (`mnist-usps-cyclegan`), which are written in different styles and never come in pairs.
# Both are **short runs** (the presets train 2,000 and 4,000 steps; CycleGAN's took 80
# minutes on one CPU core): enough to see each idea work, not the presets' final quality.
#
# **What to look at:** the input | output | target panels of pix2pix; how much sharper the
# outputs are with the cGAN term than with L1 alone (and how L1 prefers the blur); CycleGAN's
# round trips A -> B -> A, and whether the translated digit is still the same digit.
# About 4 CPU-minutes.

# %% tags=["parameters"]
STEPS = 400  # pix2pix train steps (each run); CycleGAN trains STEPS // 2 (a step costs ~6x more)
N_SAMPLES = 1000  # held-out test images scored
SEED = 0

# %%
import tempfile

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torchvision.utils import make_grid

import gankit
from gankit.metrics.classifier import accuracy, load_classifier
from gankit.metrics.translation import paired_scores, translate_all

QUIET = ["train.progress=false", "train.report=false", "train.tensorboard=false"]


def show(panels: torch.Tensor, title: str, nrow: int = 2) -> None:
    """Panels [N, 1, H, W] in [-1, 1] as one grid."""
    grid = make_grid(panels, nrow=nrow, padding=2, pad_value=1, normalize=True, value_range=(-1, 1))
    plt.figure(figsize=(3 * nrow, 0.8 * len(panels) / nrow + 0.6))
    plt.imshow(grid[0], cmap="gray")
    plt.title(title, fontsize=9)
    plt.axis("off")


# %% [markdown]
# ## pix2pix: edges to digits, with and without the cGAN term
#
# Two runs identical but for `model.gan_weight`: 1 is pix2pix ($\mathcal{L}_\text{cGAN} + 100
# \cdot L_1$), 0 drops the discriminator from G's loss (L1 alone). Each trains one thread
# (`train.threads=1`: these nets are small, and on a busy machine a second thread mostly
# waits).

# %%
pix = {}
for name, gan_weight in (("cGAN + L1", 1), ("L1 alone", 0)):
    pix[name] = gankit.train(
        "edges2digits-pix2pix",
        overrides=[
            f"model.gan_weight={gan_weight}",
            f"train.steps={STEPS}",
            f"train.seed={SEED}",
            "train.threads=1",
            *QUIET,
        ],
        out=tempfile.mkdtemp(prefix="gankit-course-pix2pix-"),
    )

# %% [markdown]
# `model.sample(z=pairs)` of a translator gives panels **input | output | target**; the inputs
# are Canny edges of MNIST test digits the model never trained on.

# %%
data = pix["cGAN + L1"].data
a, b = data.pairs(N_SAMPLES, "test")  # [N, 1, 32, 32] edges, digits
pairs = torch.cat([a[:8], b[:8]], 1)
for name, trainer in pix.items():
    show(trainer.model.sample(z=pairs), f"{name}: edges | G(edges) | real digit")

# %% [markdown]
# ## Scored
#
# Against the real digit: mean absolute error (L1, lower is closer), SSIM and PSNR (higher is
# closer). Those reward being close on average, so they favour blur. Sharpness is measured
# apart: the variance of the image's Laplacian (a second-derivative filter that responds to
# edges), as a fraction of the real digits'.

# %%
LAPLACE = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]])[None, None]


def sharpness(x: torch.Tensor) -> float:
    """Mean over images of the variance of the Laplacian."""
    return float(F.conv2d(x.float(), LAPLACE).flatten(1).var(1).mean())


for name, trainer in pix.items():
    fake = translate_all(trainer.model, a)
    s = paired_scores(fake, b)
    print(
        f"{name:10s} L1 {s['l1']:.3f}  SSIM {s['ssim']:.3f}  PSNR {s['psnr']:5.2f} dB  "
        f"sharpness / real {sharpness(fake) / sharpness(b):.2f}"
    )

# %% [markdown]
# The closeness scores of the two runs are near each other, and after a few hundred steps
# either may lead on one of them. Sharpness is where they part: with L1 alone, where G is
# unsure how thick a stroke is or where it ends, it paints the average of the possibilities,
# a grey smudge (look at the 4 and the 6 above), and its outputs have about half the
# Laplacian variance of real digits; the cGAN term rejects smudges, and its strokes come out
# clearly crisper, closer to real ones. The full 3,000-step ablation on Fashion-MNIST
# (`benchmarks/results/pix2pix.md`, with its picture `pix2pix_ablation.png`) finds the same:
# sharpness 0.91 of real with the cGAN term and 0.42 with L1 alone, L1 alone slightly ahead on
# L1, SSIM and PSNR, and a cGAN without L1 that is sharp but far from its targets.
#
# ## CycleGAN: MNIST and USPS, without pairs
#
# MNIST digits are thin and centred in a margin; USPS digits (the US Postal Service's, scanned
# from envelopes) are bold and fill their frame. The two sets share no images, so there is
# nothing for an L1 term to compare with: only the cycle holds the translations to their
# inputs.

# %%
cycle = gankit.train(
    "mnist-usps-cyclegan",
    overrides=[
        f"train.steps={max(1, STEPS // 2)}",
        f"train.seed={SEED}",
        "train.threads=1",
        *QUIET,
    ],
    out=tempfile.mkdtemp(prefix="gankit-course-cyclegan-"),
)

# %% [markdown]
# A CycleGAN's `sample(z=...)` gives two sets of rows: an MNIST digit | its USPS translation |
# back to MNIST, then a USPS digit | its MNIST translation | back to USPS.

# %%
mnist, usps = cycle.data.pairs(8, "test")  # 8 of each domain: unrelated images, not pairs
rows = cycle.model.sample(z=torch.cat([mnist, usps], 1))
show(rows[:8], "MNIST | -> USPS | -> back to MNIST")
show(rows[8:], "USPS | -> MNIST | -> back to USPS")

# %% [markdown]
# ## Is a translated digit still the same digit?
#
# No labels were used in training. gankit ships a classifier for each domain; if $G_{AB}$
# keeps the digit's identity, the USPS classifier should read an MNIST digit's translation as
# the digit it was. The untranslated digit, fed to the same classifier, is the baseline to
# beat; the round trip is judged by the digit's own domain's classifier.

# %%
x, y = cycle.data.domain("A").reference(N_SAMPLES, "test")  # MNIST test digits and labels
moved = translate_all(cycle.model, x, "AtoB")
back = translate_all(cycle.model, moved, "BtoA")
usps_clf, mnist_clf = load_classifier("usps"), load_classifier("mnist")
print(f"USPS classifier on the MNIST digits as they are: {accuracy(usps_clf, x, y):.1%}")
print(f"USPS classifier on their USPS translations:      {accuracy(usps_clf, moved, y):.1%}")
print(f"MNIST classifier after the round trip:           {accuracy(mnist_clf, back, y):.1%}")

# %% [markdown]
# The cycle loss is learnt first: the round trips come home early in training, and the
# MNIST classifier reads most of them correctly. The style change shows too: MNIST digits come
# out stretched to fill the frame and bolder, as USPS digits are, and USPS digits come out
# smaller and thinner. But after this short run the translations are still rough (speckles,
# broken strokes), and the USPS classifier reads *fewer* translated digits correctly than it
# reads untranslated ones: a round trip can come home even when the digit in between is
# damaged, because $G_{BA}$ learns to undo $G_{AB}$'s damage. The full 4,000-step run
# (`benchmarks/results/cyclegan_digits.md`) keeps the digit about as often as not translating
# at all (87% and 86% read correctly by the target classifier, against 87% and 86%
# untranslated) and brings 97% of round trips home: the style changes, the digit mostly
# survives, and some digits (a USPS 7, a 5) get turned into others, which the cycle cannot
# prevent as long as $G_{BA}$ can undo the change.
#
# From the command line, a trained run translates your own images of any size:
# `gankit translate RUN_DIR my_edges/ --out translated/` (`--direction BtoA` for CycleGAN's
# other generator).
#
# The lecture's last application, the Nightmare Machine (frightening faces and places from a
# GAN and style transfer), is notebook 14 (`14_nightmare_machine.py`): faces from a GAN and
# photos, made frightening by a learned style.
#
# **Try this.** Set `model.lambda_l1=0` on the pix2pix run (the cGAN alone): the digits stay
# sharp, but do they still follow their edges? Then train CycleGAN with
# `model.lambda_cycle=0` (and `model.lambda_identity=0`): nothing ties a translation to its
# input any more; what happens to the round trips and to the classifier's accuracy?
