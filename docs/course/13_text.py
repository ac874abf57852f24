# %% [markdown]
# # 13. Text: SeqGAN, quality against diversity
#
# The lecture's last applications write poetry and imitate an author. Text is a sequence of
# **discrete** tokens (characters or words), and that breaks the GAN recipe. An image GAN
# trains G through D: the gradient $\partial D(G(z)) / \partial \theta_G$ flows back through
# the pixels. A text generator's output is a token *drawn* from its softmax,
# $y_t \sim G_\theta(\cdot \mid y_{1:t-1})$, and a draw has no derivative: nudge $\theta$
# slightly and the same token comes out, so D's gradient with respect to the token tells G
# nothing it can follow.
#
# **SeqGAN** (Yu et al. 2017, "SeqGAN: Sequence Generative Adversarial Nets with Policy
# Gradient") treats G as a **policy** in reinforcement learning: the state is the text so far,
# the action the next token, and the reward D's probability that the finished sentence is
# real. REINFORCE needs only the log-probabilities of the tokens G chose:
#
# $$\nabla_\theta J = \mathbb{E}\Big[\sum_{t=1}^{T} Q(y_{1:t-1}, y_t)\,
#   \nabla_\theta \log G_\theta(y_t \mid y_{1:t-1})\Big].$$
#
# D only judges whole sentences, so the value $Q$ of a token in mid-sentence is estimated by
# **Monte Carlo rollouts**: finish the sentence $N$ times from there (with a slowly updated
# copy of G) and average D's scores. That is $N \times T$ extra generations per batch, which is
# why SeqGAN is slow. And a policy gradient from a random start would be hopeless, so G is
# first **pre-trained by maximum likelihood** (MLE: predict the next token of real text), and
# D pre-trained against it; the adversarial phase then fine-tunes.
#
# How to judge it? **BLEU** (Papineni et al. 2002) counts how many of a sample's n-grams
# appear in held-out real text: quality. But a model repeating one good line scores well, so
# **self-BLEU** (Zhu et al. 2018, Texygen) scores each sample against the *other* samples:
# high means they repeat each other, low means diverse. The two trade off, and a model's
# softmax **temperature** $\tau$ (sampling from $\mathrm{softmax}(\text{logits} / \tau)$) moves
# along that trade-off: Caccia et al. (2020, "Language GANs Falling Short") showed that MLE
# at a lower temperature often beats a text GAN on both at once. Finally, for real text nobody
# knows the true distribution; SeqGAN's **oracle** experiment makes one: a random LSTM is the
# "true" model, its samples are the data, and the oracle itself scores a generator's samples
# by their negative log-likelihood, $\mathrm{NLL}_\text{oracle}$.
#
# Here: SeqGAN on the lines of tiny Shakespeare (by character), a short MLE pre-training,
# then a **handful of adversarial steps** (the preset runs 2,000 and 30; an adversarial step
# costs about 5 CPU-seconds here, as much as 200 MLE steps); then an MLE generator on the
# oracle.
#
# **What to look at:** samples at three temperatures; the BLEU / self-BLEU plot, where MLE at
# each temperature and SeqGAN each land; the oracle NLL of the MLE generator against that of
# the oracle's own samples. About 4 CPU-minutes.

# %% tags=["parameters"]
STEPS = 1500  # MLE pre-training steps (Shakespeare); the oracle's MLE trains STEPS // 2
ADV_STEPS = 12  # adversarial SeqGAN steps after it (8 rollouts per token, ~5 CPU-s each)
N_SAMPLES = 500  # generated sentences scored (BLEU, self-BLEU, oracle NLL)
TEMPERATURES = [0.7, 1.0, 1.3]
SEED = 0

# %%
import json
import tempfile

import matplotlib.pyplot as plt
import torch

import gankit
from gankit.data.text import decode_text
from gankit.metrics.text import bleu, self_bleu_metric

QUIET = ["train.progress=false", "train.report=false", "train.tensorboard=false"]
D_PRETRAIN = 2 * ADV_STEPS  # D's pre-training steps, 5 updates each (the preset: 50)

