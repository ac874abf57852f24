"""Text data for SeqGAN (Yu et al. 2017): tokenisers, vocabulary, text corpora, the oracle LSTM.

Every text data set gives batches of token ids, LongTensor [n, max_len]. Its `info()` carries the
vocabulary, so a run's data.json alone turns sampled ids back into text.

Corpora are read from `data.path`; an empty path means the copy shipped in gankit/data/files
(chinese-poems, shakespeare, oracle). A missing file is a DataError that names it and says where
the data set comes from. Every corpus is read one way (`encode_lines` / `encode_windows`):
streamed, never held whole, into int16/int32 ids, and refused over `data.max_mb`. The file must
be UTF-8 (a UTF-8 byte-order mark is dropped); UTF-16, NUL bytes, invalid UTF-8 and a file
without text are each a one-line DataError saying how to fix it.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gankit.data.files import data_file, find
from gankit.data.sources import DataSource
from gankit.errors import DataError
from gankit.nn.sampling import draw  # the one sampler of softmaxes
from gankit.options import option
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
    def from_counts(cls, counts: Counter) -> Vocabulary:
        """Specials first, then tokens by falling count (ties by the token), so the same text
        always gives the same ids."""
        return cls([PAD, EOS] + sorted(counts, key=lambda t: (-counts[t], t)))

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


def same_encoding(info: dict, run_info: dict) -> bool:
    """Whether ids of data with `info` mean the same tokens to a run of `run_info`."""
    return info["vocab"] == run_info["vocab"] and info["tokenizer"] == run_info["tokenizer"]


def encode_for_run(ids: Tensor, info: dict, run_info: dict) -> tuple[Tensor, Tensor, int, int]:
    """Token ids [N, T] of one data set as ids [N, max_len] of a run's vocabulary: each row's
    text tokenised with the run's tokeniser, cut to the run's max_len - 1 tokens + `<eos>`.

    Returns the ids, known [N] (rows whose every token the run knows; the others hold 0 where
    the unknown tokens were and are no sample of what the run can write), and the counts of
    unknown and of all tokens."""
    vocab, max_len = Vocabulary(run_info["vocab"]), run_info["max_len"]
    out = torch.full((len(ids), max_len), vocab.pad_id or 0, dtype=torch.long)
    known = torch.ones(len(ids), dtype=torch.bool)
    n_unknown = n_tokens = 0
    end = [] if vocab.eos_id is None else [vocab.eos_id]  # fixed-length runs have no <eos>
    for k, line in enumerate(decode_text(ids, info)):
        tokens = tokenize(line, run_info["tokenizer"])[: max_len - len(end)]
        row = [vocab.index.get(t, -1) for t in tokens] + end
        missing = row.count(-1)
        n_unknown, n_tokens = n_unknown + missing, n_tokens + len(tokens)
        # a fixed-length run writes full rows only
        known[k] = not missing and (bool(end) or len(row) == max_len)
        out[k, : len(row)] = torch.tensor([max(i, 0) for i in row], dtype=torch.long)
    return out, known, n_unknown, n_tokens


# ---------------------------------------------------------------- files
#
# The one way a text corpus is read: streamed twice, never held whole. The first pass counts
# the vocabulary and the samples, the second writes ids straight into a compact int16/int32
# tensor, so memory is the ids (2 bytes a token for up to 32,767 distinct tokens) plus a piece
# of the file, not 25 times the file as Python strings and lists were.

MB = 1 << 20
PIECE = MB  # bytes read at a time: a file of one enormous line is read a megabyte at a time
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"
TRAILING_WORD = re.compile(r"\S*\Z")


def check_size(path: Path, max_mb: float) -> None:
    """A DataError for a file over `max_mb` megabytes, saying how to raise the cap or cut it."""
    size = path.stat().st_size / MB
    if size > max_mb:
        raise DataError(
            f"{path} is {size:.3g} MB, over data.max_mb={max_mb:g}; raise it with --set "
            f"data.max_mb={int(size) + 1} (loading takes up to about 4 times the file in memory) "
            f"or keep its first lines, e.g. `head -n 100000 {path.name} > part.txt`"
        )


def read_pieces(path: Path, by_line: bool = True):
    """The file's UTF-8 text as (piece, cut) pairs: a piece is a line with its line end, or
    PIECE bytes of a longer line (cut=True: more of the line follows); without `by_line`, PIECE
    bytes whatever the lines. A UTF-8 byte-order mark is dropped; NUL bytes, a UTF-16 mark or
    invalid UTF-8 is a DataError that says how to convert the file."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as f:
        head = f.read(3)
        if head.startswith(UTF16_BOMS):
            raise DataError(
                f"{path} is UTF-16 text (it starts with a UTF-16 byte-order mark); gankit "
                "expects UTF-8: convert it, e.g. `iconv -f utf-16 -t utf-8 IN > OUT`"
            )
        f.seek(len(UTF8_BOM) if head == UTF8_BOM else 0)  # the UTF-8 mark is no text
        read = f.readline if by_line else f.read
        while raw := read(PIECE):
            if b"\x00" in raw:
                raise DataError(
                    f"{path} looks binary (it holds NUL bytes); give a plain UTF-8 text file"
                )
            try:
                text = decoder.decode(raw)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} near offset "
                    f"{offset + e.start}); gankit expects UTF-8: convert it, e.g. "
                    "`iconv -f latin1 -t utf-8 IN > OUT`"
                ) from None
            offset += len(raw)
            yield text, not raw.endswith(b"\n") and bool(f.peek(1))  # more of this line
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise DataError(f"{path} ends inside a UTF-8 character; is it cut short?") from None


