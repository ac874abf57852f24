"""Hostile text and music input, met where a user meets it (`gankit train`, `gankit eval`): odd
files are one clear line and exit 2 or handled on purpose, eval against other text decodes with
the run's own vocabulary, corpora stay compact in memory, and loss/mle counts real tokens only."""

from __future__ import annotations

import json
from pathlib import Path

import pretty_midi
import pytest
import torch

from gankit import api
from gankit.config import resolve_config
from gankit.data import build_data
from gankit.data.text import decode_text
from gankit.errors import ConfigError
from gankit.metrics.text import corpus_mean_bleu
from gankit.models import build_model

from .conftest import MUSIC_GAN_TINY, TINY_TEXT, TRAIN_TINY, sets
from .conftest import cli as run

pytestmark = pytest.mark.hostile

MLE_TINY = ["model.emb_dim=8", "model.hidden_dim=8"]
WORDS = ["data.tokenizer=whitespace", "data.max_len=12"]


def train_text(capsys, corpus: Path, out: Path, *extra: str):
    """`gankit train --model text-mle` for 4 steps on a text file, tiny settings."""
    options = [*TRAIN_TINY, *MLE_TINY, *WORDS, *extra]
    args = ["train", "--model", "text-mle", "--data", corpus, "--steps", "4", "--out", out]
    return run(capsys, *args, *sets(*options))


