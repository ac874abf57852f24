"""Text: tokenisers and vocabulary, bad files, the SeqGAN oracle, BLEU, SeqGAN's rewards and
policy gradient, exact resume across phases, and the command line on a tiny text file."""

import html
import math
import random
from collections import Counter

import numpy as np
import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction
from nltk.translate.bleu_score import sentence_bleu as nltk_sentence_bleu

from gankit import api
from gankit.config import resolve_config
from gankit.data import build_data
from gankit.data.text import EOS, PAD, Vocabulary, decode_text, detokenize, load_oracle, tokenize
from gankit.errors import ConfigError, DataError, MetricError
from gankit.metrics.text import corpus_mean_bleu, nll_oracle, self_bleu
from gankit.models import build_model

from .conftest import TEXT_TINY, TINY_TEXT, TRAIN_TINY, model_case
from .conftest import cli as run_cli


def tiny_seqgan(extra=(), model="seqgan"):
    cfg = resolve_config(model=model, data="text", overrides=model_case(model)[1] + list(extra))
    torch.manual_seed(0)
    data = build_data(cfg.data, seed=0)
    return build_model(cfg.model, data.shape, data_info=data.info()), data, cfg


def moved(before: list[torch.Tensor], net: torch.nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


# ---------------------------------------------------------------- tokenisers and vocabulary


@pytest.mark.parametrize("tokenizer", ["char", "whitespace"])
def test_tokenise_encode_decode_round_trip(tokenizer):
    text = "the cat sat on the mat"
    tokens = tokenize(text, tokenizer)
    assert tokens[:2] == (["t", "h"] if tokenizer == "char" else ["the", "cat"])
    vocab = Vocabulary.from_counts(Counter(tokens))
    # by falling frequency, ties by the token: " " and "t" both occur 5 times
    assert vocab.tokens[:3] == [PAD, EOS, " " if tokenizer == "char" else "the"]
    ids = vocab.encode(tokens) + [vocab.eos_id, vocab.pad_id, 5]  # after <eos>: ignored
    assert detokenize(vocab.decode(ids), tokenizer) == text


def test_unknown_token_or_id_is_a_clear_error():
    vocab = Vocabulary.from_counts(Counter("abc"))
    with pytest.raises(DataError, match="'z' is not in the vocabulary"):
        vocab.encode(list("abz"))
    with pytest.raises(DataError, match="outside the vocabulary"):
        vocab.decode([2, 99])


def test_lines_become_padded_id_rows_and_the_vocab_goes_in_info():
    _, data, _ = tiny_seqgan()
    info = data.info()
    assert info["kind"] == "text" and info["tokenizer"] == "whitespace" and info["max_len"] == 12
    assert len(data.train) + len(data.test) == 20 and len(data.test) == 2
    x = data.batch(5)
    assert x.dtype == torch.long and x.shape == (5, 12)
    lines = set(TINY_TEXT.read_text().splitlines())
    assert set(decode_text(data.train, info)) <= lines
    assert set(decode_text(data.test, info)).isdisjoint(decode_text(data.train, info))


def test_windows_mode_cuts_the_whole_text(tmp_path):
    f = tmp_path / "w.txt"
    f.write_text("abcdefghij\nklm")
    cfg = resolve_config(model="text-mle", data="text", overrides=[
        f"data.path={f}", "data.mode=windows", "data.max_len=4", "data.test_fraction=0",
    ])  # fmt: skip
    data = build_data(cfg.data, seed=0)
    assert sorted(decode_text(data.train, data.info())) == ["abcd", "efgh", "ij\nk"]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "is empty"),
        (b"  \n\n", "is empty"),
        (b"abc\x00\x01\x02", "looks binary"),
        ("caf\u00e9 cr\u00e8me\n".encode("latin-1"), "not UTF-8 text.*expects UTF-8"),
        (b"a b c d e f g h i j k l m n o\n", "more than data.max_len=12.*too_long=truncate"),
    ],
)
def test_bad_text_files_are_clear_errors(tmp_path, content, words):
    f = tmp_path / "bad.txt"
    f.write_bytes(content)
    cfg = resolve_config(model="seqgan", data="text", overrides=[*TEXT_TINY, f"data.path={f}"])
    with pytest.raises(DataError, match=words):
        build_data(cfg.data, seed=0)


