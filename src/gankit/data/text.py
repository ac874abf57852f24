"""Text data for SeqGAN (Yu et al. 2017): tokenisers, vocabulary, text corpora, the oracle LSTM.

Every text data set gives batches of token ids, LongTensor [n, max_len]. Its `info()` carries the
vocabulary, so a run's data.json alone turns sampled ids back into text.

Corpora are read from `data.path`; an empty path means the copy shipped in gankit/data/files
(chinese-poems, shakespeare, oracle). A missing file is a DataError that names it and says where
the data set comes from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.files import data_file
from gankit.data.sources import DataSource
from gankit.errors import ConfigError, DataError
from gankit.nn.sampling import draw  # the one sampler of softmaxes
from gankit.registry import register_dataset, register_writer

PAD, EOS = "<pad>", "<eos>"
TOKENIZERS: dict[str, tuple[Callable[[str], list[str]], str]] = {
    # name -> (split text into tokens, the separator that joins tokens back into text)
    "char": (list, ""),
    "whitespace": (str.split, " "),
}
MODES = ("lines", "windows")
TOO_LONG = ("error", "truncate")


def tokenize(text: str, tokenizer: str) -> list[str]:
    """The tokens of `text`: its characters ("char") or its whitespace-separated words."""
    return TOKENIZERS[tokenizer][0](text)


def detokenize(tokens: list[str], tokenizer: str) -> str:
    return TOKENIZERS[tokenizer][1].join(tokens)


class Vocabulary:
    """Token <-> id. With specials, id 0 is `<pad>` and id 1 is `<eos>`; an unknown token or id
    is a DataError (never a silent `<unk>`: a model cannot have learnt a token it never saw)."""

    def __init__(self, tokens: list[str]):
        if len(set(tokens)) != len(tokens):
            raise DataError("a vocabulary lists each token once; this one has repeats")
        self.tokens = list(tokens)
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad_id = self.index.get(PAD)
        self.eos_id = self.index.get(EOS)

    @classmethod
    def build(cls, sequences: list[list[str]], specials: bool = True) -> Vocabulary:
        """Specials first, then tokens by falling frequency (ties by the token), so the same
        text always gives the same ids."""
        counts = Counter(t for seq in sequences for t in seq)
        ordered = sorted(counts, key=lambda t: (-counts[t], t))
        return cls(([PAD, EOS] if specials else []) + ordered)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> list[int]:
        unknown = [t for t in tokens if t not in self.index]
        if unknown:
            raise DataError(
                f"token {unknown[0]!r} is not in the vocabulary ({len(self)} tokens); a model "
                "can only read and write the tokens of the text it was trained on"
            )
        return [self.index[t] for t in tokens]

    def decode(self, ids: list[int]) -> list[str]:
        """Tokens up to the first `<eos>`, without padding."""
        out = []
        for i in ids:
            if not 0 <= i < len(self):
                raise DataError(f"token id {i} is outside the vocabulary (0..{len(self) - 1})")
            if i == self.eos_id:
                break
            if i != self.pad_id:
                out.append(self.tokens[i])
        return out


def decode_text(ids: np.ndarray | Tensor, info: dict) -> list[str]:
    """Token ids [N, T] -> N strings, with the vocabulary and tokeniser of a run's data.json."""
    vocab = Vocabulary(info["vocab"])
    return [detokenize(vocab.decode(list(map(int, row))), info["tokenizer"]) for row in ids]


# ---------------------------------------------------------------- files


def read_text(path: Path) -> str:
    """The file's text, read as UTF-8; an empty, binary or non-UTF-8 file is a DataError."""
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"text file {path} is empty; give a file with at least one line of text")
    if b"\x00" in raw:
        raise DataError(f"{path} looks binary (it holds NUL bytes); give a plain UTF-8 text file")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(
            f"{path} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); gankit "
            "expects UTF-8: convert it, e.g. `iconv -f latin1 -t utf-8 IN > OUT`"
        ) from None


