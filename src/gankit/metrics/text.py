"""Text metrics of SeqGAN (Yu et al. 2017) and Texygen (Zhu et al. 2018): NLL_oracle, BLEU,
self-BLEU and G's NLL on held-out text, each with a protocol string saying how it was measured.

BLEU here is nltk's `sentence_bleu` with `SmoothingFunction().method1` (Texygen's choice),
averaged over hypotheses, computed with the references' n-gram counts gathered once: the same
numbers as calling nltk per hypothesis (tests check this), in time linear in the references.

One difference from Texygen, kept on purpose and stated in every bleu_protocol: BLEU's tokens
are the decoded text split at whitespace, where Texygen splits with `nltk.word_tokenize`, which
also cuts punctuation off words (and needs nltk's punkt data, a download). On English text the
two differ (about 0.03 BLEU-2 on image captions), so compare gankit's BLEU with gankit's; on
chinese-poems, whose characters and punctuation are already separated by spaces, they agree.

A run's samples are always decoded with the run's own vocabulary (its data.json); scored
against other text (`gankit eval RUN --data ...`), that text is read with the run's tokeniser,
and tokens the run never saw count as unknown (one warning line): they match nothing in BLEU,
and nll-test scores only the held-out lines free of them.
"""

from __future__ import annotations

import math
import sys
import weakref
from collections import Counter, defaultdict

import torch
from torch import Tensor

from gankit.errors import MetricError
from gankit.registry import register_metric

BLEU_ORDERS = (2, 3, 4, 5)
BLEU_SAMPLES = 2000  # hypotheses scored (BLEU) and generated sentences compared (self-BLEU)
BLEU_REFERENCES = 5000  # held-out sentences used as references
SMOOTH_EPS = 0.1  # nltk's method1 epsilon: an n-gram order with no match counts 0.1 / total


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


class References:
    """Reference sentences reduced to what BLEU reads: per n-gram the largest count in any one
    reference (and the second largest, and who holds the largest, for leave-one-out self-BLEU),
    and the multiset of reference lengths."""

    def __init__(self, refs: list[list[str]], max_order: int):
        self.lengths = Counter(len(r) for r in refs)
        self.best: list[dict[tuple, tuple[int, int, int]]] = []  # (max, argmax, second max)
        for n in range(1, max_order + 1):
            table: dict[tuple, list[int]] = defaultdict(lambda: [0, -1, 0])
            for k, ref in enumerate(refs):
                for gram, count in _ngrams(ref, n).items():
                    entry = table[gram]
                    if count > entry[0]:
                        entry[0], entry[1], entry[2] = count, k, entry[0]
                    elif count > entry[2]:
                        entry[2] = count
            self.best.append({g: tuple(v) for g, v in table.items()})

    def max_count(self, gram: tuple, exclude: int) -> int:
        top, who, second = self.best[len(gram) - 1].get(gram, (0, -1, 0))
        return second if who == exclude else top

    def closest_length(self, hyp_len: int, exclude_len: int | None) -> int:
        """nltk's closest reference length (ties to the shorter), one `exclude_len` left out."""
        lengths = [n for n, c in self.lengths.items() if c > (1 if n == exclude_len else 0)]
        return min(lengths, key=lambda n: (abs(n - hyp_len), n))


def sentence_bleu(
    hyp: list[str], refs: References, order: int, exclude: int = -1, exclude_len=None
) -> float:
    """nltk's sentence_bleu(refs, hyp, uniform weights up to `order`, method1 smoothing);
    `exclude` (an index) and `exclude_len` leave one reference out, for self-BLEU."""
    log_p = 0.0
    for n in range(1, order + 1):
        counts = _ngrams(hyp, n)
        total = max(1, sum(counts.values()))
        clipped = sum(min(c, refs.max_count(g, exclude)) for g, c in counts.items())
        if n == 1 and clipped == 0:
            return 0.0  # nltk: no unigram in common, BLEU 0 whatever the smoothing
        log_p += math.log(clipped / total if clipped else SMOOTH_EPS / total) / order
    ref_len = refs.closest_length(len(hyp), exclude_len)
    bp = 1.0 if len(hyp) > ref_len else math.exp(1 - ref_len / len(hyp))
    return bp * math.exp(log_p)


def corpus_mean_bleu(hyps: list[list[str]], refs: list[list[str]], orders=BLEU_ORDERS) -> dict:
    """Mean sentence BLEU-n of hypotheses against all references, for each n in `orders`."""
    table = References(refs, max(orders))
    return {n: sum(sentence_bleu(h, table, n) for h in hyps) / len(hyps) for n in orders}


def self_bleu(sents: list[list[str]], orders=BLEU_ORDERS) -> dict:
    """Mean BLEU-n of each sentence against all the others (Zhu et al. 2018): high = alike."""
    if len(sents) < 2:
        raise MetricError("self-BLEU needs at least 2 sentences")
    table = References(sents, max(orders))
    return {
        n: sum(sentence_bleu(s, table, n, k, len(s)) for k, s in enumerate(sents)) / len(sents)
        for n in orders
    }


# ---------------------------------------------------------------- registered metrics

BLEU_PROTOCOL = (
    "mean sentence BLEU (nltk sentence_bleu, uniform weights, SmoothingFunction().method1) of "
    "{hyps} generated sentences against {refs} held-out sentences; tokens: the decoded text "
    "split at whitespace (characters for chinese-poems, words for shakespeare), not "
    "Texygen's nltk.word_tokenize, which also splits off punctuation"
)