def test_truncating_long_lines_keeps_their_start(tmp_path):
    f = tmp_path / "long.txt"
    f.write_text("a b c d e f g h i j k l m n o\n")
    cfg = resolve_config(model="seqgan", data="text", overrides=[
        *TEXT_TINY, f"data.path={f}", "data.too_long=truncate", "data.test_fraction=0",
    ])  # fmt: skip
    data = build_data(cfg.data, seed=0)
    assert decode_text(data.train, data.info()) == ["a b c d e f g h i j k"]  # 11 + <eos>


def test_corpus_defaults_to_the_bundled_file_and_a_missing_path_names_it(tmp_path):
    cfg = resolve_config(model="seqgan", data="chinese-poems")
    data = build_data(cfg.data, seed=0)
    assert len(data.train) + len(data.test) == 16_394  # every poem of the bundled file
    assert cfg.data.path == ""  # the config keeps no install path, so the run stays portable
    missing = tmp_path / "nope.txt"
    cfg = resolve_config(model="seqgan", data="shakespeare", overrides=[f"data.path={missing}"])
    with pytest.raises(DataError, match=r"nope\.txt does not exist.*data\.path"):
        build_data(cfg.data, seed=0)


# ---------------------------------------------------------------- the oracle


def tiny_oracle(tmp_path, V=4, E=3, H=2):
    """An oracle npz of random parameters, small enough to check by hand."""
    rng = np.random.default_rng(0)
    shapes = [(V, E)] + [(E, H), (H, H), (H,)] * 4 + [(H, V), (V,)]
    params = {f"p{k:02d}": rng.normal(size=s).astype(np.float32) for k, s in enumerate(shapes)}
    path = tmp_path / "oracle.npz"
    np.savez(path, **params)
    return path, params


def hand_log_probs(p, seq):
    """The README's equations in NumPy, float64: log p(token) at each step of seq."""
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    P = {k: v.astype(np.float64) for k, v in p.items()}
    h = c = np.zeros(P["p01"].shape[1])
    x, out = P["p00"][0], []
    for tok in seq:
        i = sig(x @ P["p01"] + h @ P["p02"] + P["p03"])
        f = sig(x @ P["p04"] + h @ P["p05"] + P["p06"])
        o = sig(x @ P["p07"] + h @ P["p08"] + P["p09"])
        cand = np.tanh(x @ P["p10"] + h @ P["p11"] + P["p12"])
        c = f * c + i * cand
        h = o * np.tanh(c)
        logits = h @ P["p13"] + P["p14"]
        out.append(logits - np.log(np.exp(logits).sum()))
        x = P["p00"][tok]
    return out


def test_oracle_nll_matches_the_readme_equations_by_hand(tmp_path):
    path, params = tiny_oracle(tmp_path)
    oracle = load_oracle(path)
    seqs = torch.tensor([[1, 3, 0], [2, 2, 1]])
    expected = -np.mean(
        [
            lp[t]
            for seq in seqs.tolist()
            for lp, t in zip(hand_log_probs(params, seq), seq, strict=True)
        ]
    )
    assert oracle.nll(seqs) == pytest.approx(expected, rel=1e-5)


def test_oracle_samples_follow_its_distribution(tmp_path):
    """First-token frequencies of 20,000 draws match the softmax of the first step."""
    path, params = tiny_oracle(tmp_path)
    oracle = load_oracle(path)
    x = oracle.sample(20_000, 2, torch.Generator().manual_seed(0))
    freq = np.bincount(x[:, 0].numpy(), minlength=4) / len(x)
    np.testing.assert_allclose(freq, np.exp(hand_log_probs(params, [0])[0]), atol=0.015)


def test_oracle_data_set_and_nll_oracle_metric(tmp_path):
    path, _ = tiny_oracle(tmp_path)
    cfg = resolve_config(model="seqgan", data="oracle", overrides=[
        f"data.path={path}", "data.n_train=50", "data.seq_len=6", "model.emb_dim=4",
        "model.hidden_dim=4", "model.d_widths=[2]", "model.d_filters=[2]",
    ])  # fmt: skip
    data = build_data(cfg.data, seed=0)
    assert data.batch(3).shape == (3, 6) and len(data.test) == 5 and data.info()["kind"] == "text"
    model = build_model(cfg.model, data.shape, data_info=data.info())
    out = nll_oracle(model, data, n=40)
    assert out["nll_oracle"] == pytest.approx(data.oracle.nll(model.sample(40, seed=0)))
    assert "40 samples" in out["nll_oracle_protocol"]
    with pytest.raises(MetricError, match="needs --data oracle"):
        nll_oracle(model, build_data(resolve_config(data="text", overrides=TEXT_TINY[:3]).data, 0))


# ---------------------------------------------------------------- BLEU