def line_tokens(path: Path, tokenizer: str, max_len: int, too_long: str):
    """The tokens of each non-empty line (a line ends at \\n; a \\r before it is dropped),
    cut to max_len - 1 (room for <eos>) or a DataError, as `too_long` says."""
    lineno, skipping = 0, False
    for text, cut in read_pieces(path):
        if skipping:  # the rest of a line already cut
            skipping = cut
            continue
        lineno += 1
        tokens = tokenize(text.rstrip("\r\n"), tokenizer)
        if cut and len(tokens) < max_len:
            raise DataError(
                f"{path}: line {lineno} is over {PIECE // MB} MB with fewer than data.max_len="
                f"{max_len} tokens in its first MB; break it into lines"
            )
        if len(tokens) + 1 > max_len:  # + 1: the <eos>
            if too_long == "error":
                raise DataError(
                    f"{path}: line {lineno} has {'over ' if cut else ''}{len(tokens)} tokens + "
                    f"<eos>, more than data.max_len={max_len}; raise data.max_len or set "
                    "data.too_long=truncate"
                )
            tokens = tokens[: max_len - 1]
        skipping = cut
        if tokens:
            yield tokens


def stream_tokens(path: Path, tokenizer: str):
    """The whole text's tokens, a list per piece of the file; a word cut between two pieces
    is joined again."""
    carry = ""
    for text, cut in read_pieces(path, by_line=False):
        text = carry + text
        carry = ""
        if cut and tokenizer == "whitespace":  # the piece may end inside a word
            start = TRAILING_WORD.search(text).start()
            text, carry = text[:start], text[start:]
        tokens = tokenize(text, tokenizer)
        if tokens:
            yield tokens
    if carry:
        yield tokenize(carry, tokenizer)


def corpus_vocabulary(counts: Counter, path: Path) -> Vocabulary:
    """The vocabulary of a corpus's token counts; a corpus without a token is a DataError."""
    if not counts:
        raise DataError(f"text file {path} is empty; give a file with at least one line of text")
    return Vocabulary.from_counts(counts)


