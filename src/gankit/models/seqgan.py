"""SeqGAN (Yu et al. 2017, "SeqGAN: Sequence Generative Adversarial Nets with Policy Gradient").

The generator is an LSTM language model, first trained by maximum likelihood; it is then a policy
whose reward per token is D's probability of "real" averaged over Monte Carlo rollouts that finish
the sequence (drawn by a delayed copy of G). D is a CNN over token embeddings with several filter
widths, a highway layer and dropout, retrained throughout on freshly generated negatives.

`text-mle` is the same generator with maximum likelihood only: the baseline a text GAN must beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gankit.data.text import EOS, PAD
from gankit.errors import ConfigError
from gankit.models.base import GANModel, ModelSpec, eval_mode
from gankit.nn.sampling import draw
from gankit.options import Named, option
from gankit.registry import register_model

PHASES = ("mle", "d-pretrain", "adversarial")


class LSTMGenerator(nn.Module):
    """An LSTM language model over token ids; a learnt start vector is its first input."""

    def __init__(self, vocab_size: int, emb_dim: int, hidden_dim: int):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_dim)
        self.start = nn.Parameter(torch.randn(emb_dim) * 0.1)
        self.lstm = nn.LSTM(emb_dim, hidden_dim, batch_first=True)
        self.out = nn.Linear(hidden_dim, vocab_size)
        # N(0, 0.1^2) embeddings as in the SeqGAN authors' code: with torch's N(0, 1) default,
        # MLE on the oracle was markedly slower here (NLL_oracle 9.68 against 9.39 at step 1,000)
        nn.init.normal_(self.emb.weight, std=0.1)

    def inputs(self, x: Tensor) -> Tensor:
        """The inputs that predict x [N, T]: start, x_0, ..., x_{T-2} embedded, [N, T, E]."""
        start = self.start.expand(x.shape[0], 1, -1)
        return torch.cat([start, self.emb(x[:, :-1])], 1)

    def forward(self, x: Tensor) -> Tensor:
        """Teacher-forced next-token logits [N, T, V] of sequences x [N, T]."""
        return self.out(self.lstm(self.inputs(x))[0])

    def log_probs(self, x: Tensor) -> Tensor:
        """log p(x_t | x_<t), [N, T]."""
        logits = self(x)
        # [N * T, V] rows: cross_entropy is twice as fast on them as on [N, V, T]
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x.reshape(-1), reduction="none")
        return -nll.view_as(x)

    def states(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The state (h, c), each [T, N, H], from which token t of x [N, T] is drawn."""
        inp = self.inputs(x)
        hs, cs, state = [], [], None
        for t in range(x.shape[1]):
            _, state = self.lstm(inp[:, t : t + 1], state)
            hs.append(state[0][0])
            cs.append(state[1][0])
        return torch.stack(hs), torch.stack(cs)

    def generate(
        self,
        h: Tensor,
        c: Tensor,
        steps: int,
        u: Tensor | None = None,
        temperature: float = 1.0,
        stop: int | None = None,
    ) -> Tensor:
        """Draws `steps` tokens [N, steps] from state h, c [N, H] (h gives the first token's
        logits). Uniforms u [N, steps] pick tokens by inverse CDF, so a fixed u gives the same
        text from the same weights; without u they come from torch's global generator.

        `stop` (the `<eos>` id): once every row has drawn it, the remaining tokens are `stop`
        without running the LSTM. What follows a row's `<eos>` becomes padding anyway, and u is
        drawn in full up front, so the result after padding and torch's generator are the same
        as without `stop`; text shorter than max_len is then generated in its own length."""
        if u is None:
            u = torch.rand(h.shape[0], steps, device=h.device)
        state = (h[None], c[None])
        out = []
        done = torch.zeros(h.shape[0], dtype=torch.bool, device=h.device)
        for k in range(steps):
            token = draw(self.out(state[0][0]) / temperature, u[:, k])  # [N]
            out.append(token)
            if stop is not None:
                done |= token == stop
                if bool(done.all()):
                    out += [torch.full_like(token, stop)] * (steps - k - 1)
                    break
            if k + 1 < steps:
                _, state = self.lstm(self.emb(token[:, None]), state)
        return torch.stack(out, 1)

    def sample(self, n: int, length: int, u: Tensor | None = None, temperature: float = 1.0):
        """n sequences [n, length] from scratch."""
        hidden = self.lstm.hidden_size
        zeros = torch.zeros(1, n, hidden, device=self.start.device)
        _, (h, c) = self.lstm(self.start.expand(n, 1, -1), (zeros, zeros))
        return self.generate(h[0], c[0], length, u, temperature)


