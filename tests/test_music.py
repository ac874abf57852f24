"""Music: piano rolls to MIDI and back, metrics by hand, bad MIDI input, models, resume, CLI."""

from __future__ import annotations

import json
import math
import wave
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import torch

from gankit import api
from gankit.cli import main
from gankit.config import resolve_config
from gankit.data import build_data
from gankit.data.music import MusicConfig, midi_notes, piece_roll, segments, steps_to_notes
from gankit.errors import ConfigError, DataError, MetricError
from gankit.metrics import evaluate
from gankit.metrics import music as m
from gankit.models import build_model
from gankit.viz.music import write_midi
from gankit.viz.samples import write_samples

from .conftest import MUSIC_GAN_TINY, TRAIN_TINY, music_tiny, tiny_jsb_json
from .conftest import cli as run

INFO = {"kind": "music", "resolution": 4, "beats_per_bar": 4, "pitch_low": 36, "tempo": 100.0}


def write_mid(path: Path, notes: list[tuple[int, float, float]], drums: bool = False) -> Path:
    """A MIDI file of (pitch, start, end) in seconds at 120 bpm (a beat = 0.5 s)."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    inst = pretty_midi.Instrument(0, is_drum=drums)
    inst.notes = [pretty_midi.Note(90, p, s, e) for p, s, e in notes]
    pm.instruments.append(inst)
    path.parent.mkdir(parents=True, exist_ok=True)
    pm.write(str(path))
    return path


def folder_set(path: Path, *extra: str):
    cfg = resolve_config(data="midi-folder", overrides=[f"data.path={path}", *extra]).data
    return build_data(cfg, seed=0)


# ---------------------------------------------------------------- encoding


def test_jsb_steps_become_notes_and_segments():
    steps = [[60, 55], [60, 55], [62, -1], [-1, -1]]
    assert sorted(steps_to_notes(steps)) == [(55, 0, 2), (60, 0, 2), (62, 2, 3)]
    cfg = MusicConfig(resolution=1, bars=1, hop_beats=4, pitch_low=48, n_pitches=24)
    roll, moved = piece_roll([(60, 0, 6), (49, 5, 9)], cfg)
    assert moved == 0 and roll.shape == (9, 24) and roll[:6, 12].all() and roll[5:9, 1].all()
    assert segments(roll, cfg).shape == (2, 4, 24)  # starts 0 and 4; 8 would run past the end
    short, _ = piece_roll([(60, 0, 1)], cfg)
    assert segments(short, cfg).shape == (1, 4, 24)  # a short piece is padded to one segment


def test_piano_roll_to_midi_and_back_is_exact(tmp_path):
    rng = np.random.default_rng(0)
    rolls = rng.random((1, 64, 48)) < 0.1
    write_midi(rolls, INFO, tmp_path / "x.mid")
    cfg = MusicConfig(resolution=4, bars=4)
    back, moved = piece_roll(midi_notes(tmp_path / "x.mid", 4), cfg)
    assert moved == 0 and np.array_equal(back[:64], rolls[0])


def test_jsb_data_set_and_splits():
    data = build_data(resolve_config(data="jsb-chorales", overrides=music_tiny()).data, 0)
    info = data.info()
    assert data.shape == (1, 16, 48) and info["kind"] == "music"
    assert info["pieces"] == {"train": 2, "valid": 1, "test": 1}
    assert info["splits"] == ["train", "valid", "test"] and info["transposed_notes"] == 0
    assert len(data.reference(100, "valid")[0]) == 3  # 48 steps: bars starting at 0, 16, 32
    x = data.batch(4)
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    with pytest.raises(ConfigError, match="train, valid, test"):
        data.reference(2, "dev")


def test_missing_jsb_file_names_the_file(tmp_path):
    cfg = resolve_config(data="jsb-chorales", overrides=[f"data.path={tmp_path}/nope.json"]).data
    with pytest.raises(DataError, match="nope.json"):
        build_data(cfg, 0)
    (tmp_path / "bad.json").write_text('{"train": 3}')
    cfg = resolve_config(data="jsb-chorales", overrides=[f"data.path={tmp_path}/bad.json"]).data
    with pytest.raises(DataError, match="bad.json"):
        build_data(cfg, 0)


# ---------------------------------------------------------------- bad MIDI input


def test_corrupt_and_empty_midi_files_are_skipped_and_counted(tmp_path, capsys):
    write_mid(tmp_path / "good.mid", [(60, 0.0, 1.0), (64, 0.5, 2.0)])
    (tmp_path / "broken.mid").write_bytes(b"MThd\x00\x00garbage")
    write_mid(tmp_path / "sub" / "silent.MIDI", [])
    write_mid(tmp_path / "drums.mid", [(36, 0.0, 1.0)], drums=True)  # drums are not notes
    data = folder_set(tmp_path)
    info = data.info()
    assert info["skipped"] == 3 and info["pieces"] == {"train": 1}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skipped 3 MIDI file(s)" in err
    x = data.reference(10)[0]
    assert len(x) == 1 and (x > 0).sum() == 4 * 2 + 4 * 3  # 2 beats of C4, 3 of E4 (0.5 s)


@pytest.mark.parametrize(
    "files, words",
    [
        ({}, "no MIDI files"),
        ({"a.txt": b"text"}, "no MIDI files"),
        ({"x.mid": b"not midi"}, "none of the 1 MIDI files"),
    ],
)
def test_folders_without_usable_midi_are_one_line_errors(tmp_path, files, words):
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=words):
        folder_set(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        folder_set(tmp_path / "missing")


def test_a_folder_of_silent_midi_is_an_error(tmp_path):
    write_mid(tmp_path / "a.mid", [])
    with pytest.raises(DataError, match="readable notes"):
        folder_set(tmp_path)


def test_pitches_out_of_range_move_by_octaves(tmp_path, capsys):
    write_mid(tmp_path / "a.mid", [(100, 0.0, 0.5), (20, 0.5, 1.0), (60, 0.0, 1.0)])
    data = folder_set(tmp_path)  # range 36..83
    assert data.info()["transposed_notes"] == 2
    assert "moved 2 note(s)" in capsys.readouterr().err
    roll = data.reference(1)[0][0, 0] > 0
    assert roll[:4, 76 - 36].all() and roll[4:8, 44 - 36].all() and roll[:8, 60 - 36].all()


# ---------------------------------------------------------------- metrics by hand


def hand_roll() -> np.ndarray:
    """Two bars of 4 steps from C4 (pitch_low 60): bar 1 holds C 4 steps, E 2, G 1, B 1 (at
    step 0, with C and E: 3 at once); bar 2 is empty."""
    roll = np.zeros((1, 8, 12), dtype=bool)
    roll[0, 0:4, 0] = True  # C, 4 steps
    roll[0, 0:2, 4] = True  # E, 2 steps
    roll[0, 2, 7] = True  # G, 1 step
    roll[0, 0, 11] = True  # B, 1 step
    return roll


def test_note_runs_and_per_bar_metrics_by_hand():
    roll = hand_roll()
    sample, row, length = m.note_runs(roll)
    assert sorted(zip(row.tolist(), length.tolist(), strict=True)) == [
        (0, 4),
        (4, 2),
        (7, 1),
        (11, 1),
    ]
    assert m.empty_bar_rate(roll, 4) == 0.5
    assert m.pitch_classes_per_bar(roll, 4, 60) == 2.0  # 4 classes, then 0
    assert m.qualified_note_rate(roll, 2) == 0.5  # C and E are 2 steps or more
    assert m.polyphony(roll) == pytest.approx((3 + 2 + 2 + 1) / 4)  # silent steps left out


def test_in_scale_and_histogram_distance_by_hand():
    roll = hand_roll()
    assert m.in_scale_ratio(roll, 60) == 1.0  # C E G B are all in C major
    roll[0, 6, 1] = True  # a C#: 4 of 5 notes fit the best scale
    assert m.in_scale_ratio(roll, 60) == pytest.approx(0.8)
    only_c = np.zeros((2, 4, 12), dtype=bool)
    only_c[:, 0, 0] = True
    c_and_g = only_c.copy()
    c_and_g[1] = False
    c_and_g[1, 0, 7] = True
    assert m.pc_hist_distance(only_c, only_c, 60) == 0.0
    assert m.pc_hist_distance(only_c, c_and_g, 60) == pytest.approx(0.5)
    assert m.pitch_class_counts(c_and_g, 61)[1, 8] == 1  # the lowest row is C# now


def test_silence_gives_zeros_not_nans():
    silent = np.zeros((3, 8, 12), dtype=bool)
    stats = m.roll_metrics(silent, hand_roll(), {**INFO, "resolution": 1, "pitch_low": 60})
    assert stats["empty_bar_rate"] == 1.0 and all(math.isfinite(v) for v in stats.values())


def test_music_metrics_through_evaluate_need_music_and_a_likelihood():
    cfg = resolve_config(
        model="musegan", data="jsb-chorales", overrides=music_tiny() + MUSIC_GAN_TINY
    )
    data = build_data(cfg.data, 0)
    model = build_model(cfg.model, data.shape)
    out = evaluate(model, data, ["music"], n=20)
    assert set(out) == {f"eval/{k}{p}" for k in m.ALL_KEYS for p in ("", "_protocol")}
    assert "20 generated segments" in out["eval/polyphony_protocol"]
    with pytest.raises(MetricError, match="likelihood"):
        evaluate(model, data, ["test-nll"], n=20)
    ring = build_data(resolve_config(data="ring").data, 0)
    with pytest.raises(MetricError, match="music data set"):
        m.test_nll.check(ring)


# ---------------------------------------------------------------- models


def make(model: str, extra=()):
    nets = MUSIC_GAN_TINY if model == "musegan" else ["model.hidden=8"]
    cfg = resolve_config(model=model, data="jsb-chorales", overrides=music_tiny() + nets + [*extra])
    data = build_data(cfg.data, 0)
    torch.manual_seed(0)
    return build_model(cfg.model, data.shape), data


def test_musegan_shapes_and_wrong_data():
    model, data = make("musegan", ["model.pack=2"])
    assert model.sample(3, seed=0).shape == (3, 1, 16, 48)
    assert model.nets["D"](data.batch(4)).shape == (2,)
    with pytest.raises(ConfigError, match="piano rolls"):
        build_model(model.cfg, (1, 8, 8))


def test_binary_generator_passes_gradients_and_minibatch_std_sees_collapse():
    from gankit.nn.progressive import MinibatchStd

    model, _ = make("musegan")
    z = torch.randn(4, model.z_dim)
    x = model.nets["G"](z)
    assert set(x.unique().tolist()) <= {-1.0, 1.0}
    x.sum().backward()  # straight through: the binary output still trains G
    assert model.nets["G"].fc.weight.grad.abs().sum() > 0
    same = torch.ones(8, 3, 2, 1)
    # sqrt(0 + eps): identical samples give the smallest std, with a finite gradient
    assert torch.allclose(MinibatchStd()(same)[:, 3], torch.full((8, 2, 1), 1e-4))
    spread = torch.arange(8.0).view(8, 1, 1, 1).expand(8, 3, 2, 1)
    assert (MinibatchStd()(spread)[:, 3] > 0).all()


def test_rnn_nll_is_bernoulli_and_samples_follow_z():
    model, data = make("music-rnn")
    G = model.nets["G"]
    torch.nn.init.zeros_(G.out.weight)
    torch.nn.init.zeros_(G.out.bias)  # p = 1/2 everywhere: 48 ln 2 nats per step
    x = data.batch(5)
    assert torch.allclose(model.nll(x), torch.full((5,), 48 * math.log(2)))
    z = torch.randn(2, model.z_dim)
    a = model.sample(z=z)
    assert torch.equal(a, model.sample(z=z)) and set(a.unique().tolist()) <= {-1.0, 1.0}
    # with p = 1/2 a cell sounds where Phi(z) < 1/2, i.e. z < 0
    assert torch.equal(a[:, 0] > 0, z.view(2, 16, 48) < 0)


def test_rnn_learns_the_tiny_chorales():
    model, data = make("music-rnn", ["model.hidden=32", "model.lr=0.01"])
    model.optimizers = model.configure_optimizers()
    x = data.reference(100, "test")[0]
    before = model.test_nll(x).mean()
    for step in range(30):
        model.train_step(data.batch(16), step)
    assert model.test_nll(x).mean() < 0.5 * before


# ---------------------------------------------------------------- runs and the command line

TINY_RUN = music_tiny() + MUSIC_GAN_TINY + TRAIN_TINY + ["train.n_samples=16"]


@pytest.fixture(scope="module")
def music_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("music") / "run"
    sets = [a for s in TINY_RUN for a in ("--set", s)]
    with pytest.raises(SystemExit) as e:
        main(
            [
                "train",
                "--model",
                "musegan",
                "--data",
                "jsb-chorales",
                "--steps",
                10,
                "--out",
                out,
                *sets,
            ]
        )
    assert e.value.code == 0
    return out


def test_training_writes_piano_roll_snapshots_and_music_metrics(music_run):
    assert (music_run / "samples" / "step_0000010.png").is_file()
    assert not list((music_run / "samples").glob("*.wav"))  # no audio per snapshot
    rows = [json.loads(line) for line in (music_run / "metrics.jsonl").read_text().splitlines()]
    assert "eval/polyphony" in rows[-1] and "eval/in_scale_ratio_protocol" in rows[-1]
    assert json.loads((music_run / "data.json").read_text())["kind"] == "music"


def test_sample_writes_midi_audio_and_picture_and_never_overwrites(music_run, capsys, tmp_path):
    out = tmp_path / "song.mid"
    code, _, err = run(capsys, "sample", music_run, "--n", 3, "--out", out)
    assert code == 0, err
    notes = midi_notes(out, 4)
    x = api.load(music_run).sample(3, seed=0)
    assert len(notes) == len(m.note_runs(m.binarize(x))[0])  # every note of every segment
    with wave.open(str(out.with_suffix(".wav"))) as f:  # 3 x (1 bar + 1 beat) at 100 bpm
        assert f.getframerate() == 16_000 and f.getnframes() == int(3 * 5 * 0.6 * 16_000) + 1
    assert out.with_suffix(".png").stat().st_size > 1000
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    code, _, err = run(capsys, "sample", music_run, "--n", 3, "--out", out)
    assert code == 2 and "exists" in err and "Traceback" not in err
    (tmp_path / "other.mid").unlink(missing_ok=True)
    (tmp_path / "other.wav").write_bytes(b"mine")
    code, _, err = run(capsys, "sample", music_run, "--n", 3, "--out", tmp_path / "other.mid")
    assert code == 2 and "other.wav exists" in err and not (tmp_path / "other.mid").exists()
    assert all(p.read_bytes() == b for p, b in before.items())
    code, _, err = run(capsys, "sample", music_run, "--out", tmp_path / "x.npz")
    assert code == 2 and ".mid" in err


def test_default_sample_path_is_a_midi_file(music_run, capsys):
    code, out, err = run(capsys, "sample", music_run, "--n", 2, "--seed", 5)
    assert code == 0, err
    path = music_run / "samples" / "sample_n2_seed5.mid"
    assert (
        path.is_file() and path.with_suffix(".wav").is_file() and path.with_suffix(".png").is_file()
    )


def test_png_or_wav_alone_and_the_synthesiser_plays_the_notes(tmp_path):
    x = np.where(hand_roll()[:, None], 1.0, -1.0)
    info = {**INFO, "resolution": 1, "pitch_low": 60, "tempo": 60.0}  # a step is a second
    write_samples(x, info, tmp_path / "a.wav")
    write_samples(x, info, tmp_path / "a.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a.wav"]
    with wave.open(str(tmp_path / "a.wav")) as f:
        audio = np.frombuffer(f.readframes(f.getnframes()), "<i2") / 32767
    assert len(audio) == 9 * 16_000 + 1  # 8 steps and a beat of silence
    loud = [np.abs(audio[s * 16_000 : (s + 1) * 16_000]).max() for s in range(9)]
    assert min(loud[:4]) > 0.01 and max(loud[4:]) == 0  # C sounds (fading) for 4 s, then silence
    spectrum = np.abs(np.fft.rfft(audio[4000:12000]))  # step 0: C4, E4 and B4 (1 Hz bins / 2)
    peak = np.argmax(spectrum) / 0.5
    assert min(abs(peak - f) for f in (261.6, 329.6, 493.9)) < 3


def test_midi_folder_and_preset_from_the_command_line(tmp_path, capsys):
    for i in range(3):
        write_mid(tmp_path / "midi" / f"{i}.mid", [(60 + i, 0.0, 2.0), (67, 1.0, 3.0)])
    args = ["train", "jsb-musegan", "--data", "midi-folder", "--out", tmp_path / "run"]
    sets = [f"data.path={tmp_path / 'midi'}", "data.bars=1", "train.steps=2", *MUSIC_GAN_TINY]
    sets += [s for s in TRAIN_TINY if "n_samples" not in s] + ["train.n_samples=8"]
    code, out, err = run(capsys, *args, *[a for s in sets for a in ("--set", s)])
    assert code == 0, err
    cfg = (tmp_path / "run" / "config.yaml").read_text()
    assert "name: musegan" in cfg and "name: midi-folder" in cfg
    assert tiny_jsb_json().is_file()