def split_order(n: int) -> Tensor:
    """The fixed order of a corpus's n samples, test split first: a permutation of seed 0,
    the same for every training seed."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(0))


def id_dtype(vocab: Vocabulary) -> torch.dtype:
    """The smallest signed int type that holds every id (int16 up to 32,767 tokens)."""
    return torch.int16 if len(vocab) <= torch.iinfo(torch.int16).max else torch.int32


def encode_lines(
    path: Path, tokenizer: str, max_len: int, too_long: str
) -> tuple[Vocabulary, Tensor]:
    """One sample per non-empty line, ending in `<eos>` and padded: [N, max_len] ids, in
    `split_order`."""
    counts, n = Counter(), 0
    for tokens in line_tokens(path, tokenizer, max_len, too_long):
        counts.update(tokens)
        n += 1
    vocab = corpus_vocabulary(counts, path)
    ids = torch.full((n, max_len), vocab.pad_id, dtype=id_dtype(vocab))
    rows, slots = ids.numpy(), torch.argsort(split_order(n)).numpy()
    for k, tokens in enumerate(line_tokens(path, tokenizer, max_len, too_long)):
        # line k goes straight to its place in split order: no second copy of the corpus
        rows[slots[k], : len(tokens) + 1] = vocab.encode(tokens) + [vocab.eos_id]
    return vocab, ids


def encode_windows(path: Path, tokenizer: str, max_len: int) -> tuple[Vocabulary, Tensor]:
    """Consecutive windows of max_len tokens over the whole text (the last partial one
    dropped): [N, max_len] ids, in `split_order`."""
    counts = Counter()
    for tokens in stream_tokens(path, tokenizer):
        counts.update(tokens)
    vocab = corpus_vocabulary(counts, path)
    total = sum(counts.values())
    if total < max_len:
        raise DataError(
            f"{path} has {total} tokens, fewer than one window of data.max_len={max_len}"
        )
    flat = torch.empty(total, dtype=id_dtype(vocab))
    out, k = flat.numpy(), 0
    for tokens in stream_tokens(path, tokenizer):
        out[k : k + len(tokens)] = vocab.encode(tokens)
        k += len(tokens)
    n = total // max_len
    return vocab, flat[: n * max_len].view(n, max_len)[split_order(n)]


def held_out(n: int, test_fraction: float, path: str) -> int:
    """How many of n samples the test split holds: test_fraction of them, and at least one
    when test_fraction > 0, so BLEU and nll-test have references. A corpus too small to leave
    a sample on each side is refused before training, not after it."""
    if not test_fraction:
        return 0
    n_test = max(1, round(n * test_fraction))
    if n - n_test < 1:
        raise DataError(
            f"{path or 'the corpus'} gives {n} sample(s); with data.test_fraction="
            f"{test_fraction:g} it needs at least 2 (one to train on, one held out for bleu and "
            "nll-test): add lines, or set data.test_fraction=0 (then only self-bleu scores the run)"
        )
    return n_test


class TokenSequences(DataSource):
    """A fixed set of token sequences [N, max_len] in `split_order`: the first ones are the
    test split (the same for every training seed), the rest the training set.

    `held_out_text`, when set (data.reference, `gankit eval --reference`), is a user's own file
    that bleu and nll-test score against instead of the test split."""

    snapshot_size = 32  # sentences per snapshot: readable, unlike 2,500
    held_out_text: TokenSequences | None = None

    def __init__(self, cfg, seed: int, ids: Tensor, vocab: Vocabulary, tokenizer: str):
        super().__init__(cfg, seed)
        self.vocab, self.tokenizer = vocab, tokenizer
        self.shape = (ids.shape[1],)
        n_test = held_out(len(ids), cfg.test_fraction, cfg.path)
        self.test, self.train = ids[:n_test], ids[n_test:]  # views: ids come in split order

    @property
    def default_metrics(self) -> tuple[str, ...]:
        # without held-out text only self-BLEU measures anything
        held_out = self.held_out_text or self
        return ("bleu", "self-bleu", "nll-test") if len(held_out.test) else ("self-bleu",)

    def batch(self, n: int) -> Tensor:
        rows = self.train[torch.randint(len(self.train), (n,), generator=self.generator)]
        return rows.long()  # stored as int16/int32 to save memory; models take int64

    def reference(self, n: int, split: str = "train") -> tuple[Tensor, None]:
        rows = self.test if split == "test" else self.train
        if split == "test" and not len(rows):
            raise DataError("this data set has no test split; set data.test_fraction above 0")
        return rows[:n].long(), None

    def info(self) -> dict:
        return {
            "kind": "text",
            "vocab": self.vocab.tokens,
            "tokenizer": self.tokenizer,
            "max_len": self.shape[0],
        }


class HeldOutText(TokenSequences):
    """A user's held-out text for bleu and nll-test: every non-empty line of the file is one
    reference sentence (the test split; nothing to train on), read with the run's tokenizer and
    cut to its max_len - 1 tokens + `<eos>`. Its vocabulary is its own: the metrics re-read it
    with the run's, and count tokens the run never saw as unknown."""

    def __init__(self, path: str, tokenizer: str, max_len: int, max_mb: float = 256.0):
        file = find(path, "", "a UTF-8 text file of held-out sentences, one a line", "reference")
        check_size(file, max_mb)
        vocab, ids = encode_lines(file, tokenizer, max_len, "truncate")
        DataSource.__init__(self, ReferenceConfig(name=str(file), path=str(file)), seed=0)
        self.vocab, self.tokenizer, self.shape = vocab, tokenizer, (max_len,)
        self.test, self.train = ids, ids[:0]