class Highway(nn.Module):
    """y = t * relu(W x) + (1 - t) * x, t = sigmoid(W_t x) (Srivastava et al. 2015)."""

    def __init__(self, dim: int):
        super().__init__()
        self.proj, self.gate = nn.Linear(dim, dim), nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        t = torch.sigmoid(self.gate(x))
        return t * F.relu(self.proj(x)) + (1 - t) * x


class CNNDiscriminator(nn.Module):
    """Embeddings -> convolutions of several widths, max over time -> highway -> dropout -> one
    logit per sequence (SeqGAN's D, after Kim 2014 and Zhang & LeCun 2015)."""

    def __init__(
        self, vocab_size: int, emb_dim: int, widths: list[int], filters: list[int], dropout: float
    ):
        super().__init__()
        self.emb = nn.Embedding(vocab_size, emb_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(emb_dim, f, w) for w, f in zip(widths, filters, strict=True)
        )
        total = sum(filters)
        self.highway = Highway(total)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(total, 1)

    def forward(self, x: Tensor) -> Tensor:
        """Logits [N] of "real" for sequences x [N, T]."""
        e = self.emb(x).transpose(1, 2)  # [N, E, T]
        feats = torch.cat([F.relu(conv(e)).amax(2) for conv in self.convs], 1)
        return self.head(self.drop(self.highway(feats)))[:, 0]


@dataclass
class TextMLEConfig(Named):
    emb_dim: int = option(32, min=1)
    hidden_dim: int = option(32, min=1)
    lr_g: float = option(0.01, above=0.0)  # Adam, as the SeqGAN authors' code
    grad_clip: float = option(5.0, above=0.0)  # global gradient-norm clip of G's updates


class TextModel(GANModel):
    """A token-sequence generator: data shape (max_len,) of ids; sampling's "noise" is the
    uniforms [n, max_len] that pick each token, so snapshots of fixed noise are comparable."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        vocab = self.data_info.get("vocab", [])
        if len(self.data_shape) != 1 or not vocab:
            raise ConfigError(
                f"model {cfg.name!r} needs text data (token ids with a vocabulary), e.g. "
                "--data oracle, chinese-poems, shakespeare or a .txt file"
            )
        self.vocab_size = vocab_size = len(vocab)
        self.eos_id = vocab.index(EOS) if EOS in vocab else None  # None: fixed-length data
        self.pad_id = vocab.index(PAD) if PAD in vocab else None
        self.nets["G"] = LSTMGenerator(vocab_size, cfg.emb_dim, cfg.hidden_dim)

    @property
    def seq_len(self) -> int:
        return self.data_shape[0]

    @property
    def z_dim(self) -> int:
        return self.seq_len

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return torch.rand(n, self.seq_len, generator=generator).to(self.device)

    @torch.no_grad()
    def sample(
        self,
        n: int | None = None,
        z: Tensor | None = None,
        seed: int | None = None,
        labels: Tensor | None = None,
        temperature: float = 1.0,
    ) -> Tensor:
        """Token ids [n, max_len]; temperature < 1 sharpens G's softmax, > 1 flattens it."""
        if temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        z = self.noise_or(z, n, seed)
        with eval_mode(self.nets[self.sampler]) as G:
            return G.sample(z.shape[0], self.seq_len, z.to(self.device), temperature)

    @torch.no_grad()
    def nll(self, x: Tensor, chunk: int = 1000) -> float:
        """G's mean per-token NLL (nats) of sequences x [N, T]; when the vocabulary has `<eos>`,
        tokens after the first `<eos>` (padding) are not counted."""
        total, count = 0.0, 0
        for part in x.to(self.device).split(chunk):
            nll = -self.nets["G"].log_probs(part)
            mask = self.real_tokens(part)
            total += float(nll[mask].sum())
            count += int(mask.sum())
        return total / max(count, 1)

    def real_tokens(self, x: Tensor) -> Tensor:
        """Bool [N, T]: the tokens of x [N, T] up to and including each row's first `<eos>`;
        the padding after it is no text. All of them for fixed-length data (no `<eos>`)."""
        if self.eos_id is None:
            return torch.ones_like(x, dtype=torch.bool)
        eos = (x == self.eos_id).long()
        return eos.cumsum(1) - eos == 0

    def token_mean(self, values: Tensor, x: Tensor) -> Tensor:
        """The mean of values [N, T] over the real tokens of x [N, T]; for fixed-length data
        the plain mean, bit for bit (the oracle benchmark's numbers stay as they were)."""
        if self.eos_id is None:
            return values.mean()
        mask = self.real_tokens(x)
        return values[mask].sum() / mask.sum()

    def pad_after_eos(self, x: Tensor) -> Tensor:
        """Generated x [N, T] with the tokens after each row's first `<eos>` made padding, as
        in real text: G is not trained on padding, and D must not tell real from fake by it."""
        if self.eos_id is None:
            return x
        return x.masked_fill(~self.real_tokens(x), self.pad_id)

    def mle_step(self, x: Tensor) -> Tensor:
        """One maximum-likelihood update of G on real sequences x [N, T]; returns the mean NLL
        per real token (padding after `<eos>` neither trained on nor counted)."""
        loss = -self.token_mean(self.nets["G"].log_probs(x), x)
        self.update("G", loss, clip_norm=self.cfg.grad_clip)
        return loss.detach()


