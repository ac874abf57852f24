# %% [markdown]
# # 14. The Nightmare Machine: haunted faces and places
#
# For Halloween 2016, Pinar Yanardag, Manuel Cebrian and Iyad Rahwan of the MIT Media Lab put
# the **Nightmare Machine** online (nightmare.mit.edu) to ask whether a machine can learn what
# frightens us. It showed two kinds of pictures: **haunted faces**, faces drawn by a GAN
# trained on photos of faces and then repainted in frightening styles, and **haunted
# places**, photos of famous landmarks repainted the same way; visitors voted on which ones
# scared them. The faces are the GAN half of the lecture; the repainting is **neural style
# transfer**, which this notebook explains first.
#
# **Style as Gram matrices** (Gatys, Ecker and Bethge 2016, "Image Style Transfer Using
# Convolutional Neural Networks"). Run an image through a trained convolutional network and
# take the features of layer $l$ as a matrix $F_l$ of $C$ channels by $HW$ positions. Its
# **Gram matrix**
#
# $$G_l = \frac{F_l F_l^\top}{C H W}, \qquad (G_l)_{ij} = \frac{1}{CHW}\sum_{p} F_{ip} F_{jp}$$
#
# says which channels fire together, averaged over all positions: *which* textures occur, and
# with what, but not *where*. That is what we call style. The style of a picture $x$ is far from
# that of a style image $s$ when their Gram matrices differ; gankit's style loss sums, over a
# few layers (fine cracks are seen low in the network, larger patterns higher up),
#
# $$\mathcal{L}_\text{style}(x) = \sum_l \frac{\lVert G_l(x) - G_l(s) \rVert^2}
#   {\lVert G_l(s) \rVert^2},$$
#
# relative to the style's own size, so each layer weighs alike and 1 is as far off as a black
# image. Gatys et al. keep the content by also matching one layer's features themselves
# ($\mathcal{L}_\text{content} = \lVert F_l(x) - F_l(c) \rVert^2$ for a content photo $c$), and
# make each picture by gradient descent on its **pixels**: hundreds of passes through the
# network for every image.
#
# **One pass per image** (Johnson, Alahi and Fei-Fei 2016, "Perceptual Losses for Real-Time
# Style Transfer and Super-Resolution"). Instead, train a feed-forward **style network**
# $f_W$ once, for one style, on many content images: minimise
# $\lambda_s \mathcal{L}_\text{style}(f_W(c)) + \lambda_c \mathcal{L}_\text{content}(f_W(c), c)$
# over $W$. Afterwards styling a new image is one forward pass of a small convolutional net
# (downsample, residual blocks, upsample): a fraction of a second, not minutes. Its
# normalisation layers are **instance norm** (Ulyanov, Vedaldi and Lempitsky 2016, "Instance
# Normalization: The Missing Ingredient for Fast Stylization"): each channel of each image is
# normalised by its own mean and variance, so the content image's contrast is discarded and
# the style's put in its place; with batch norm the results were clearly worse.
#
# gankit's version (`gankit nightmare`) reads the features from the Inception-v3 it already
# has for FID (so nothing is downloaded), not the papers' VGG (VGG-19 in Gatys et al., VGG-16
# in Johnson et al.), and its frightening style image is drawn from noise by gankit's own code
# (cracks, smoke, veins), so gankit owns it. A style network trained on it **ships with
# gankit**: it took 7.8 CPU-minutes to train, so here it is loaded, not trained (a short
# training at the end shows how the loss falls).
#
# **What to look at:** the tiny Gram example (moving pixels about keeps the Gram matrix); the
# style image; the GAN's faces and the photos before and after styling, and whether the face
# survives; the style loss before and after; the time per image; the style loss falling when a
# network starts to train. About 2 CPU-minutes.