def encode_lines(
    text: str, tokenizer: str, max_len: int, too_long: str, path: Path
) -> tuple[Vocabulary, Tensor]:
    """One sample per non-empty line, ending in `<eos>` and padded: [N, max_len] ids."""
    lines = [tokenize(line, tokenizer) for line in text.splitlines()]
    lines = [t for t in lines if t]
    for k, tokens in enumerate(lines):
        if len(tokens) + 1 > max_len:  # + 1: the <eos>
            if too_long == "error":
                raise DataError(
                    f"{path}: a line has {len(tokens)} tokens + <eos>, more than data.max_len="
                    f"{max_len} (sample {k + 1}); raise data.max_len or set data.too_long=truncate"
                )
            lines[k] = tokens[: max_len - 1]
    vocab = Vocabulary.build(lines)
    ids = torch.full((len(lines), max_len), vocab.pad_id, dtype=torch.long)
    for k, tokens in enumerate(lines):
        row = vocab.encode(tokens) + [vocab.eos_id]
        ids[k, : len(row)] = torch.tensor(row)
    return vocab, ids


def encode_windows(
    text: str, tokenizer: str, max_len: int, path: Path
) -> tuple[Vocabulary, Tensor]:
    """Consecutive windows of max_len tokens over the whole text (the last partial one dropped)."""
    tokens = tokenize(text, tokenizer)
    if len(tokens) < max_len:
        raise DataError(
            f"{path} has {len(tokens)} tokens, fewer than one window of data.max_len={max_len}"
        )
    vocab = Vocabulary.build([tokens])
    ids = torch.tensor(vocab.encode(tokens), dtype=torch.long)
    n = len(ids) // max_len
    return vocab, ids[: n * max_len].view(n, max_len)


class TokenSequences(DataSource):
    """A fixed set of token sequences [N, max_len], split once into train and test by a
    permutation of seed 0 (the same split for every training seed)."""

    default_metrics = ("bleu", "self-bleu", "nll-test")
    snapshot_size = 32  # sentences per snapshot: readable, unlike 2,500

    def __init__(self, cfg, seed: int, ids: Tensor, vocab: Vocabulary, tokenizer: str):
        super().__init__(cfg, seed)
        self.vocab, self.tokenizer = vocab, tokenizer
        self.shape = (ids.shape[1],)
        order = torch.randperm(len(ids), generator=torch.Generator().manual_seed(0))
        n_test = int(round(len(ids) * cfg.test_fraction))
        if len(ids) - n_test < 1:
            raise DataError(f"{cfg.path} gives {len(ids)} samples; too few to leave a train set")
        self.test, self.train = ids[order[:n_test]], ids[order[n_test:]]

    def batch(self, n: int) -> Tensor:
        return self.train[torch.randint(len(self.train), (n,), generator=self.generator)]

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, None]:
        rows = self.test if split == "test" else self.train
        if split == "test" and not len(rows):
            raise DataError("this data set has no test split; set data.test_fraction above 0")
        return rows[:n], None

    def info(self) -> dict:
        return {
            "kind": "text",
            "vocab": self.vocab.tokens,
            "tokenizer": self.tokenizer,
            "max_len": self.shape[0],
        }