TINY = ("model.emb_dim=8", "model.hidden_dim=8")
TEXT = dict(data_kind="text", default_data="oracle", sample_options=("temperature",))


@register_model("text-mle", config=TextMLEConfig, spec=ModelSpec(**TEXT, tiny=TINY))
class TextMLE(TextModel):
    """An LSTM language model trained by maximum likelihood: the baseline of text GANs."""

    def configure_optimizers(self):
        return {"G": torch.optim.Adam(self.nets["G"].parameters(), lr=self.cfg.lr_g)}

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        return {"loss/G": self.mle_step(batch)}


@dataclass
class TextDConfig(TextMLEConfig):
    """A text GAN's options for its CNN D over token embeddings (SeqGAN's sizes; RelGAN sets
    its own)."""

    lr_d: float = option(1e-4, above=0.0)
    d_emb_dim: int = option(64, min=1)
    d_widths: list[int] = option([2, 3, 4, 5, 8, 10, 15, 20], min=1)
    d_filters: list[int] = option([64, 64, 64, 64, 32, 32, 32, 32], min=1)
    d_dropout: float = option(0.25, min=0.0, below=1.0)

    def validate(self) -> None:
        if len(self.d_widths) != len(self.d_filters) or not self.d_widths:
            raise ConfigError(
                f"model.d_widths ({len(self.d_widths)}) and model.d_filters "
                f"({len(self.d_filters)}) must be non-empty lists of the same length"
            )


@dataclass
class SeqGANConfig(TextDConfig):
    # the phase schedule, in train steps: MLE updates of G, then D updates, then adversarial
    # steps (each one policy-gradient update of G and d_steps updates of D) until train.steps
    mle_steps: int = option(2000, min=0)
    d_pretrain_steps: int = option(200, min=0)  # each d_steps D updates on fresh negatives
    d_steps: int = option(5, min=1)  # D updates (a real batch + fresh fakes each) per step
    rollouts: int = option(16, min=1)  # Monte Carlo rollouts per token for the reward
    # rollouts from every k-th prefix only (prefixes of k, 2k, ... tokens), each token rewarded
    # by the next prefix rolled out: k times fewer rollouts and D calls, whose cost grows with
    # the square of the length. 0 = auto: 1 (every prefix, the paper's) up to 32 tokens, else
    # ceil(max_len / 16): about 16 rolled-out prefixes, so a step at 64 tokens costs about what
    # one at 32 does, and longer lines cost in proportion to their length
    rollout_stride: int = option(0, min=0)
    # subtract each position's mean reward over the batch (a baseline: the same expected
    # gradient, less variance); off in the paper and the authors' code
    reward_baseline: bool = False
    lr_adv: float = option(0.0, min=0.0)  # Adam lr of the policy-gradient updates; 0 = lr_g
    # rollout net <- r * rollout + (1 - r) * G after each G update
    rollout_update: float = option(0.8, min=0.0, below=1.0)