# %% tags=["parameters"]
STEPS = 1500  # faces GAN train steps (as `gankit nightmare` trains); a style net trains STEPS // 25
N_FACES = 8  # GAN faces styled
SIZE = 256  # pixels: the faces' side, the photos' longer side
SEED = 0

# %%
import tempfile

import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid

import gankit
from gankit.nightmare import StyleTraining, gram, haunt, style_loss, train_style_net
from gankit.nightmare.haunt import (
    DEFAULT_STYLE,
    FACES_GAN,
    read_style_image,
    read_style_net,
    stylize,
)
from gankit.nightmare.training import PerceptualLoss

torch.set_num_threads(1)  # small nets: on a busy machine a second thread mostly waits
QUIET = ["train.progress=false", "train.report=false", "train.tensorboard=false"]


def show(images: torch.Tensor, title: str, nrow: int, width: float = 12) -> None:
    """uint8 images [N, 3, H, W] as one grid, `nrow` to a row."""
    grid = make_grid(images, nrow=nrow, padding=4, pad_value=255)
    plt.figure(figsize=(width, width * grid.shape[1] / grid.shape[2] + 0.4))
    plt.imshow(grid.permute(1, 2, 0))
    plt.title(title, fontsize=10)
    plt.axis("off")
    plt.show()


# %% [markdown]
# ## Style is which features fire together, not where
#
# A tiny worked example: "features" of 2 channels on a 2 x 2 grid. Channel 0 is on at two
# positions, channel 1 at two, and they overlap at one.

# %%
f = torch.tensor([[[1.0, 0.0], [2.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]]])[None]  # [1, C=2, 2, 2]
flat = f.reshape(2, 4)
print("features per channel (positions flattened):\n", flat)
print("by hand, F F^T / (C H W):\n", flat @ flat.T / (2 * 2 * 2))
print("gankit.nightmare.gram:\n", gram(f)[0])

# %% [markdown]
# Entry (0, 0) is channel 0's energy, (1 + 4) / 8; entry (0, 1) counts where both channels are
# on: only at the top-left position, 1 x 1 / 8. Now move the pixels about: the same values,
# at other positions, the same permutation for every channel. The features change, the Gram
# matrix does not; and a texture with other co-occurrences has another Gram matrix.

# %%
perm = torch.tensor([3, 0, 2, 1])  # new order of the 4 positions
moved = f.reshape(1, 2, 4)[..., perm].reshape(1, 2, 2, 2)
other = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[0.0, 1.0], [1.0, 0.0]]])[None]  # never both
target = {"layer": gram(f)}  # the "style image" is f itself
for name, x in (("f", f), ("f, pixels moved", moved), ("another texture", other)):
    print(
        f"{name:16s} features equal f: {bool(torch.equal(x, f))!s:5s}  "
        f"style loss against f: {style_loss({'layer': x}, target).item():.3f}"
    )
print(f"{'all zeros':16s} style loss against f: {style_loss({'layer': 0 * f}, target).item():.3f}")

# %% [markdown]
# The moved features are another picture with the same style: loss 0. "Another texture" has
# each channel just as strong as in f, but the two never fire at the same place: only the
# off-diagonal entry differs (0 instead of 1/8), and the loss sees it, if modestly (0.065). An
# all-black image, whose features are all zero, is at 1 by the loss's definition. That is all
# style transfer asks of a picture: the co-occurrence statistics of the style image, at the
# positions the content wants.
#
# ## The style, and the network that learned it
#
# The default style image of `gankit nightmare` (`src/gankit/nightmare/styles/nightmare.png`,
# drawn by `python -m gankit.nightmare.style_image`), and the record saved with the network
# trained on it.

# %%
style = read_style_image(DEFAULT_STYLE)  # uint8 [3, 512, 512]
plt.figure(figsize=(4, 4))
plt.imshow(style.permute(1, 2, 0))
plt.title("the style image", fontsize=10)
plt.axis("off")
plt.show()

