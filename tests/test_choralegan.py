"""ChoraleGAN: voices by hand, a train step, save/load, priming by a bar from the command line."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest
import torch

from gankit import api
from gankit.data.music import midi_notes, prime_bar
from gankit.errors import DataError
from gankit.metrics import music as m
from gankit.models.choralegan import chroma, straight_through_onehot

from .conftest import TRAIN_TINY, music_tiny, tiny_jsb_json, tiny_model
from .conftest import cli as run

TINY = ["model.z_dim=8", "model.channels=8", "model.d_channels=8", "model.d_steps=1"]
INFO = {"resolution": 4, "beats_per_bar": 4, "pitch_low": 36, "shape": [1, 16, 48]}


def write_mid(path, notes, tempo=120.0):
    """A MIDI file of (pitch, start, end) in seconds (a beat = 0.5 s at 120 bpm)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    inst = pretty_midi.Instrument(0)
    inst.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in notes]
    pm.instruments.append(inst)
    pm.write(str(path))
    return path


def test_straight_through_voices_are_one_hot_with_softmax_gradients():
    logits = torch.tensor([[0.0, 2.0, 1.0]], requires_grad=True)
    out = straight_through_onehot(logits)
    assert out.tolist() == [[0.0, 1.0, 0.0]]
    (out * torch.tensor([1.0, 0.0, 0.0])).sum().backward()
    p = torch.softmax(torch.tensor([0.0, 2.0, 1.0]), 0)
    assert torch.allclose(logits.grad[0], p[0] * (torch.eye(3)[0] - p))  # d softmax_0 / d logits


def test_chroma_folds_octaves_by_hand():
    roll = torch.zeros(1, 1, 2, 24)
    roll[0, 0, 0, [0, 12, 7]] = 1  # C in two octaves and a G
    assert chroma(roll, 2)[0, 0, 0].tolist() == [1.0] + [0.0] * 6 + [0.5] + [0.0] * 4
    assert chroma(roll, 2)[0, 0, 1].sum() == 0


def test_generator_sounds_at_most_four_voices_and_d_scores_each_sample():
    model, data, _ = tiny_model("choralegan")
    x = model.sample(16, seed=0)
    assert x.shape == (16, 1, 16, 48) and set(x.unique().tolist()) <= {-1.0, 1.0}
    assert ((x > 0).sum(-1) <= 4).all()  # voices in unison or resting sound fewer
    assert model.nets["D"](x).shape == (16,)


def test_train_step_changes_g_and_d():
    model, data, _ = tiny_model("choralegan")
    before = {k: v.clone() for k, v in model.nets.state_dict().items()}
    logs = model.train_step(data.batch(32), 0)
    assert torch.isfinite(logs["loss/D"]) and torch.isfinite(logs["loss/G"])
    for net in ("G", "D"):
        changed = [
            k for k, v in model.nets[net].state_dict().items() if "weight" in k
            if not torch.equal(v, before[f"{net}.{k}"])
        ]  # fmt: skip
        assert changed, f"{net} did not change"


@pytest.fixture(scope="module")
def chorale_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("chorale") / "run"
    # 2-bar segments: a primed sample has a bar after the prime
    two_bars = [f"data.path={tiny_jsb_json()}", "data.bars=2"]
    sets = [*two_bars, *TINY, *TRAIN_TINY, "train.n_samples=16", "train.steps=10"]
    api.train(model="choralegan", data="jsb-chorales", overrides=sets, out=out)
    return out


def test_save_load_round_trip_gives_identical_samples(chorale_run):
    a = api.load(chorale_run).sample(8, seed=3)
    b = api.load(chorale_run).sample(8, seed=3)
    assert torch.equal(a, b) and not torch.equal(a, api.load(chorale_run).sample(8, seed=4))


def test_prime_bar_reads_the_first_bar_of_a_midi_file(tmp_path):
    # at 120 bpm a 16th is 0.125 s: C4 for a beat, then G4 from beat 2 past the bar's end, and
    # a C7 (above the range) that moves down by octaves, and a note of bar 2 that is dropped
    path = write_mid(
        tmp_path / "p.mid", [(60, 0.0, 0.5), (67, 1.0, 3.0), (96, 0.0, 0.25), (62, 2.5, 3)]
    )
    bar = prime_bar(path, INFO)
    assert bar.shape == (16, 48)
    expect = np.zeros((16, 48), bool)
    expect[0:4, 60 - 36] = True
    expect[8:16, 67 - 36] = True
    expect[0:2, 84 - 36 - 12] = True  # C7 = 96 -> 72 (C5), the highest C in 36..83
    assert (bar == expect).all()