@register_model(
    "seqgan",
    config=SeqGANConfig,
    spec=ModelSpec(
        **TEXT,
        # straight into the adversarial phase, so one step trains both G and D
        tiny=(
            *TINY,
            "model.mle_steps=0",
            "model.d_pretrain_steps=0",
            "model.d_steps=1",
            "model.rollouts=2",
            "model.d_emb_dim=8",
            "model.d_widths=[2,3]",
            "model.d_filters=[4,4]",
        ),
    ),  # fmt: skip
)
class SeqGAN(TextModel):
    """SeqGAN (Yu et al. 2017): LSTM G pre-trained by MLE, then trained by policy gradient with
    Monte Carlo rollout rewards from a CNN D."""

    def __init__(self, cfg, data_shape, num_classes=0, data_info=None, engine=None):
        super().__init__(cfg, data_shape, num_classes, data_info, engine)
        vocab_size = self.vocab_size
        too_wide = [w for w in cfg.d_widths if not 1 <= w <= self.seq_len]
        if too_wide:
            raise ConfigError(
                f"model.d_widths {too_wide} do not fit sequences of {self.seq_len} tokens; give "
                f"widths from 1 to {self.seq_len}"
            )
        self.nets["D"] = CNNDiscriminator(
            vocab_size, cfg.d_emb_dim, cfg.d_widths, cfg.d_filters, cfg.d_dropout
        )
        # the delayed copy of G that finishes sequences for the rewards; copied from G when the
        # adversarial phase starts, kept in `nets` so checkpoints restore it
        rollout = LSTMGenerator(vocab_size, cfg.emb_dim, cfg.hidden_dim).requires_grad_(False)
        self.nets["G_rollout"] = rollout

    @property
    def batches_per_step(self) -> int:
        # the Trainer hands every step d_steps real batches: what a D-training step consumes
        # (an MLE step uses the first)
        return self.cfg.d_steps

    def configure_optimizers(self):
        G, D = self.nets["G"], self.nets["D"]
        return {
            "G": torch.optim.Adam(G.parameters(), lr=self.cfg.lr_g),
            # a fresh Adam for the policy gradient, as the authors' code keeps two
            "G_adv": torch.optim.Adam(G.parameters(), lr=self.cfg.lr_adv or self.cfg.lr_g),
            "D": torch.optim.Adam(D.parameters(), lr=self.cfg.lr_d),
        }

    def phase_at(self, step: int) -> str:
        """The phase of SeqGAN's schedule at `step`: mle, d-pretrain or adversarial."""
        if step < self.cfg.mle_steps:
            return "mle"
        if step < self.cfg.mle_steps + self.cfg.d_pretrain_steps:
            return "d-pretrain"
        return "adversarial"

    def train_step(self, batch: Tensor, step: int) -> dict[str, Tensor]:
        phase = self.phase_at(step)
        zero = torch.zeros((), device=batch.device)
        logs = {"loss/G": zero, "loss/D": zero, "loss/mle": zero, "reward": zero}
        real = batch.chunk(self.cfg.d_steps)
        if phase == "mle":
            logs["loss/mle"] = self.mle_step(real[0])
        if phase == "adversarial":
            if step == self.cfg.mle_steps + self.cfg.d_pretrain_steps:
                self.nets["G_rollout"].load_state_dict(self.nets["G"].state_dict())
            logs["loss/G"], logs["reward"] = self.policy_gradient_step(real[0].shape[0])
            self.update_rollout()
        if phase != "mle":
            logs["loss/D"] = torch.stack([self.d_step(x) for x in real]).mean()
        logs["phase"] = torch.tensor(float(PHASES.index(phase)))
        return logs

    def fakes(self, n: int) -> Tensor:
        with torch.no_grad():
            return self.pad_after_eos(self.nets["G"].sample(n, self.seq_len))

    def d_step(self, x_real: Tensor) -> Tensor:
        """One D update on real sequences and as many freshly generated ones (BCE)."""
        D = self.nets["D"]
        x = torch.cat([x_real, self.fakes(x_real.shape[0])])
        target = torch.cat([torch.ones(x_real.shape[0]), torch.zeros(x_real.shape[0])])
        loss = F.binary_cross_entropy_with_logits(D(x), target.to(x.device))
        self.update("D", loss)
        return loss.detach()

    @property
    def rollout_stride(self) -> int:
        """model.rollout_stride, with 0 (auto) resolved for this max_len."""
        if self.cfg.rollout_stride:
            return self.cfg.rollout_stride
        return 1 if self.seq_len <= 32 else -(-self.seq_len // 16)

    @torch.no_grad()
    def rewards(self, x: Tensor) -> Tensor:
        """Q(prefix x_<=t, x_t) [N, T]: D's mean P(real) over `rollouts` completions of each
        prefix by the rollout net; the full sequence (t = T-1) is scored as it is.

        All rollouts of one prefix length run as one batch of rollouts * N sequences. With a
        rollout stride k only prefixes of k, 2k, ... tokens are rolled out, and token t gets
        the Q of the shortest of them that holds it (the full sequence's for the last ones).
        A prefix that already holds `<eos>` is the whole text: its Q is D's score of x, with no
        rollouts; a prefix length where every row has ended needs no D call at all."""
        D, G, R, k = self.nets["D"], self.nets["G_rollout"], self.cfg.rollouts, self.rollout_stride
        N, T = x.shape
        was_training = D.training
        D.eval()  # rewards without dropout noise
        h, c = G.states(x)  # [T, N, H]
        final = torch.sigmoid(D(x))  # [N]
        q = final[:, None].repeat(1, T)
        writing = self.real_tokens(x)  # [N, T]: token t is text, so prefix x[:, :t] is open
        done = 0  # tokens x[:, :done] have their reward
        for t in range(k, T, k):  # prefix x[:, :t] fixed; draw x[:, t:] R times
            u = torch.rand(R, N, T - t, device=x.device)  # in full: torch's stream as ever
            rows = writing[:, t].nonzero()[:, 0]  # [n] the rows still writing
            if not len(rows):
                break  # every row has ended: Q is D(x) from here on
            n = len(rows)
            tail = G.generate(
                h[t, rows].repeat(R, 1),
                c[t, rows].repeat(R, 1),
                T - t,
                u[:, rows].reshape(R * n, T - t),
                stop=self.eos_id,
            )  # [R * n, T - t]; fmt: skip
            full = self.pad_after_eos(torch.cat([x[rows, :t].repeat(R, 1), tail], 1))
            q_t = final.clone()
            q_t[rows] = torch.sigmoid(D(full)).view(R, n).mean(0)
            q[:, done:t] = q_t[:, None]
            done = t
        D.train(was_training)
        return q

    def policy_gradient_step(self, n: int) -> tuple[Tensor, Tensor]:
        """One REINFORCE update of G on n fresh samples: -mean(log G(x_t | x_<t) * Q_t) over
        their real tokens (up to each `<eos>`)."""
        G = self.nets["G"]
        x = self.fakes(n)
        q = self.rewards(x)  # no graph through D: the reward is a number to G
        reward = q.mean()
        if self.cfg.reward_baseline:
            q = q - self.position_means(q, x)
        loss = -self.token_mean(G.log_probs(x) * q, x)
        self.update("G_adv", loss, clip_norm=self.cfg.grad_clip)
        return loss.detach(), reward

    def position_means(self, q: Tensor, x: Tensor) -> Tensor:
        """Each position's mean of q [N, T] over the rows of x [N, T] where it is text, [T]."""
        mask = self.real_tokens(x).float()
        return (q * mask).sum(0) / mask.sum(0).clamp(min=1)

    @torch.no_grad()
    def update_rollout(self) -> None:
        """The rollout net trails G: rollout <- r * rollout + (1 - r) * G."""
        params = list(self.nets["G_rollout"].parameters())
        torch._foreach_lerp_(
            params, list(self.nets["G"].parameters()), 1.0 - self.cfg.rollout_update
        )