def assert_one_line_error(code: int, err: str, words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert words in err, err


# ---------------------------------------------------------------- eval against other text


def test_eval_against_other_text_decodes_with_the_run_vocabulary(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert train_text(capsys, TINY_TEXT, run_dir)[0] == 0
    other = tmp_path / "other.txt"  # a smaller vocabulary, most of it unknown to the run
    other.write_text("".join(f"the cat {w} on the mat\n" for w in ("ran", "zzz", "sat") * 4))
    metrics = ["--metric", "self-bleu", "--metric", "bleu", "--metric", "nll-test"]
    code, own, err = run(capsys, "eval", run_dir, "--n", "50", *metrics[:2])
    assert code == 0, err
    other_data = [f"data.path={other}", *WORDS, "data.test_fraction=0.5"]
    code, out, err = run(
        capsys, "eval", run_dir, "--n", "50", *metrics, "--data", "text", *sets(*other_data)
    )
    assert code == 0, err
    got = json.loads(out)
    # the run's samples read the same whatever text they are scored against
    assert got["eval/self_bleu2"] == json.loads(own)["eval/self_bleu2"]
    # BLEU by hand: the run's samples in the run's words against other.txt's held-out lines
    model = api.load(run_dir)
    hyps = [s.split() for s in decode_text(model.sample(50, seed=0), model.data_info)]
    data = build_data(resolve_config(data="text", overrides=other_data).data, seed=0)
    refs = [s.split() for s in decode_text(data.reference(100, "test")[0], data.info())]
    assert got["eval/bleu2"] == pytest.approx(corpus_mean_bleu(hyps, refs)[2])
    assert "not Texygen's nltk.word_tokenize" in got["eval/bleu_protocol"]
    assert err.count("not in the run's vocabulary") == 1  # "zzz": said once, for all metrics
    assert got["eval/nll_test"] > 0 and "held-out lines" in got.get("eval/nll_test_protocol", "")


# ---------------------------------------------------------------- bounded memory


def test_corpus_is_stored_compactly_and_a_file_over_max_mb_is_refused(tmp_path, capsys):
    cfg = resolve_config(data="text", overrides=[f"data.path={TINY_TEXT}", *WORDS]).data
    data = build_data(cfg, seed=0)
    assert data.train.dtype == torch.int16 and data.batch(4).dtype == torch.long
    big = tmp_path / "big.txt"
    big.write_text("a few words on a line\n" * 3000)  # 66 kB
    code, _, err = train_text(capsys, big, tmp_path / "run", "data.max_mb=0.05")
    assert_one_line_error(code, err, "is 0.0629 MB, over data.max_mb=0.05; raise it with --set")
    assert not (tmp_path / "run").exists()


def test_one_enormous_line_is_refused_or_cut_without_reading_it_whole(tmp_path, capsys):
    huge = tmp_path / "huge.txt"
    huge.write_text("ab" * 1_500_000)  # 3 MB, no newline
    code, _, err = train_text(capsys, huge, tmp_path / "run", "data.tokenizer=char")
    assert_one_line_error(code, err, "line 1 has over")
    cfg = resolve_config(data="text", overrides=[f"data.path={huge}", "data.max_len=8",
        "data.too_long=truncate", "data.test_fraction=0"]).data  # fmt: skip
    data = build_data(cfg, seed=0)
    assert decode_text(data.train, data.info()) == ["abababa"]


# ---------------------------------------------------------------- too little text


def test_a_one_line_file_is_refused_before_training(tmp_path, capsys):
    one = tmp_path / "one.txt"
    one.write_text("the only line there is\n")
    code, _, err = train_text(capsys, one, tmp_path / "run")
    assert_one_line_error(code, err, "gives 1 sample(s); with data.test_fraction=0.1 it needs")
    assert not (tmp_path / "run").exists()  # refused before a step, not after training


def test_a_three_line_file_holds_one_out_so_evaluation_works(tmp_path, capsys):
    three = tmp_path / "three.txt"
    three.write_text("the cat sat\na dog ran\nbirds sing\n")
    code, out, err = train_text(capsys, three, tmp_path / "run")
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert "eval/bleu2" in rows[-1] and "eval/nll_test" in rows[-1]


def test_without_a_test_split_only_self_bleu_applies(tmp_path, capsys):
    code, _, err = train_text(capsys, TINY_TEXT, tmp_path / "run", "data.test_fraction=0")
    assert code == 0, err
    code, _, err = train_text(
        capsys, TINY_TEXT, tmp_path / "run2", "data.test_fraction=0", "train.metrics=[bleu]"
    )
    assert_one_line_error(code, err, "bleu and nll-test need held-out text")
    assert not (tmp_path / "run2" / "checkpoints").exists()


# ---------------------------------------------------------------- odd files


ODD_FILES = {
    "latin-1": ("caf\u00e9 cr\u00e8me\n".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
    "utf-16": ("hello there\n".encode("utf-16"), "UTF-16 text"),
    "binary": (b"\x7fELF\x02\x01\x00\x00garbage", "looks binary (it holds NUL bytes)"),
    "empty": (b"", "is empty"),
    "whitespace": (b"  \n\t\n\n   ", "is empty"),
    "cut utf-8": ("the end is caf\u00e9".encode()[:-1], "ends inside a UTF-8 character"),
}


@pytest.mark.parametrize("kind", ODD_FILES)
def test_odd_text_files_are_one_line_errors(tmp_path, capsys, kind):
    content, words = ODD_FILES[kind]
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, _, err = train_text(capsys, bad, tmp_path / "run")
    assert_one_line_error(code, err, words)


def test_utf8_bom_and_unicode_spaced_names_and_crlf_are_read_as_text(tmp_path, capsys):
    odd = tmp_path / "my po\u00e9mes \u2014 d\u00e9j\u00e0.txt"
    lines = TINY_TEXT.read_text().splitlines()
    odd.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())
    code, _, err = train_text(capsys, odd, tmp_path / "run")
    assert code == 0, err
    vocab = json.loads((tmp_path / "run" / "data.json").read_text())["vocab"]
    assert set(vocab) == {"<pad>", "<eos>", *" ".join(lines).split()}  # no BOM, no \r


# ---------------------------------------------------------------- loss/mle


def tiny_text_model(vocab: list[str], max_len: int):
    cfg = resolve_config(model="text-mle", data="text", overrides=[
        f"data.path={TINY_TEXT}", *MLE_TINY,
    ]).model  # fmt: skip
    torch.manual_seed(0)
    info = {"kind": "text", "vocab": vocab, "tokenizer": "whitespace", "max_len": max_len}
    return build_model(cfg, (max_len,), data_info=info)


def test_loss_mle_is_the_mean_nll_per_real_token():
    model = tiny_text_model(["<pad>", "<eos>", "a", "b"], 5)
    x = torch.tensor([[2, 3, 1, 0, 0], [3, 1, 0, 0, 0]])  # "a b", "b" with <eos> and padding
    logp = model.nets["G"].log_probs(x).detach()
    want = -(logp[0, :3].sum() + logp[1, :2].sum()) / 5  # 3 + 2 real tokens, <eos> included
    assert model.train_step(x, 0)["loss/G"].item() == pytest.approx(want.item(), rel=1e-6)


def tiny_seqgan_model():
    cfg = resolve_config(model="seqgan", data="text", overrides=[
        f"data.path={TINY_TEXT}", *MLE_TINY, "model.d_steps=1", "model.d_widths=[2]",
        "model.d_filters=[2]", "model.d_emb_dim=4", "model.rollouts=2",
    ]).model  # fmt: skip
    torch.manual_seed(0)
    info = {"kind": "text", "vocab": ["<pad>", "<eos>", "a"], "tokenizer": "char", "max_len": 4}
    return build_model(cfg, (4,), data_info=info)


def test_seqgan_mle_phase_logs_the_same_per_token_nll():
    model = tiny_seqgan_model()
    x = torch.tensor([[2, 1, 0, 0]])
    want = -model.nets["G"].log_probs(x).detach()[0, :2].mean()
    assert model.train_step(x, 0)["loss/mle"].item() == pytest.approx(want.item(), rel=1e-6)


def test_seqgan_fakes_end_in_padding_as_real_text_does():
    model = tiny_seqgan_model()  # G is not trained on padding, so D must not see it differ
    x = model.fakes(200)
    after_eos = ~model.real_tokens(x)
    assert after_eos.any() and (x[after_eos] == 0).all()


def test_fixed_length_mle_loss_is_exactly_the_plain_mean():
    model = tiny_text_model([str(k) for k in range(6)], 4)  # oracle-like: no <eos>, no padding
    x = torch.tensor([[0, 5, 2, 3], [1, 1, 4, 0]])
    want = -model.nets["G"].log_probs(x).detach().mean()
    assert torch.equal(model.train_step(x, 0)["loss/G"], want)


# ---------------------------------------------------------------- config rules


def test_data_config_ranges_are_field_rules():
    with pytest.raises(ConfigError, match="data.pitch_low must be at least 0, got -5"):
        resolve_config(data="jsb-chorales", overrides=["data.pitch_low=-5"])
    with pytest.raises(ConfigError, match="data.max_chorales must be at least 0"):
        resolve_config(data="bach-music21", overrides=["data.max_chorales=-1"])
    with pytest.raises(ConfigError, match="data.tokenizer must be one of char, whitespace"):
        resolve_config(data="chinese-poems", overrides=["data.tokenizer=bpe"])


# ---------------------------------------------------------------- music


def write_mid(path: Path, notes: list[tuple[int, float, float]]) -> None:
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in notes]
    pm.instruments.append(inst)
    pm.write(str(path))


def train_music(capsys, folder: Path, out: Path):
    options = ["data.bars=1", "train.steps=2", *MUSIC_GAN_TINY, "train.n_samples=8"]
    options += [s for s in TRAIN_TINY if "n_samples" not in s]
    args = ["train", "--model", "musegan", "--data", "midi-folder", "--out", out]
    return run(capsys, *args, *sets(f"data.path={folder}", *options))


def test_odd_midi_files_are_skipped_and_counted_in_one_line(tmp_path, capsys):
    folder = tmp_path / "my midi"
    folder.mkdir()
    write_mid(folder / "one note.mid", [(60, 0.0, 1.0)])  # shorter than a segment: padded
    write_mid(folder / "two.mid", [(62, 0.0, 2.0), (65, 1.0, 3.0)])
    write_mid(folder / "silent.mid", [])
    (folder / "zero.mid").write_bytes(b"")
    (folder / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\xff")
    (folder / "photo.mid").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    write_mid(folder / "stray.mid", [(60, 0.0, 1.0), (64, 9000.0, 9001.0)])  # a 2.5-hour roll
    code, _, err = train_music(capsys, folder, tmp_path / "run")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning" in line.lower()]
    assert len(warnings) == 1 and "skipped 5 MIDI file(s)" in warnings[0], err
    info = json.loads((tmp_path / "run" / "data.json").read_text())
    assert info["pieces"]["train"] + info["pieces"].get("test", 0) == 2


def test_a_midi_folder_with_nothing_usable_is_one_line(tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    write_mid(folder / "silent.mid", [])
    (folder / "zero.mid").write_bytes(b"")
    (folder / "text.mid").write_text("not a midi file at all")
    code, _, err = train_music(capsys, folder, tmp_path / "run")
    assert_one_line_error(code, err, "none of the 3 MIDI files")


def test_words_cut_between_pieces_of_a_long_line_are_joined_again(tmp_path):
    long = tmp_path / "long.txt"
    long.write_text("alpha beta gamma delta epsilon " * 40_000)  # 1.2 MB, no newline
    cfg = resolve_config(data="text", overrides=[f"data.path={long}", "data.mode=windows",
        "data.tokenizer=whitespace", "data.max_len=5"]).data  # fmt: skip
    data = build_data(cfg, seed=0)
    assert set(data.vocab.tokens) == {
        "<pad>",
        "<eos>",
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
    }
    assert len(data.train) + len(data.test) == 40_000  # every word once, none split in two