net, info = read_style_net(None)  # None: the network shipped with gankit
t = info["training"]
print(f"{sum(p.numel() for p in net.parameters()):,} parameters")
print(
    f"trained {t['steps']} steps of {t['batch']} crops of {t['size']} px, style weight "
    f"{t['style_weight']} against content {t['content_weight']}: "
    f"{info['cpu_seconds'] / 60:.1f} CPU-minutes"
)
print("final losses:", info["final_losses"])

# %% [markdown]
# ## Haunted faces: a GAN's faces
#
# The GAN half: a small DCGAN on gankit's 100 LFW faces at 32 x 32 (`lfw-faces`, from
# scikit-image), with DiffAugment against the tiny data set, the settings `gankit nightmare`
# uses when it is given no faces run. At `STEPS = 1500` this is the very run it trains; it
# takes a bit over a CPU-minute.

# %%
faces_run = gankit.train(
    model="dcgan",
    data="lfw-faces",
    overrides=[*FACES_GAN, f"train.steps={STEPS}", f"train.seed={SEED}", "train.threads=1", *QUIET],
    out=tempfile.mkdtemp(prefix="gankit-course-faces-"),
)
real = faces_run.data.reference(N_FACES, "train")[0][:N_FACES]  # [N, 1, 32, 32] in [-1, 1]
fake = faces_run.model.sample(N_FACES, seed=SEED)
show(
    make_grid(torch.cat([real, fake]).clamp(-1, 1), nrow=N_FACES, normalize=True,
              value_range=(-1, 1), padding=0)[None].mul(255).byte(),
    "top: real LFW faces; bottom: the GAN's (32 x 32)", nrow=1, width=10,
)  # fmt: skip

# %% [markdown]
# `gankit.nightmare.haunt` does what the command does: it draws `N_FACES` faces from the run,
# upscales them to `SIZE` pixels (so the style's texture is finer than an eye), styles them
# with the shipped network, and does the same for three scikit-image photos the network never
# saw in training (the haunted places); it writes them all, with a page, into a new folder.