# %% [markdown]
# ## Step 1: maximum likelihood
#
# The `shakespeare-seqgan` preset (an LSTM with 128 units, by character, one line of the
# plays per sample) is stopped at the end of its MLE phase: `train.steps` = `mle_steps`.

# %%
out = tempfile.mkdtemp(prefix="gankit-course-seqgan-")
mle = gankit.train(
    "shakespeare-seqgan",
    overrides=[
        f"model.mle_steps={STEPS}",
        f"model.d_pretrain_steps={D_PRETRAIN}",
        f"train.steps={STEPS}",
        "train.metrics=[nll-test]",
        "train.log_every=1",  # every step in metrics.jsonl: the adversarial ones are few
        f"train.seed={SEED}",
        "train.threads=1",
        *QUIET,
    ],
    out=out,
)
data, info = mle.data, mle.data.info()
print(f"test NLL after MLE: {mle.results['eval/nll_test']:.3f} nats per character")

# %% [markdown]
# ## Samples at three temperatures
#
# Below 1 the softmax sharpens (the likeliest characters win more often), above 1 it flattens.

# %%
for t in TEMPERATURES:
    print(f"--- temperature {t}")
    for line in decode_text(mle.model.sample(6, seed=SEED, temperature=t), info):
        print("   ", line)

# %% [markdown]
# ## Quality and diversity: BLEU against self-BLEU
#
# BLEU-3 of `N_SAMPLES` generated lines against held-out lines of the plays, and self-BLEU-3
# of the same lines among themselves (words split at spaces; gankit's `bleu` and `self-bleu`
# metrics, also `gankit eval RUN --metric bleu --metric self-bleu`).


# %%
def scores(model, t: float) -> tuple[float, float]:
    """(BLEU-3, self-BLEU-3) of N_SAMPLES lines at temperature t."""
    q = bleu(model, data, n=N_SAMPLES, seed=SEED, temperature=t)["bleu3"]
    d = self_bleu_metric(model, data, n=N_SAMPLES, seed=SEED, temperature=t)["self_bleu3"]
    return q, d


points = {f"MLE, T={t}": scores(mle.model, t) for t in TEMPERATURES}
for name, (q, d) in points.items():
    print(f"{name:14s} BLEU-3 {q:.3f}  self-BLEU-3 {d:.3f}")

# %% [markdown]
# ## Step 2: the adversarial phase
#
# The same run, resumed (`gankit.resume`, exactly where it stopped) and taken on through the
# rest of SeqGAN's schedule: D pre-trained for `D_PRETRAIN` steps against G's samples, then
# `ADV_STEPS` policy-gradient updates of G, each followed by 5 updates of D.

# %%
seqgan = gankit.resume(out, steps=STEPS + D_PRETRAIN + ADV_STEPS)
rows = [json.loads(line) for line in open(seqgan.run.path / "metrics.jsonl")]
adv = [r for r in rows if r.get("phase") == 2]  # phase 2 = adversarial
print(f"test NLL after SeqGAN: {seqgan.results['eval/nll_test']:.3f} nats per character")
print("mean reward D gave G's sentences, per adversarial step:")
print(" ".join(f"{r['reward']:.2f}" for r in adv))
for line in decode_text(seqgan.model.sample(6, seed=SEED), info):
    print("   ", line)

# %%
points["SeqGAN, T=1.0"] = scores(seqgan.model, 1.0)
fig, ax = plt.subplots(figsize=(5.5, 4))
for name, (q, d) in points.items():
    ax.scatter(d, q, c="tab:red" if "SeqGAN" in name else "tab:blue")
    ax.annotate(name, (d, q), fontsize=8, xytext=(4, 4), textcoords="offset points")
ax.set(xlabel="self-BLEU-3 (lower = more diverse)", ylabel="BLEU-3 (higher = closer to the plays)")
ax.set_title("quality against diversity", fontsize=10)
print(f"SeqGAN, T=1.0 BLEU-3 {points['SeqGAN, T=1.0'][0]:.3f}", end="")
print(f"  self-BLEU-3 {points['SeqGAN, T=1.0'][1]:.3f}")

