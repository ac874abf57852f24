# %% [markdown]
# # 1. Generative and discriminative models
#
# A **discriminative** model learns what separates the classes: $p(C_k \mid x)$, the probability
# of each class given an input. A **generative** model learns what each class looks like,
# $p(x \mid C_k)$, and so can make new data. Bayes' rule links the two,
# $p(C_k \mid x) = p(x \mid C_k)\, p(C_k) / p(x)$, but learning one does not give you the other
# for free.
#
# A GAN holds one of each: the generator is the generative model, the discriminator a
# discriminative one (its two classes: real and generated). A **conditional** generator
# $G(z, C_k)$ makes $p(x \mid C_k)$ concrete: ask for a 7 and get a 7. Here a discriminative
# model, the MNIST classifier gankit ships, judges a conditional GAN.
#
# **What to look at:** the classifier's confidence on real digits, the generator's digits by
# class, and how often the classifier agrees with the class the generator was asked for.
# About four minutes on a laptop CPU.

# %% tags=["parameters"]
STEPS = 2000  # train steps of the conditional GAN (mnist-cdcgan trains 4,000: half, to stay short)
N_SAMPLES = 1000  # generated digits the classifier judges
SEED = 0

# %%
import tempfile

import matplotlib.pyplot as plt
import torch

import gankit
from gankit.metrics.classifier import load_classifier, predict

# %% [markdown]
# ## The discriminative model: p(C | x)
#
# The classifier was trained on MNIST's own training images (its record ships beside its
# weights). For each of eight held-out test digits, the class it finds most probable and how
# sure it is.

# %%
classifier = load_classifier("mnist")
out = tempfile.mkdtemp(prefix="gankit-course-cgan-")
trainer = gankit.train(
    "mnist-cdcgan",
    overrides=[
        f"train.steps={STEPS}",
        f"train.seed={SEED}",
        "train.progress=false",
        "train.report=false",
        "train.tensorboard=false",
        "train.metrics=[]",
    ],
    out=out,
)
real, labels = trainer.data.reference(8, "test")
logits, _ = predict(classifier, real)
probs = logits.softmax(1)

fig, ax = plt.subplots(1, 8, figsize=(12, 2))
for k in range(8):
    ax[k].imshow(real[k, 0], cmap="gray")
    c = int(probs[k].argmax())
    ax[k].set_title(f"p({c} | x) = {probs[k, c]:.2f}", fontsize=8)
    ax[k].axis("off")

# %% [markdown]
# ## The generative model: p(x | C)
#
# The conditional GAN (Mirza and Osindero 2014's idea, with DCGAN's convolutional nets: the
# `mnist-cdcgan` preset) was trained above on 4,000 MNIST digits with their labels. Each row
# asks it for one class.

# %%
model = trainer.model
per_class = 8
asked = torch.arange(10).repeat_interleave(per_class)
x = model.sample(len(asked), labels=asked, seed=SEED)
fig, ax = plt.subplots(10, per_class, figsize=(per_class, 10))
for k, a in enumerate(ax.flat):
    a.imshow(x[k].reshape(28, 28), cmap="gray")
    a.axis("off")

# %% [markdown]
# ## The discriminative model judges the generative one
#
# Generate digits of every class, let the classifier name them, and count how often it names
# the class the generator was asked for.

# %%
asked = torch.arange(N_SAMPLES) % 10
x = model.sample(N_SAMPLES, labels=asked, seed=SEED).reshape(-1, 1, 28, 28)
found = predict(classifier, x)[0].argmax(1)
confusion = torch.zeros(10, 10, dtype=torch.long)
confusion.index_put_((asked, found), torch.ones(N_SAMPLES, dtype=torch.long), accumulate=True)
print(
    f"the classifier agrees with the asked class for {float((found == asked).float().mean()):.1%}"
)
fig, ax = plt.subplots(figsize=(4.5, 4))
ax.imshow(confusion, cmap="Blues")
ax.set(
    xlabel="class the classifier finds",
    ylabel="class asked of G",
    xticks=range(10),
    yticks=range(10),
)

# %% [markdown]
# The diagonal is where G did what it was asked. Off the diagonal, look for pairs the
# generator confuses (4 and 9, 3 and 5, 7 and 9 are common): those are classes whose
# $p(x \mid C_k)$ overlap, which is exactly where a discriminative model has to work hardest too.
#
# **Try this.** Train for 500 steps instead of 2,000: how does the agreement change, and which
# classes come first? From the command line, `gankit train mnist-cdcgan` then
# `gankit eval RUN --metric class-acc` reports the same agreement (`class_acc`), and
# `gankit sample RUN --class 7 --n 64` draws sevens only.