@dataclass
class TextConfig:
    name: str = "text"
    path: str = ""  # a UTF-8 text file; empty for a named corpus: the copy shipped with gankit
    tokenizer: str = "char"  # char | whitespace
    mode: str = "lines"  # lines: one sample per line | windows: consecutive max_len tokens
    max_len: int = 32  # tokens per sample, <eos> included in lines mode
    too_long: str = "error"  # lines longer than max_len: error | truncate (keeps the start)
    test_fraction: float = 0.1  # held out for BLEU references and NLL on held-out text

    def validate(self) -> None:
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(
                f"data.tokenizer must be one of {', '.join(TOKENIZERS)}, got {self.tokenizer!r}"
            )
        if self.mode not in MODES:
            raise ConfigError(f"data.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.too_long not in TOO_LONG:
            raise ConfigError(f"data.too_long must be error or truncate, got {self.too_long!r}")
        if self.max_len < 2:
            raise ConfigError(f"data.max_len must be at least 2, got {self.max_len}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError(f"data.test_fraction must be in [0, 1), got {self.test_fraction}")


def load_corpus(cfg: TextConfig, seed: int, file_name: str, what: str) -> TokenSequences:
    path = data_file(cfg, "path", file_name, what)
    text = read_text(path)
    if cfg.mode == "lines":
        vocab, ids = encode_lines(text, cfg.tokenizer, cfg.max_len, cfg.too_long, path)
    else:
        vocab, ids = encode_windows(text, cfg.tokenizer, cfg.max_len, path)
    return TokenSequences(cfg, seed, ids, vocab, cfg.tokenizer)


@register_dataset("text", config=TextConfig, kind="text")
def text(cfg: TextConfig, seed: int) -> TokenSequences:
    """Your own UTF-8 text file: --data FILE.txt; one sample per line or fixed-length windows."""
    if not cfg.path:
        raise DataError("data set 'text' needs a file: --data FILE.txt or --set data.path=FILE")
    return load_corpus(cfg, seed, "", "your text file")


@dataclass
class PoemsConfig(TextConfig):
    name: str = "chinese-poems"
    tokenizer: str = "whitespace"  # the file separates characters by spaces
    max_len: int = 25  # 20 characters + 4 punctuation marks + <eos>


POEMS_SOURCE = "16,394 Chinese quatrains, Texygen's data/shi.txt (github.com/geek-ai/Texygen)"


@register_dataset("chinese-poems", config=PoemsConfig, kind="text")
def chinese_poems(cfg: PoemsConfig, seed: int) -> TokenSequences:
    """Chinese quatrains, the SeqGAN paper's poem corpus (chinese-poems.txt), by character."""
    return load_corpus(cfg, seed, "chinese-poems.txt", POEMS_SOURCE)


@dataclass
class ShakespeareConfig(TextConfig):
    name: str = "shakespeare"
    tokenizer: str = "char"
    max_len: int = 40
    too_long: str = "truncate"  # a few long lines; their first 39 characters


SHAKESPEARE_SOURCE = "tiny Shakespeare, 1.1 MB (github.com/karpathy/char-rnn, data/tinyshakespeare)"


@register_dataset("shakespeare", config=ShakespeareConfig, kind="text")
def shakespeare(cfg: ShakespeareConfig, seed: int) -> TokenSequences:
    """Tiny Shakespeare (tinyshakespeare.txt), one line of a play per sample, by character."""
    return load_corpus(cfg, seed, "tinyshakespeare.txt", SHAKESPEARE_SOURCE)


# ---------------------------------------------------------------- the SeqGAN oracle

ORACLE_FILE = "seqgan-oracle-params.npz"
ORACLE_SOURCE = "the SeqGAN oracle LSTM, LantaoYu/SeqGAN save/target_params_py3.pkl as npz"


class OracleLSTM:
    """The SeqGAN synthetic-data oracle: a fixed LSTM language model (vocabulary 5,000,
    embedding 32, hidden 32). Row-vector equations, as in the data README:
    i, f, o = sigmoid(x W + h U + b); c~ = tanh(x W_c + h U_c + b_c); c = f c + i c~;
    h = o tanh(c); logits = h p13 + p14. Starts from h = c = 0 and the embedding of token 0."""

    def __init__(self, params: dict[str, np.ndarray]):
        p = [torch.as_tensor(params[f"p{k:02d}"], dtype=torch.float32) for k in range(15)]
        self.emb = p[0]  # [V, E]
        self.gates = [tuple(p[1 + 3 * g : 4 + 3 * g]) for g in range(4)]  # (W, U, b): i, f, o, c
        self.w_out, self.b_out = p[13], p[14]
        self.vocab_size = self.emb.shape[0]
        self.hidden = self.gates[0][1].shape[0]

    def step(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One step: input embeddings x [N, E], state h, c [N, H] -> (logits [N, V], h, c)."""
        i, f, o, cand = (x @ W + h @ U + b for W, U, b in self.gates)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(cand)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h @ self.w_out + self.b_out, h, c

    def _start(self, n: int) -> tuple[Tensor, Tensor, Tensor]:
        zeros = torch.zeros(n, self.hidden)
        return self.emb[torch.zeros(n, dtype=torch.long)], zeros, zeros.clone()

    @torch.no_grad()
    def sample(self, n: int, length: int, generator: torch.Generator) -> Tensor:
        """n sequences [n, length] drawn token by token from the oracle's softmax."""
        x, h, c = self._start(n)
        out = []
        for _ in range(length):
            logits, h, c = self.step(x, h, c)
            token = draw(logits, torch.rand(n, generator=generator))
            out.append(token)
            x = self.emb[token]
        return torch.stack(out, 1)

    @torch.no_grad()
    def nll(self, seqs: Tensor, chunk: int = 2000) -> float:
        """Mean per-token negative log-likelihood (nats) of sequences [N, T] under the oracle."""
        total = 0.0
        for part in seqs.long().split(chunk):
            x, h, c = self._start(len(part))
            for t in range(part.shape[1]):
                logits, h, c = self.step(x, h, c)
                total += torch.nn.functional.cross_entropy(logits, part[:, t], reduction="sum")
                x = self.emb[part[:, t]]
        return float(total) / seqs.numel()


def load_oracle(path: Path) -> OracleLSTM:
    try:
        with np.load(path, allow_pickle=False) as f:
            params = {k: f[k] for k in f.files}
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npz file ({e})") from None
    missing = [f"p{k:02d}" for k in range(15) if f"p{k:02d}" not in params]
    if missing:
        raise DataError(f"{path} lacks arrays {', '.join(missing)}; is it the SeqGAN oracle?")
    return OracleLSTM(params)


class OracleSequences(TokenSequences):
    """Sequences drawn once from the oracle (train and held-out test sets), token ids only."""

    default_metrics = ("nll-oracle",)

    def __init__(self, cfg, seed: int, oracle: OracleLSTM):
        self.oracle = oracle
        g = torch.Generator().manual_seed(cfg.data_seed)
        n_test = int(round(cfg.n_train * cfg.test_fraction))
        ids = oracle.sample(cfg.n_train + n_test, cfg.seq_len, g)
        vocab = Vocabulary([str(k) for k in range(oracle.vocab_size)])
        DataSource.__init__(self, cfg, seed)
        self.vocab, self.tokenizer, self.shape = vocab, "whitespace", (cfg.seq_len,)
        self.train, self.test = ids[: cfg.n_train], ids[cfg.n_train :]


@dataclass
class OracleConfig:
    name: str = "oracle"
    path: str = ""  # seqgan-oracle-params.npz; empty: the copy shipped with gankit
    n_train: int = 10_000  # sequences drawn as training data (the paper's 10,000)
    seq_len: int = 20
    data_seed: int = 0  # the draw of the training set, the same for every training seed
    test_fraction: float = 0.1  # extra sequences drawn for nll-test, as a fraction of n_train

    def validate(self) -> None:
        if self.n_train < 1 or self.seq_len < 1:
            raise ConfigError("data.n_train and data.seq_len must be positive")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ConfigError(f"data.test_fraction must be in [0, 1), got {self.test_fraction}")


@register_dataset("oracle", config=OracleConfig, kind="text")
def oracle(cfg: OracleConfig, seed: int) -> OracleSequences:
    """SeqGAN's synthetic data: 10,000 sequences of 20 tokens drawn from the oracle LSTM."""
    path = data_file(cfg, "path", ORACLE_FILE, ORACLE_SOURCE)
    return OracleSequences(cfg, seed, load_oracle(path))


@register_writer("text", (".txt", ".npy"))
def write_text(x: np.ndarray, info: dict, out: Path, title: str, nrow: int | None) -> None:
    """Samples of token ids [N, T] as text, one sample per line (.txt), or the ids (.npy)."""
    if out.suffix.lower() == ".npy":
        with open(out, "wb") as f:
            np.save(f, x)
        return
    out.write_text("".join(line.replace("\n", " ") + "\n" for line in decode_text(x, info)))