def test_primed_samples_start_with_the_prime_and_differ_after(chorale_run, capsys, tmp_path):
    primer = write_mid(tmp_path / "primer.mid", [(60, 0.0, 2.0), (64, 0.0, 1.0), (67, 1.0, 2.0)])
    out = tmp_path / "cont.mid"
    code, _, err = run(capsys, "sample", chorale_run, "--n", 3, "--prime", primer, "--out", out)
    assert code == 0, err
    bar = prime_bar(primer, INFO)
    x = api.sample(chorale_run, 3, prime=primer)
    rolls = m.binarize(x)
    assert rolls.shape == (3, 32, 48) and (rolls[:, :16] == bar).all()  # the primer's bar first
    assert len(midi_notes(out, 4)) == len(m.note_runs(rolls)[0])  # the file holds those samples
    z = torch.randn(2, 8)
    model = api.load(chorale_run)
    free = m.binarize(model.sample(z=z))
    primed = m.binarize(model.sample(z=z, prime=torch.from_numpy(bar)))
    assert not (free[:, :16] == bar).all()  # without a prime G writes its own first bar
    assert (primed[:, :16] == bar).all() and not (primed[:, 16:] == bar).all()


@pytest.mark.parametrize(
    "case, words",
    [
        ("missing", "no such file"),
        ("garbage", "not a readable MIDI file"),
        ("late", "no notes in its first bar"),
    ],
)
def test_a_bad_prime_is_one_line_and_exit_code_2(chorale_run, capsys, tmp_path, case, words):
    path = tmp_path / f"{case}.mid"
    if case == "garbage":
        path.write_bytes(b"not midi at all")
    elif case == "late":
        write_mid(path, [(60, 4.0, 5.0)])  # starts in bar 3
    code, out, err = run(capsys, "sample", chorale_run, "--n", 2, "--prime", path)
    assert code == 2 and words in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(DataError, match=words):
        api.sample(chorale_run, 2, prime=path)


def test_prime_on_a_model_that_cannot_continue_a_bar_is_exit_code_2(capsys, tmp_path):
    out = tmp_path / "rnn"
    sets = [*music_tiny(), "model.hidden=8", *TRAIN_TINY, "train.n_samples=16", "train.steps=2"]
    api.train(model="music-rnn", data="jsb-chorales", overrides=sets, out=out)
    primer = write_mid(tmp_path / "p.mid", [(60, 0.0, 1.0)])
    code, _, err = run(capsys, "sample", out, "--n", 2, "--prime", primer)
    assert code == 2 and "--prime needs a model that continues a first bar (choralegan)" in err
    assert "Traceback" not in err


def test_eighth_note_generator_holds_every_choice_two_steps():
    model, _, _ = tiny_model("choralegan", extra=["model.note_steps=2"])
    rolls = m.binarize(model.sample(8, seed=0))
    assert (rolls[:, 0::2] == rolls[:, 1::2]).all()  # steps 2k and 2k + 1 alike


@pytest.mark.parametrize("distinct, sounding", [(True, [0, 1, 2, 3]), (False, [0])])
def test_distinct_voices_take_the_best_free_pitch(distinct, sounding):
    from gankit.models.choralegan import BarGenerator

    g = BarGenerator(hidden=4, pitches=12, voices=4, channels=4, distinct=distinct)
    scores = torch.cat([torch.arange(12, 0, -1.0), torch.tensor([-5.0])])  # pitch 0 best, rest last
    g.logits = lambda h: scores.expand(len(h), 4, 16, 13)  # every voice wants the same pitches
    roll = g(torch.zeros(2, 4))
    assert roll.shape == (2, 16, 12)
    assert (
        torch.nonzero(roll[0, 0]).flatten().tolist() == sounding
        and (roll[:, 1:] == roll[:, :1]).all()
    )