def test_bleu_of_identical_text_is_one_and_of_disjoint_text_zero():
    # sentences of 5+ words: a shorter one has no 5-grams, and smoothing then scores it < 1
    sents = [s.split() for s in TINY_TEXT.read_text().splitlines() if len(s.split()) >= 5]
    assert all(v == pytest.approx(1.0) for v in corpus_mean_bleu(sents, sents).values())
    assert all(v == 0.0 for v in corpus_mean_bleu([["zz", "yy"]], sents).values())
    assert all(v == pytest.approx(1.0) for v in self_bleu([sents[0]] * 3).values())


def test_bleu_and_self_bleu_equal_nltk_sentence_bleu():
    rng = random.Random(0)
    smooth = SmoothingFunction().method1
    for _ in range(20):
        refs = [[str(rng.randrange(4)) for _ in range(rng.randint(1, 8))] for _ in range(4)]
        hyps = [[str(rng.randrange(4)) for _ in range(rng.randint(0, 8))] for _ in range(4)]
        for n in (2, 5):
            w = (1 / n,) * n
            want = np.mean(
                [nltk_sentence_bleu(refs, h, w, smoothing_function=smooth) for h in hyps]
            )
            assert corpus_mean_bleu(hyps, refs, (n,))[n] == pytest.approx(want, abs=1e-12)
            want = np.mean([
                nltk_sentence_bleu(hyps[:k] + hyps[k + 1 :], h, w, smoothing_function=smooth)
                for k, h in enumerate(hyps)
            ])  # fmt: skip
            assert self_bleu(hyps, (n,))[n] == pytest.approx(want, abs=1e-12)


# ---------------------------------------------------------------- SeqGAN


def test_rollout_rewards_shape_and_last_token_is_d_of_the_sequence():
    model, data, _ = tiny_seqgan(["model.rollouts=3"])
    x = model.fakes(5)
    q = model.rewards(x)
    assert q.shape == (5, 12) and ((q > 0) & (q < 1)).all()
    model.nets["D"].eval()
    torch.testing.assert_close(q[:, -1], torch.sigmoid(model.nets["D"](x)))


def test_policy_gradient_step_moves_g_and_leaves_d():
    model, _, _ = tiny_seqgan()
    g0 = [p.clone() for p in model.nets["G"].parameters()]
    d0 = [p.clone() for p in model.nets["D"].parameters()]
    loss, reward = model.policy_gradient_step(8)
    assert math.isfinite(loss.item()) and 0 < reward.item() < 1
    assert moved(g0, model.nets["G"]) and not moved(d0, model.nets["D"])


def test_phases_follow_the_schedule_and_the_rollout_net_starts_as_g():
    model, data, _ = tiny_seqgan(["model.mle_steps=2", "model.d_pretrain_steps=1"])
    phases = [model.train_step(data.batch(32), s)["phase"].item() for s in range(2)]
    d_before = [p.clone() for p in model.nets["D"].parameters()]
    assert phases == [0, 0]
    model.train_step(data.batch(32), 2)  # D pre-training moves D only
    assert moved(d_before, model.nets["D"])
    g = {k: v.clone() for k, v in model.nets["G"].state_dict().items()}
    logs = model.train_step(data.batch(32), 3)  # adversarial: rollout net := G, then trails it
    assert logs["phase"].item() == 2 and logs["loss/G"].item() != 0
    for k, v in model.nets["G_rollout"].state_dict().items():
        torch.testing.assert_close(v, 0.8 * g[k] + 0.2 * model.nets["G"].state_dict()[k])


def test_sampling_is_seeded_and_temperature_sharpens():
    model, data, _ = tiny_seqgan()
    assert torch.equal(model.sample(6, seed=1), model.sample(6, seed=1))
    cold = model.sample(300, seed=0, temperature=0.05)
    hot = model.sample(300, seed=0, temperature=5.0)
    assert len(cold[:, 0].unique()) < len(hot[:, 0].unique()) / 2  # distinct first tokens
    with pytest.raises(ConfigError, match="temperature must be positive"):
        model.sample(2, temperature=0)


def test_text_model_on_image_data_is_a_clear_error():
    cfg = resolve_config(model="seqgan", data="ring")
    with pytest.raises(ConfigError, match="needs text data"):
        build_model(cfg.model, (2,), data_info={})


def test_filter_wider_than_the_text_is_a_clear_error():
    with pytest.raises(ConfigError, match="do not fit sequences of 12 tokens"):
        tiny_seqgan(["model.d_widths=[2,30]"])