@dataclass
class ReferenceConfig:
    name: str
    path: str
    test_fraction: float = 1.0  # all of it is held out


def with_held_out_text(source: TokenSequences, path: str) -> TokenSequences:
    """`source` scoring bleu and nll-test against the file `path` (when given)."""
    if path:
        info = source.info()
        max_mb = getattr(source.cfg, "max_mb", 256.0)
        source.held_out_text = HeldOutText(path, info["tokenizer"], info["max_len"], max_mb)
    return source


def tokenizer_option(default: str):
    return option(default, choices=tuple(TOKENIZERS))  # char | whitespace


def too_long_option(default: str):
    return option(default, choices=TOO_LONG)  # lines over max_len: error | truncate (the start)


@dataclass
class TextConfig:
    name: str = "text"
    path: str = ""  # a UTF-8 text file; empty for a named corpus: the copy shipped with gankit
    tokenizer: str = tokenizer_option("char")
    mode: str = option("lines", choices=MODES)  # lines: a sample a line | windows: max_len tokens
    max_len: int = option(32, min=2)  # tokens per sample, <eos> included in lines mode
    too_long: str = too_long_option("error")
    test_fraction: float = option(0.1, min=0.0, below=1.0)  # held out for BLEU and nll-test
    # files over this are refused before reading: memory grows with the corpus
    max_mb: float = option(256.0, above=0.0)
    # your own held-out file (one sentence a line) that bleu and nll-test score against instead
    # of the test split; read with this data's tokenizer, lines cut to max_len
    reference: str = ""


def load_corpus(cfg: TextConfig, seed: int, file_name: str, what: str) -> TokenSequences:
    path = data_file(cfg, "path", file_name, what)
    check_size(path, cfg.max_mb)
    if cfg.mode == "lines":
        vocab, ids = encode_lines(path, cfg.tokenizer, cfg.max_len, cfg.too_long)
    else:
        vocab, ids = encode_windows(path, cfg.tokenizer, cfg.max_len)
    source = TokenSequences(cfg, seed, ids, vocab, cfg.tokenizer)
    if cfg.reference:  # written back absolute, so the run resumes from any folder
        cfg.reference = str(Path(cfg.reference).expanduser().resolve())
    return with_held_out_text(source, cfg.reference)


@register_dataset("text", config=TextConfig, kind="text")
def text(cfg: TextConfig, seed: int) -> TokenSequences:
    """Your own UTF-8 text file: --data FILE.txt; one sample per line or fixed-length windows."""
    if not cfg.path:
        raise DataError("data set 'text' needs a file: --data FILE.txt or --set data.path=FILE")
    return load_corpus(cfg, seed, "", "your text file")


@dataclass
class PoemsConfig(TextConfig):
    name: str = "chinese-poems"
    tokenizer: str = tokenizer_option("whitespace")  # the file separates characters by spaces
    max_len: int = option(25, min=2)  # 20 characters + 4 punctuation marks + <eos>


POEMS_SOURCE = "16,394 Chinese quatrains, Texygen's data/shi.txt (github.com/geek-ai/Texygen)"


@register_dataset("chinese-poems", config=PoemsConfig, kind="text")
def chinese_poems(cfg: PoemsConfig, seed: int) -> TokenSequences:
    """Chinese quatrains, the SeqGAN paper's poem corpus (chinese-poems.txt), by character."""
    return load_corpus(cfg, seed, "chinese-poems.txt", POEMS_SOURCE)


@dataclass
class ShakespeareConfig(TextConfig):
    name: str = "shakespeare"
    max_len: int = option(40, min=2)
    too_long: str = too_long_option("truncate")  # a few long lines; their first 39 characters


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
    n_train: int = option(10_000, min=1)  # sequences drawn as training data (the paper's)
    seq_len: int = option(20, min=1)
    data_seed: int = 0  # the draw of the training set, the same for every training seed
    # extra sequences drawn for nll-test, as a fraction of n_train
    test_fraction: float = option(0.1, min=0.0, below=1.0)


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