def _needs_text(data) -> None:
    if data.info().get("kind") != "text":
        raise MetricError(
            f"text metrics need a text data set (oracle, chinese-poems, shakespeare, text), not "
            f"{data.cfg.name!r}"
        )


def _test_text(data):
    """What bleu and nll-test score against: a user's held-out file (data.reference, `gankit
    eval --reference`) when one is given, else the data set's own test split."""
    return getattr(data, "held_out_text", None) or data


def _needs_held_out_text(data) -> None:
    """bleu and nll-test read the test split: a run without one fails before training."""
    _needs_text(data)
    if not len(_test_text(data).test):
        raise MetricError(
            "bleu and nll-test need held-out text; set data.test_fraction above 0, give a file "
            "of held-out lines (data.reference=PATH, or `gankit eval RUN --reference PATH`), or "
            "score the run with --metric self-bleu"
        )


def _needs_oracle(data) -> None:
    if not hasattr(data, "oracle"):
        raise MetricError(f"metric 'nll-oracle' needs --data oracle, not {data.cfg.name!r}")


def _sentences(ids, info: dict) -> list[list[str]]:
    from gankit.data.text import decode_text

    return [s.split() for s in decode_text(ids.cpu(), info)]


_warned: weakref.WeakSet = weakref.WeakSet()  # data sets whose unknown tokens were reported


def _held_out(model, data, n: int) -> tuple[Tensor, Tensor]:
    """Up to n held-out sequences as ids of the run's vocabulary [n, T], and which of them
    the run could write at all (Bool [n]); other text's unknown tokens reported once."""
    from gankit.data.text import encode_for_run, same_encoding

    data = _test_text(data)
    ids = data.reference(n, "test")[0]
    if same_encoding(data.info(), model.data_info):
        return ids, torch.ones(len(ids), dtype=torch.bool)
    ids, known, n_unknown, n_tokens = encode_for_run(ids, data.info(), model.data_info)
    if n_unknown and data not in _warned:
        _warned.add(data)
        print(
            f"warning: {n_unknown} of the {n_tokens} held-out tokens of {data.cfg.name!r} are not "
            f"in the run's vocabulary ({len(model.data_info['vocab'])} tokens); they count as "
            "unknown: no match in BLEU, and nll-test skips the lines holding them",
            file=sys.stderr,
        )
    return ids, known


@register_metric("nll-oracle")
def nll_oracle(model, data, n: int = 10_000, seed: int = 0) -> dict:
    """NLL_oracle (SeqGAN): the oracle LSTM's mean per-token NLL of n samples; lower is better."""
    _needs_oracle(data)
    x = model.sample(n, seed=seed).cpu()
    return {
        "nll_oracle": data.oracle.nll(x),
        "nll_oracle_protocol": f"oracle's mean per-token NLL (nats) of {n} samples of "
        f"{x.shape[1]} tokens, temperature 1",
    }


@register_metric("nll-test")
def nll_test(model, data, n: int = 10_000, seed: int = 0) -> dict:
    """G's mean per-token NLL (nats) of held-out text (up to each <eos>); lower is better."""
    _needs_text(data)
    if not hasattr(model, "nll"):
        raise MetricError("metric 'nll-test' needs a text model (seqgan, text-mle)")
    x, known = _held_out(model, data, n)
    if not known.any():
        raise MetricError(
            f"nll-test: every held-out line of {data.cfg.name!r} holds tokens the run never saw; "
            "score it against text in the run's vocabulary, or use --metric bleu"
        )
    out: dict = {"nll_test": model.nll(x[known])}
    if not known.all():
        out["nll_test_protocol"] = (
            f"over the {int(known.sum())} of {len(x)} held-out lines whose tokens are all in "
            "the run's vocabulary"
        )
    return out


@register_metric("bleu")
def bleu(model, data, n: int = BLEU_SAMPLES, seed: int = 0, temperature: float = 1.0) -> dict:
    """BLEU-2..5 against held-out text (quality; Texygen's, but tokens split at whitespace).

    Texygen tokenises with nltk.word_tokenize, which also splits punctuation off words."""
    _needs_text(data)
    n = min(n, BLEU_SAMPLES)
    _held_out(model, data, BLEU_REFERENCES)  # reports tokens the run cannot write
    test = _test_text(data)
    refs = _sentences(test.reference(BLEU_REFERENCES, "test")[0], test.info())
    hyps = _sentences(model.sample(n, seed=seed, temperature=temperature), model.data_info)
    scores = corpus_mean_bleu(hyps, refs)
    out: dict = {f"bleu{k}": v for k, v in scores.items()}
    out["bleu_protocol"] = BLEU_PROTOCOL.format(hyps=len(hyps), refs=len(refs))
    return out


@register_metric("self-bleu")
def self_bleu_metric(
    model, data, n: int = BLEU_SAMPLES, seed: int = 0, temperature: float = 1.0
) -> dict:
    """Self-BLEU-2..5 of generated sentences (diversity: lower = more diverse; Zhu et al. 2018)."""
    _needs_text(data)
    n = min(n, BLEU_SAMPLES)
    sents = _sentences(model.sample(n, seed=seed, temperature=temperature), model.data_info)
    out: dict = {f"self_bleu{k}": v for k, v in self_bleu(sents).items()}
    out["self_bleu_protocol"] = (
        f"mean BLEU of each of {n} generated sentences against the other {n - 1} (all of them, "
        "no subsampling: n-gram counts gathered once, linear time); BLEU as in bleu_protocol"
    )
    return out


self_bleu_metric.check = _needs_text
nll_test.check = bleu.check = _needs_held_out_text
nll_oracle.check = _needs_oracle