# %% [markdown]
# The MLE points trace a curve: lower temperature, higher BLEU and higher self-BLEU. A text
# GAN is better than MLE only if it lands **above and to the left** of that curve, and judging
# it at one temperature against MLE at another is the mistake Caccia et al. warned about.
#
# A dozen adversarial steps are enough to move the generator a long way, and here not for
# the better: SeqGAN's point lies below the MLE curve (lower BLEU than MLE at any of the
# three temperatures, at a self-BLEU that MLE matches between T = 1 and T = 1.3), the test
# NLL has risen by about a nat per character, and the samples have picked up fragments
# ("tooke" and the like) that recur from line to line. The rewards tell the story: they
# rose while G learnt what the D of the moment liked, then fell as D learnt to reject it.
# A policy gradient follows whatever D rewards, and D is only a small CNN trained for a
# few steps. With the presets'
# full schedules (`benchmarks/results/text_corpora.md`), SeqGAN ends with lower BLEU and
# higher self-BLEU than MLE at the same temperature, T = 1, on both Shakespeare and Chinese
# poems: MLE is better on both counts.
#
# ## The oracle: a judge that knows the truth
#
# The `oracle` data set is SeqGAN's: an LSTM with random weights (vocabulary 5,000,
# sequences of 20 tokens) is the true distribution; 10,000 of its samples are the training
# set. Because the oracle is known, $\mathrm{NLL}_\text{oracle} = -\frac{1}{T}\,
# \mathbb{E}_{y \sim G}\big[\log p_\text{oracle}(y)\big]$ says how likely the *truth* finds
# the generator's samples: lower is better.

# %%
oracle = gankit.train(
    "oracle-mle",
    overrides=[
        f"train.steps={max(1, STEPS // 2)}",
        f"train.eval_every={max(1, STEPS // 8)}",
        f"train.n_samples={N_SAMPLES}",
        f"train.seed={SEED}",
        "train.threads=1",
        *QUIET,
    ],
    out=tempfile.mkdtemp(prefix="gankit-course-oracle-"),
)
truth = oracle.data.oracle  # the oracle LSTM
real = oracle.data.reference(N_SAMPLES, "test")[0]
own = truth.nll(real)  # what a perfect generator would score
uniform = truth.nll(torch.randint(0, len(oracle.data.info()["vocab"]), real.shape))
curve = [
    (r["step"], r["eval/nll_oracle"])
    for r in map(json.loads, open(oracle.run.path / "metrics.jsonl"))
    if "eval/nll_oracle" in r
]
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(*zip(*curve, strict=True), "o-", label="MLE generator")
ax.axhline(own, color="green", ls="--", label="the oracle's own samples")
ax.axhline(uniform, color="gray", ls=":", label="tokens uniformly at random")
ax.set(xlabel="MLE step", ylabel="NLL_oracle (nats per token)")
ax.legend(fontsize=8)
print(
    f"oracle's own {own:.2f}, uniform {uniform:.2f}, MLE at step {curve[-1][0]}: {curve[-1][1]:.2f}"
)

# %% [markdown]
# The MLE generator comes down slowly from near the uniform line as it learns, and is still far
# above the oracle's own samples, which show what a perfect generator would score. One
# caution: $\mathrm{NLL}_\text{oracle}$ rewards likely samples, not diverse ones, so a
# generator that wrote only the oracle's few likeliest sequences would score *below* the
# oracle's own samples. Like BLEU, it needs a diversity measure beside it. In the
# paper, SeqGAN's adversarial phase takes a pre-trained generator from 9.04 down to 8.74;
# gankit's oracle benchmark (`benchmarks/results/seqgan_oracle.md`, `oracle-seqgan`: 3,000 MLE
# steps and 100 adversarial) finds 9.11 after MLE and 8.98 after SeqGAN, averaged over three
# seeds: the adversarial phase helps a little, at twice the CPU time.
#
# **Try this.** Sample the Shakespeare generator at $\tau = 0.3$ and $\tau = 2$: what does
# each extreme do to BLEU and to self-BLEU? Then train the paper's own experiment on Chinese
# quatrains: `gankit train chinese-poems-seqgan` (an hour or so on a CPU), and compare
# `gankit sample RUN --n 8 --temperature 0.8` with the `chinese-poems-mle` preset.
