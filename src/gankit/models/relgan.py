"""RelGAN (Nie, Narodytska & Patel, ICLR 2019, "RelGAN: Relational Generative Adversarial Networks
for Text Generation").

The generator is a relational memory core (Santoro et al. 2018, "Relational recurrent neural
networks"): memory slots attend, by multi-head self-attention, to themselves and to the current
input, pass through an MLP, and are written back through LSTM-like input and forget gates. It is
pre-trained by maximum likelihood; in the adversarial phase it draws tokens by the Gumbel-max
trick and hands D the Gumbel-softmax relaxation softmax(beta * (o + g)) of each token, so D's
gradient reaches G without policy gradients. The inverse temperature beta rises from 1 to
beta_max along the paper's exponential schedule, beta_n = beta_max ** (n / N).

D is a CNN over the (soft) one-hot tokens times an embedding matrix, with S embedded
representations: the matrix holds S embeddings side by side, the same convolutions read each, and
each gives its own logit. The loss is the relativistic standard GAN's (RSGAN, Jolicoeur-Martineau
2019), -log sigmoid(D(real) - D(fake)) for D and the mirror image for G, as in the paper.

Sizes. The paper's oracle generator has 1 memory slot, 2 heads of 256 (memory 512) and its D 64
representations of 64 dimensions read by 4 x 300 filters. Measured on one CPU thread here
(batch 64, oracle: vocabulary 5,000, 20 tokens): an MLE step of G costs 0.68 s at head size 256
against 0.17 s at 64; the paper's D costs 8.4 s per D update and 5.4 s per G update, against
0.29 s and 0.33 s for 16 representations of 16 dimensions read by 4 x 64 filters. With the
paper's sizes one adversarial step (5 D updates) would take 47 s, so the defaults are the
smaller ones: heads of 64, D 16 x 16 with 64 filters per width. All are options.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models.base import ModelSpec
from gankit.models.seqgan import TEXT, TINY, Highway, TextDConfig, TextModel
from gankit.nn.sampling import draw
from gankit.options import option
from gankit.registry import register_model

PHASES = ("mle", "adversarial")


class RelationalMemory(nn.Module):
    """One step of a relational memory core: memory [N, slots, M] and an input [N, in_dim] give
    the new memory. M = heads * head_size."""

    def __init__(self, in_dim: int, slots: int, heads: int, head_size: int, forget_bias=1.0):
        super().__init__()
        self.slots, self.heads, self.head_size = slots, heads, head_size
        self.mem_size = M = heads * head_size
        self.forget_bias = forget_bias
        self.inp = nn.Linear(in_dim, M)  # the input becomes one more row beside the slots
        self.qkv = nn.Linear(M, 3 * M, bias=False)
        self.mlp = nn.Sequential(nn.Linear(M, M), nn.ReLU(), nn.Linear(M, M))
        self.norm1, self.norm2 = nn.LayerNorm(M), nn.LayerNorm(M)
        # input and forget gates, from the input and from tanh of the old memory (as an LSTM's
        # from x and h)
        self.gate_x, self.gate_m = nn.Linear(M, 2 * M), nn.Linear(M, 2 * M, bias=False)

    def initial(self, n: int, device=None) -> Tensor:
        """The starting memory [n, slots, M]: slot k one-hot at k (Santoro et al.'s identity),
        so slots start distinct."""
        eye = torch.eye(self.slots, self.mem_size, device=device)
        return eye.expand(n, -1, -1)

    def attend(self, memory: Tensor, x: Tensor) -> Tensor:
        """Multi-head attention of the slots over [slots; input], [N, slots, M]."""
        N, S, _ = memory.shape
        both = torch.cat([memory, x], 1)  # [N, S + 1, M]
        q, k, v = self.qkv(both).view(N, S + 1, 3, self.heads, self.head_size).unbind(2)
        q, k, v = (t.transpose(1, 2) for t in (q[:, :S], k, v))  # [N, h, rows, d]
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(self.head_size), -1)
        return (att @ v).transpose(1, 2).reshape(N, S, self.mem_size)

    def forward(self, x: Tensor, memory: Tensor) -> Tensor:
        x = self.inp(x)[:, None]  # [N, 1, M]
        m = self.norm1(memory + self.attend(memory, x))
        m = self.norm2(m + self.mlp(m))
        i, f = (self.gate_x(x) + self.gate_m(torch.tanh(memory))).chunk(2, -1)
        # |new| <= sigmoid(i) + sigmoid(f) |old|: the gates keep the memory bounded
        return torch.sigmoid(i) * torch.tanh(m) + torch.sigmoid(f + self.forget_bias) * memory


class RMCGenerator(nn.Module):
    """A language model over token ids on a relational memory core; a learnt start vector is
    its first input. The same interface as seqgan.LSTMGenerator (log_probs, sample), so
    TextModel samples and scores it."""

    def __init__(self, vocab_size: int, emb_dim: int, slots: int, heads: int, head_size: int):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_dim)
        self.start = nn.Parameter(torch.randn(emb_dim) * 0.1)
        self.core = RelationalMemory(emb_dim, slots, heads, head_size)
        self.out = nn.Linear(slots * self.core.mem_size, vocab_size)
        nn.init.normal_(self.emb.weight, std=0.1)  # as seqgan.LSTMGenerator, for the same reason

    def step(self, inp: Tensor, memory: Tensor) -> tuple[Tensor, Tensor]:
        """Next-token logits [N, V] and the new memory, from input [N, E] and memory."""
        memory = self.core(inp, memory)
        return self.out(memory.flatten(1)), memory

    def forward(self, x: Tensor) -> Tensor:
        """Teacher-forced next-token logits [N, T, V] of sequences x [N, T]."""
        N, T = x.shape
        inputs = torch.cat([self.start.expand(N, 1, -1), self.emb(x[:, :-1])], 1)
        memory, logits = self.core.initial(N, x.device), []
        for t in range(T):
            out, memory = self.step(inputs[:, t], memory)
            logits.append(out)
        return torch.stack(logits, 1)

    def log_probs(self, x: Tensor) -> Tensor:
        """log p(x_t | x_<t), [N, T]."""
        logits = self(x)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="none")
        return -nll.view_as(x)

    def sample(self, n: int, length: int, u: Tensor | None = None, temperature: float = 1.0):
        """n sequences [n, length]; uniforms u [n, length] pick the tokens by inverse CDF (the
        same u, the same text), else torch's global generator does."""
        if u is None:
            u = torch.rand(n, length, device=self.start.device)
        inp, memory, out = self.start.expand(n, -1), self.core.initial(n, u.device), []
        for t in range(length):
            logits, memory = self.step(inp, memory)
            out.append(draw(logits / temperature, u[:, t]))
            inp = self.emb(out[-1])
        return torch.stack(out, 1)

    def gumbel(self, n: int, length: int, beta: float) -> tuple[Tensor, Tensor]:
        """n sequences by the Gumbel-max trick: tokens [n, length] = argmax(o + g), which are
        draws from softmax(o) and are fed back as the next inputs, and their relaxations
        softmax(beta * (o + g)) [n, length, V], differentiable in G's weights."""
        inp, memory = self.start.expand(n, -1), self.core.initial(n, self.start.device)
        tokens, soft = [], []
        for _ in range(length):
            logits, memory = self.step(inp, memory)
            u = torch.rand_like(logits).clamp_(1e-10, 1.0)
            noisy = logits - torch.log(-torch.log(u) + 1e-10)
            tokens.append(noisy.argmax(1))
            soft.append(torch.softmax(beta * noisy, 1))
            inp = self.emb(tokens[-1])  # no gradient through the choice, as in the paper
        return torch.stack(tokens, 1), torch.stack(soft, 1)


class MultiRepCNN(nn.Module):
    """RelGAN's D: tokens (ids [N, T] or soft one-hots [N, T, V]) times an embedding matrix
    [V, reps * emb_dim] give `reps` embedded sequences; the same convolutions of several widths,
    max over time, a highway layer, dropout and a linear head give each one logit, [N, reps]."""

    def __init__(self, vocab_size, emb_dim, reps, widths, filters, dropout):
        super().__init__()
        self.reps, self.emb_dim = reps, emb_dim
        self.emb = nn.Parameter(torch.empty(vocab_size, reps * emb_dim).uniform_(-0.05, 0.05))
        self.convs = nn.ModuleList(
            nn.Conv1d(emb_dim, f, w) for w, f in zip(widths, filters, strict=True)
        )
        total = sum(filters)
        self.highway = Highway(total)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(total, 1)

    def forward(self, x: Tensor) -> Tensor:
        # ids look their rows up: the same as one-hots times the matrix, without the product
        e = F.embedding(x, self.emb) if x.dtype == torch.long else x @ self.emb  # [N, T, R * E]
        N, T, _ = e.shape
        e = e.view(N, T, self.reps, self.emb_dim).permute(0, 2, 3, 1)  # [N, R, E, T]
        e = e.reshape(N * self.reps, self.emb_dim, T)
        feats = torch.cat([F.relu(conv(e)).amax(2) for conv in self.convs], 1)
        return self.head(self.drop(self.highway(feats))).view(N, self.reps)


def rsgan_losses(real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
    """RSGAN's (D loss, G loss) from D's logits on paired real and fake rows:
    mean -log sigmoid(real - fake) and mean -log sigmoid(fake - real)."""
    diff = real - fake
    return F.softplus(-diff).mean(), F.softplus(diff).mean()


@dataclass
class RelGANConfig(TextDConfig):
    # lr_g (0.01) is the MLE phase's Adam; the adversarial phase has its own lrs (the paper's)
    mem_slots: int = option(1, min=1)
    heads: int = option(2, min=1)
    head_size: int = option(64, min=1)  # the paper's 256: see the module docstring
    # the schedule in train steps: MLE updates of G, then adversarial steps (one G update and
    # d_steps D updates each) until train.steps; beta anneals over the first adv_steps of them
    mle_steps: int = option(2000, min=0)
    adv_steps: int = option(1000, min=1)
    beta_max: float = option(100.0, min=1.0)  # the paper tries 1, 10, 100 and 1000
    d_steps: int = option(5, min=1)
    lr_adv_g: float = option(1e-4, above=0.0)
    d_emb_dim: int = option(16, min=1)  # the paper's 64
    d_reps: int = option(16, min=1)  # the paper's S = 64
    d_widths: list[int] = option([2, 3, 4, 5], min=1)
    d_filters: list[int] = option([64, 64, 64, 64], min=1)  # the paper's 300 each


@register_model(
    "relgan",
    config=RelGANConfig,
    spec=ModelSpec(
        **TEXT,
        # straight into the adversarial phase, so one step trains both G and D
        tiny=(
            *TINY,
            "model.mle_steps=0",
            "model.adv_steps=4",
            "model.heads=2",
            "model.head_size=4",
            "model.d_steps=1",
            "model.d_emb_dim=4",
            "model.d_reps=2",
            "model.d_widths=[2,3]",
            "model.d_filters=[4,4]",
        ),
    ),  # fmt: skip
)
class RelGAN(TextModel):
    """RelGAN (Nie et al. 2019): relational-memory G pre-trained by MLE, then trained through
    Gumbel-softmax against a multi-representation CNN D with the RSGAN loss."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        too_wide = [w for w in cfg.d_widths if not 1 <= w <= self.seq_len]
        if too_wide:
            raise ConfigError(
                f"model.d_widths {too_wide} do not fit sequences of {self.seq_len} tokens; give "
                f"widths from 1 to {self.seq_len}"
            )
        # TextModel made an LSTM G; RelGAN's G is the relational memory
        self.nets["G"] = RMCGenerator(
            self.vocab_size, cfg.emb_dim, cfg.mem_slots, cfg.heads, cfg.head_size
        )
        self.nets["D"] = MultiRepCNN(
            self.vocab_size, cfg.d_emb_dim, cfg.d_reps, cfg.d_widths, cfg.d_filters, cfg.d_dropout
        )

    @property
    def batches_per_step(self) -> int:
        return self.cfg.d_steps  # one real batch per D update; G's update reuses the first

    def configure_optimizers(self):
        G, D = self.nets["G"], self.nets["D"]
        return {
            "G": torch.optim.Adam(G.parameters(), lr=self.cfg.lr_g),
            "G_adv": torch.optim.Adam(G.parameters(), lr=self.cfg.lr_adv_g),
            "D": torch.optim.Adam(D.parameters(), lr=self.cfg.lr_d),
        }

    def phase_at(self, step: int) -> str:
        return "mle" if step < self.cfg.mle_steps else "adversarial"

    def beta_at(self, step: int) -> float:
        """The inverse temperature of the Gumbel-softmax at `step`: beta_max ** (n / N) after n
        of the N = adv_steps annealing steps (the paper's exponential schedule), then beta_max."""
        n = min(max(step - self.cfg.mle_steps, 0), self.cfg.adv_steps)
        return self.cfg.beta_max ** (n / self.cfg.adv_steps)

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        zero = torch.zeros((), device=batch.device)
        logs = {"loss/G": zero, "loss/D": zero, "loss/mle": zero, "beta": zero}
        real = batch.chunk(self.cfg.d_steps)
        phase = self.phase_at(step)
        if phase == "mle":
            logs["loss/mle"] = self.mle_step(real[0])
        else:
            beta = self.beta_at(step)
            logs["loss/G"] = self.g_step(real[0], beta)
            logs["loss/D"] = torch.stack([self.d_step(x, beta) for x in real]).mean()
            logs["beta"] = torch.tensor(beta)
        logs["phase"] = torch.tensor(float(PHASES.index(phase)))
        return logs

    def fakes(self, n: int, beta: float) -> Tensor:
        """Gumbel-softmax relaxations [n, T, V] of n fresh sequences, differentiable in G's
        weights; after a row's first `<eos>` they are one-hot padding, as real text is."""
        tokens, soft = self.nets["G"].gumbel(n, self.seq_len, beta)
        if self.eos_id is None:
            return soft
        pad = F.one_hot(torch.tensor(self.pad_id), self.vocab_size).to(soft)
        return torch.where(self.real_tokens(tokens)[..., None], soft, pad)

    def g_step(self, x_real: Tensor, beta: float) -> Tensor:
        """One update of G (the adversarial Adam) on the RSGAN loss of n fresh fakes against
        the real batch x_real [n, T]; D's weights get no gradient."""
        D = self.nets["D"]
        with torch.no_grad():  # a constant to G
            real = D(x_real)
        _, loss = rsgan_losses(real, D(self.fakes(x_real.shape[0], beta)))
        self.update(
            "G_adv", loss, inputs=list(self.nets["G"].parameters()), clip_norm=self.cfg.grad_clip
        )
        return loss.detach()

    def d_step(self, x_real: Tensor, beta: float) -> Tensor:
        """One D update: the RSGAN loss of the real batch against as many fresh fakes."""
        with torch.no_grad():
            fake = self.fakes(x_real.shape[0], beta)
        D = self.nets["D"]
        loss, _ = rsgan_losses(D(x_real), D(fake))
        self.update("D", loss, clip_norm=self.cfg.grad_clip)
        return loss.detach()