def test_exact_resume_across_phases(tmp_path):
    """Killed after step 4 (MLE, then D pre-training) and resumed into the adversarial phase:
    the same weights and samples as an uninterrupted run."""
    sets = TEXT_TINY + TRAIN_TINY + [
        "model.mle_steps=3", "model.d_pretrain_steps=2", "train.steps=8", "train.ckpt_every=4",
    ]  # fmt: skip
    straight = api.train(None, "seqgan", "text", sets, tmp_path / "a")
    api.train(None, "seqgan", "text", sets, tmp_path / "b")
    (tmp_path / "b" / "checkpoints" / "step_0000008.pt").unlink()
    resumed = api.resume(tmp_path / "b")
    a, b = straight.state_dict()["nets"], resumed.state_dict()["nets"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(
        api.sample(tmp_path / "a", 10, seed=3), api.sample(tmp_path / "b", 10, seed=3)
    )


def test_text_mle_trains_and_lowers_its_nll():
    model, data, _ = tiny_seqgan(["model.lr_g=0.03"], model="text-mle")
    x, _ = data.reference(18)
    before = model.nll(x)
    for s in range(30):
        model.train_step(data.batch(32), s)
    assert model.nll(x) < before - 0.5


# ---------------------------------------------------------------- the command line


def test_cli_trains_on_a_text_file_and_samples_text(tmp_path, capsys):
    corpus = tmp_path / "mine.txt"
    corpus.write_text(TINY_TEXT.read_text())
    out = tmp_path / "run"
    sets = [a for s in TEXT_TINY[1:] + TRAIN_TINY for a in ("--set", s)]
    code, stdout, err = run_cli(
        capsys, "train", "--model", "seqgan", "--data", corpus, "--steps", "6", "--out", out, *sets
    )
    assert code == 0, err
    snapshot = (out / "samples" / "step_0000006.txt").read_text()
    assert snapshot.count("\n") == 32
    from gankit.viz.report import write_report

    report = write_report(out).read_text()  # the decoded text, not token ids as a picture
    assert html.escape(snapshot.splitlines()[0]) in report and "timelapse.png" not in report
    corpus.unlink()  # the run keeps its vocabulary: sampling needs no data
    code, stdout, err = run_cli(capsys, "sample", out, "--n", "7", "--temperature", "0.5")
    assert code == 0, err
    lines = stdout.splitlines()
    assert len(lines) == 8 and lines[-1].startswith("wrote 7 samples to")
    words = set(TINY_TEXT.read_text().split())
    assert set(" ".join(lines[:-1]).split()) <= words
    code, _, err = run_cli(capsys, "sample", out, "--n", "2", "--temperature", "-1")
    assert code == 2 and "temperature must be positive" in err


def test_cli_temperature_for_an_image_model_is_a_clear_error(tmp_path, capsys):
    from .conftest import TINY

    out = tmp_path / "gan"
    sets = [a for s in TINY for a in ("--set", s)]
    assert run_cli(capsys, "train", "--model", "gan", "--steps", "2", "--out", out, *sets)[0] == 0
    code, _, err = run_cli(capsys, "sample", out, "--n", "4", "--temperature", "0.7")
    assert code == 2 and len(err.splitlines()) == 1
    assert "--temperature needs a model that samples with a temperature (relgan, seqgan, text-mle)" in err


def test_text_metrics_through_evaluate_carry_their_protocols():
    from gankit.metrics import evaluate

    model, data, _ = tiny_seqgan()
    out = evaluate(model, data, ["bleu", "self-bleu", "nll-test"], n=20)
    assert {"eval/bleu2", "eval/bleu5", "eval/self_bleu2", "eval/nll_test"} <= set(out)
    assert "method1" in out["eval/bleu_protocol"] and "whitespace" in out["eval/bleu_protocol"]
    assert 0 <= out["eval/bleu2"] <= 1 and 0 <= out["eval/self_bleu3"] <= 1
    assert out["eval/nll_test"] == pytest.approx(model.nll(data.reference(10_000, "test")[0]))


def test_nll_counts_tokens_up_to_the_first_eos_only():
    model, data, _ = tiny_seqgan()
    x, _ = data.reference(4)
    logp = model.nets["G"].log_probs(x).detach()
    lengths = (x == model.eos_id).int().argmax(1) + 1  # each line's tokens and its <eos>
    want = -sum(logp[k, :n].sum() for k, n in enumerate(lengths.tolist())) / lengths.sum()
    assert model.nll(x) == pytest.approx(want.item(), rel=1e-5)
