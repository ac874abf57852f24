"""Property-based fuzzing of the command line and the config parser: garbled arguments, values
and files give exit code 2 and one message, never a traceback."""

import dataclasses
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.config import TrainConfig, resolve_config
from gankit.errors import GankitError
from gankit.registry import DATASETS, MODELS
from gankit.training.trainer import Trainer

FUZZ = settings(
    max_examples=int(os.environ.get("GANKIT_FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize="GANKIT_FUZZ_EXAMPLES" not in os.environ,  # CI: the same inputs every run
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
KEYS = [f"train.{f.name}" for f in dataclasses.fields(TrainConfig)]
KEYS += ["model.lr_g", "model.z_dim", "model.name", "data.name", "data.std", "data.img_size"]
KEYS += ["steps", "model", "train", "model.nope", "", ".", "model..x", "a.b.c.d"]
VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["-1", "0", "1e9", "nan", "inf", "[1,2", "{a: 1}", "[[0,0]]", "true", "~"]),
    st.sampled_from(MODELS.names() + DATASETS.names()),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True).map(str),
)
OVERRIDE = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS) | st.text(max_size=10), VALUES),
    st.text(max_size=20),
)
NAMES = st.none() | st.sampled_from(MODELS.names() + DATASETS.names()) | st.text(max_size=10)


@FUZZ
@given(model=NAMES, data=NAMES, overrides=st.lists(OVERRIDE, max_size=4))
def test_config_parser_accepts_or_explains(model, data, overrides):
    try:
        cfg = resolve_config(None, model, data, overrides)
    except GankitError as e:
        assert str(e) and "\n" not in str(e).strip()
    else:
        assert cfg.train.steps > 0 and cfg.train.batch_size > 0


ARGS = st.one_of(
    st.sampled_from(["--model", "--data", "--steps", "--out", "--set", "--resume", "--n"]),
    st.sampled_from(["--metric", "--seed", "--class", "--help", "-x", "--", "=", "runs"]),
    st.sampled_from(MODELS.names() + DATASETS.names() + ["default", "ring-gan", "fid"]),
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(KEYS), VALUES),
    st.text(max_size=12),
)
COMMANDS = st.sampled_from(["train", "sample", "eval", "report", "list", "export", "nope", ""])


@FUZZ
@given(command=COMMANDS, args=st.lists(ARGS, max_size=6))
def test_command_line_never_shows_a_traceback(tmp_path, monkeypatch, capsys, command, args):
    monkeypatch.chdir(tmp_path)  # runs/ of any run that gets as far as starting
    monkeypatch.setattr(Trainer, "fit", lambda self: {})  # parsing is under test, not training
    with pytest.raises(SystemExit) as e:
        main([command, *args] if command else args)
    out, err = capsys.readouterr()
    assert e.value.code in (0, 2), err
    assert "Traceback" not in err
    if e.value.code == 2:
        assert err.strip() or "Usage" in out  # a message, or the help for a bare `gankit`


@FUZZ
@given(content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_garbled_files_are_one_line_errors(tmp_path, monkeypatch, capsys, content):
    monkeypatch.setattr(Trainer, "fit", lambda self: {})  # a file that parses may start a run
    preset = tmp_path / "mine.yaml"
    preset.write_bytes(content)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "config.yaml").write_bytes(content)
    out = tmp_path / f"new-{uuid.uuid4().hex}"
    for argv in (["train", str(preset), "--out", str(out)], ["sample", str(run)]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        err = capsys.readouterr().err
        assert e.value.code in (0, 2) and "Traceback" not in err, (argv, err)
        if e.value.code == 2:
            assert err.count("\n") == 1 and err.startswith("gankit: error: "), err
    assert e.value.code == 2  # a run without checkpoints has nothing to sample from


# ---------------------------------------------------------------- file contents


def _valid_files() -> dict[str, bytes]:
    """One valid small file of each kind a user gives gankit, to be damaged by the fuzzer."""
    import io

    import numpy as np
    from PIL import Image

    png, jpg = io.BytesIO(), io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(png, "PNG")
    Image.fromarray(pixels).save(jpg, "JPEG")
    points = io.BytesIO()
    np.save(points, np.random.default_rng(0).normal(size=(8, 2)).astype(np.float32))
    return {
        "mid": _midi_bytes(),
        "png": png.getvalue(),
        "jpg": jpg.getvalue(),
        "npy": points.getvalue(),
        "csv": b"x,y\n0.1,0.2\n0.3,-0.4\n1,2\n",
        "txt": "the cat sat\non the mat\nà la café\n".encode() * 4,
    }


def _midi_bytes() -> bytes:
    """Two bars of four-part quarter notes as a MIDI file."""
    import io

    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for low in (48, 55, 60, 67):
        inst = pretty_midi.Instrument(program=0)
        inst.notes += [pretty_midi.Note(80, low + k % 5, k * 0.5, k * 0.5 + 0.5) for k in range(16)]
        pm.instruments.append(inst)
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()


VALID = _valid_files()
FOLDERS = ("png", "jpg", "mid")  # kinds read from a folder: a good file lies beside the damaged
DAMAGE = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("overwrite"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("replace"), st.binary(max_size=64)),
)


def _damaged(kind: str, damage: tuple) -> bytes:
    good = VALID[kind]
    if damage[0] == "truncate":
        return good[: int(len(good) * damage[1])]
    if damage[0] == "overwrite":
        at = int(len(good) * damage[1])
        return good[:at] + damage[2] + good[at + len(damage[2]) :]
    return damage[1]


def _train_args(kind: str, path, folder) -> list[str]:
    if kind in ("png", "jpg"):
        return ["--data", str(folder), "--set", "data.img_size=8", "--set", "data.workers=0"]
    if kind == "mid":
        return ["--model", "musegan", "--data", "midi-folder", "--set", f"data.path={folder}"]
    if kind == "txt":
        return ["--data", str(path), "--model", "text-mle"]
    return ["--data", str(path), "--model", "gan"]


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), damage=DAMAGE)
def test_damaged_user_files_are_read_or_refused_in_one_line(
    tmp_path, monkeypatch, capsys, kind, damage
):
    """Training on a user's file damaged anywhere (cut short, bytes overwritten, or other bytes
    altogether) reads it, or skips it with a warning, or refuses in one line: never a traceback.
    Folders (images, MIDI) hold one good file beside the damaged one."""
    monkeypatch.setattr(Trainer, "fit", lambda self: {})  # reading the data is under test
    case = tmp_path / uuid.uuid4().hex
    folder = case / "images"
    folder.mkdir(parents=True)
    path = (folder if kind in FOLDERS else case) / f"mine.{kind}"
    path.write_bytes(_damaged(kind, damage))
    if kind in FOLDERS:
        (folder / f"good.{kind}").write_bytes(VALID[kind])
    before = path.read_bytes()
    argv = ["train", *_train_args(kind, path, folder), "--out", str(case / "run")]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert e.value.code in (0, 2), err
    if e.value.code == 2:
        assert err.strip().count("\n") == 0 or "warning" in err.lower(), err
        assert err.strip().splitlines()[-1].startswith("gankit: error: "), err
    assert path.read_bytes() == before  # the user's file is only read