# %%
out = tempfile.mkdtemp(prefix="gankit-course-nightmare-")
haunted = haunt(
    out=f"{out}/haunted", faces=faces_run.run.path, n_faces=N_FACES, size=SIZE, seed=SEED
)
before = torch.stack([b for b, _ in haunted.faces])
after = torch.stack([a for _, a in haunted.faces])
half = max(1, N_FACES // 2)
for k in range(0, N_FACES, half):
    show(torch.cat([before[k : k + half], after[k : k + half]]), "the GAN's faces, then haunted",
         nrow=half)  # fmt: skip
print(f"{haunted.seconds_per_image:.2f} s per image (wall, one forward pass each)")

# %% [markdown]
# ## Haunted places
#
# scikit-image's `astronaut`, `rocket` and `coffee`, before and after.

# %%
for name, b, a in haunted.places:
    show(torch.stack([b, a]), name, nrow=2, width=10)

# %% [markdown]
# ## Is the style there? The style loss before and after
#
# The same loss the network was trained on (Inception blocks `conv`, `conv_2`, `conv_4`,
# `mixed_1`, the style image at 256 pixels), per image, before and after styling. Lower is
# closer to the style; 1 is a black image.

# %%
perceptual = PerceptualLoss(style, StyleTraining().style_size)


def loss_of(x: torch.Tensor) -> torch.Tensor:
    """Style loss per image of uint8 [N, 3, H, W]."""
    return perceptual.style(x.float() / 127.5 - 1)


print(f"{'':12s} {'before':>7s} {'after':>7s}")
s_before, s_after = loss_of(before), loss_of(after)
print(f"{'GAN faces':12s} {s_before.mean():7.3f} {s_after.mean():7.3f}   (mean of {N_FACES})")
for name, b, a in haunted.places:
    print(f"{name:12s} {loss_of(b[None]).item():7.3f} {loss_of(a[None]).item():7.3f}")

# %% [markdown]
# By this measure the styled pictures are about ten times closer to the style than the
# originals: the faces from about 1.2 to about 0.1, the photos from 0.65-0.93 to 0.06-0.10
# (`benchmarks/results/nightmare.md` measured the same on 64 GAN faces: 1.15 -> 0.11).
#
# The pictures say what the number cannot. The network keeps the layout, the dark eye
# sockets, nose and mouth of each face, the rocket's gantries, the cup's rims, and repaints
# the rest in the style's dark red: outlines become glowing veins, and the skin of the faces
# (and, more faintly, the sky and the table) is covered in the style image's web of cracks.
# The GAN's faces are soft (32 x 32 pixels, upscaled 8 times, from a GAN trained briefly on 100
# faces), which the style hides rather than fixes. Is a haunted face still a face? To the eye,
# yes; the benchmark asks a face detector that knows nothing of these losses, and it finds a
# face in 88% of 64 GAN faces before styling and 95% after at its lenient setting, but 62%
# and 44% at its strict one: the face survives, less crisply. Whether the pictures frighten
# anyone is the question the Nightmare Machine put to its visitors; no loss answers it.
#
# Speed is the point of the feed-forward network: one pass per picture, a fraction of a second
# for a 256-pixel image on one CPU thread (the line printed above; the benchmark's least times
# are 0.17-0.32 s). Gatys et al.'s method would run the loss network forwards and backwards
# hundreds of times for each picture.
#
# ## Training a style network: the first steps
#
# What the shipped network cost, in miniature: `train_style_net` trains a fresh network on the
# style image, with crops of scikit-image photos and LFW faces as content, for `STEPS // 25`
# steps (the shipped one had 1,000), recording each step's losses.

# %%
curve = []
young, young_info = train_style_net(
    style,
    StyleTraining(steps=max(2, STEPS // 25), seed=SEED),
    on_step=lambda step, parts: curve.append(parts),
)
fig, ax = plt.subplots(1, 2, figsize=(10, 3))
for a, key in zip(ax, ("style", "content"), strict=True):
    a.plot([c[key] for c in curve])
    a.set_xlabel("step")
    a.set_title(f"{key} loss (per batch)", fontsize=10)
ax[0].axhline(
    info["final_losses"]["style"], color="tab:red", ls=":", label="shipped net, 1,000 steps"
)
ax[0].legend()
plt.tight_layout()
plt.show()
print(f"{len(curve)} steps: {young_info['cpu_seconds']:.0f} CPU-seconds")
astronaut = haunted.places[0][1][None]
show(torch.cat([astronaut, stylize(young, astronaut), stylize(net, astronaut)]),
     f"astronaut; after {len(curve)} steps; after 1,000 steps (shipped)", nrow=3)  # fmt: skip

# %% [markdown]
# The style loss falls fast: from about 1.1 (as far from the style as a black image, whose
# loss is 1) to about 0.1 within these few dozen steps, not far above the shipped network's
# final 0.065, while the content loss, noisy from batch to batch, settles near 1 (the shipped
# network ends at 0.80). The young network's astronaut is already dark red with glowing
# outlines, but the face is fainter and the fine cracks are missing: the remaining 900-odd
# steps buy the details that keep eyes and mouths readable and draw the texture, at a cost of
# about 8 CPU-minutes, which is why the network ships trained.
#
# **Try this.** Make your own nightmare: `gankit nightmare --style your.png --photos
# my_photos/` trains a network on your style image (1,000 steps, about 8 CPU-minutes) and
# haunts your photos with it; add `--faces RUN` to reuse a faces GAN (the one trained here is
# in `faces_run.run.path`). Then, in Python, weigh style against content:
# `train_style_net(style, StyleTraining(style_weight=1))` and `style_weight=16`: at which
# weight do the faces stop being faces?
