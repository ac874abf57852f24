"""`gankit serve` without a browser: what each control of the page returns for tiny runs of
every kind, the one-line errors of bad input, damaged and training runs, and that no path
from a page reaches the file system. The page in a real browser: test_serve_browser.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.serve import actions
from gankit.serve.runs import ServedRun, find_runs
from tests.conftest import cli, leave_stale_marker, model_case

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def tiny_run(root: Path, name: str, *extra: str) -> Path:
    """A run of registered model `name` trained 2 steps on its tiny case."""
    from gankit import api

    data, tiny = model_case(name)
    out = root / name
    api.train(None, name, data, [*tiny, "train.steps=2", *extra], out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, ServedRun]:
    root = tmp_path_factory.mktemp("serve")
    for name in ("dcgan", "cdcgan", "cyclegan", "seqgan", "musegan", "gan"):
        tiny_run(root, name)
    return {r.key: r for r in find_runs([root])}


@pytest.fixture
def uploads(tmp_path) -> Path:
    folder = tmp_path / "uploads"
    folder.mkdir()
    return folder


def png(path: Path, size=(20, 12), mode="RGB") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
    return path


# ------------------------------------------------------------------ images


def copy_run(run, tmp_path: Path) -> Path:
    """A copy of a served run's folder, to damage or change without touching the shared one."""
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    return copy


def test_a_folder_of_runs_gives_a_tab_per_run_with_what_its_model_declares(runs):
    assert sorted(runs) == ["cdcgan", "cyclegan", "dcgan", "gan", "musegan", "seqgan"]
    kinds = {k: (r.kind, r.conditional) for k, r in runs.items()}
    assert kinds["dcgan"] == ("image", False) and kinds["cdcgan"] == ("image", True)
    assert kinds["cyclegan"][0] == "unpaired" and kinds["seqgan"][0] == "text"
    assert runs["cdcgan"].class_names == [str(i) for i in range(10)]
    assert "temperature" in runs["seqgan"].sample_options
    assert all(not r.problem and "step 2 of 2" in r.status() for r in runs.values())


def test_sampling_returns_a_grid_of_the_right_size_reproducible_by_seed(runs):
    run = runs["dcgan"]
    a = actions.sample_images(run, 10, 3)
    # 10 digits of 8x8, enlarged 8x to 64 pixels, 4 a row, 2-pixel gaps: 4 x 3 cells
    assert a.dtype == np.uint8 and a.shape == (3 * 66 + 2, 4 * 66 + 2, 3)
    assert np.array_equal(a, actions.sample_images(run, 10, 3))
    assert not np.array_equal(a, actions.sample_images(run, 10, 4))
    want = actions.grid(run.model().sample(10, seed=3), 4)
    assert np.array_equal(a, want)


def test_a_class_is_drawn_on_its_own_or_every_class_gets_a_column(runs):
    run = runs["cdcgan"]
    sevens = actions.sample_images(run, 4, 0, "7")
    want = run.model().sample(4, seed=0, labels=torch.full((4,), 7))
    assert np.array_equal(sevens, actions.grid(want, 2))
    every = actions.sample_images(run, 12, 0, "")  # rounded up to 2 rows of the 10 classes
    assert every.shape == (2 * 66 + 2, 10 * 66 + 2, 3)
    with pytest.raises(GankitError, match="no class '11'"):
        actions.sample_images(run, 4, 0, "11")


def test_interpolation_starts_at_one_seed_and_ends_at_the_other(runs):
    run = runs["dcgan"]
    at0, path = actions.interpolate(run, 5, 6, 0.0)
    at1, _ = actions.interpolate(run, 5, 6, 1.0)
    model = run.model()
    z5 = model.noise(1, torch.Generator().manual_seed(5))
    z6 = model.noise(1, torch.Generator().manual_seed(6))
    cell = 4 * actions.CELL
    assert at0.shape == (cell, cell, 3) and path.shape == (66 + 2, 8 * 66 + 2, 3)  # one: no border
    # slerp's end points: atol 1 for the rounding of a sin-weighted sum near .5
    assert np.abs(at0.astype(int) - actions.grid(model.sample(z=z5), 1, cell)).max() <= 1
    assert np.abs(at1.astype(int) - actions.grid(model.sample(z=z6), 1, cell)).max() <= 1
    with pytest.raises(GankitError, match="position must be from 0 to 1"):
        actions.interpolate(run, 5, 6, 1.5)


def test_points_are_drawn_as_a_picture(runs):
    pic = actions.sample_images(runs["gan"], 64, 0)
    assert pic.ndim == 3 and pic.shape[2] == 3 and pic.shape[0] > 100


@pytest.mark.parametrize(
    "n, seed, message",
    [(0, 0, "number of samples"), (65, 0, "number of samples"), (2.5, 0, "whole number"),
     (4, -1, "seed"), (4, None, "seed")],
)  # fmt: skip
def test_bad_numbers_are_one_line_errors(runs, n, seed, message):
    with pytest.raises(GankitError, match=message):
        actions.sample_images(runs["dcgan"], n, seed)


def test_a_control_of_another_kind_of_model_says_what_the_run_is(runs):
    with pytest.raises(GankitError, match="seqgan run: it does not draw images"):
        actions.sample_images(runs["seqgan"], 4, 0)


# ------------------------------------------------------------------ translation
def test_an_uploaded_png_is_translated_both_ways_at_its_own_size(runs, uploads):
    run = runs["cyclegan"]
    up = png(uploads / "photo.png", (20, 12))
    seen, ab, out = actions.translate_upload(run, str(up), "AtoB", uploads, 10**6)
    _, ba, out_ba = actions.translate_upload(run, str(up), "BtoA", uploads, 10**6)
    assert seen.shape == ab.shape == ba.shape == (12, 20, 3) and not np.array_equal(ab, ba)
    assert out.name == "photo_AtoB.png" and out_ba.name == "photo_BtoA.png"
    from PIL import Image

    with Image.open(out) as img:
        assert img.size == (20, 12) and np.array_equal(np.array(img), ab)


def test_a_grey_upload_is_converted_to_what_the_model_expects(runs, uploads):
    up = png(uploads / "grey.png", (8, 8), mode="L")
    seen, y, _ = actions.translate_upload(runs["cyclegan"], str(up), "AtoB", uploads, 10**6)
    assert seen.shape == y.shape == (8, 8, 3)


def test_an_upload_that_is_not_an_image_is_a_clear_message(runs, uploads):
    bad = uploads / "notes.txt"
    bad.write_text("not an image")
    with pytest.raises(GankitError, match=r"^notes.txt cannot be read as an image") as e:
        actions.translate_upload(runs["cyclegan"], str(bad), "AtoB", uploads, 10**6)
    assert str(uploads) not in str(e.value)  # the server's own paths stay on the server


def test_a_huge_image_is_refused_from_its_header(runs, uploads):
    up = png(uploads / "big.png", (40, 30))
    with pytest.raises(GankitError, match=r"big.png is 40x30 = 1,200 pixels, above the limit"):
        actions.translate_upload(runs["cyclegan"], str(up), "AtoB", uploads, 1000)


def test_no_path_outside_the_uploads_reaches_the_file_system(runs, uploads, tmp_path):
    run = runs["cyclegan"]
    secret = png(tmp_path / "secret.png")
    (uploads / "link.png").symlink_to(secret)
    for path in (str(secret), str(uploads / ".." / "secret.png"), str(uploads / "link.png")):
        with pytest.raises(GankitError, match="only files uploaded through this page"):
            actions.translate_upload(run, path, "AtoB", uploads, 10**6)
    with pytest.raises(GankitError, match="upload an image first"):
        actions.translate_upload(run, None, "AtoB", uploads, 10**6)


# ------------------------------------------------------------------ text and music
def test_text_comes_back_as_lines_and_follows_the_temperature(runs):
    run = runs["seqgan"]
    vocab = set(run.info["vocab"])
    text = actions.generate_text(run, 5, 0, 1.0)
    lines = text.split("\n")
    assert len(lines) == 5 and all(set(line.split()) <= vocab for line in lines)
    assert text == actions.generate_text(run, 5, 0, 1.0)
    assert actions.generate_text(run, 5, 0, 0.1) != actions.generate_text(run, 5, 0, 2.0)
    with pytest.raises(GankitError, match="temperature must be from"):
        actions.generate_text(run, 5, 0, 0.0)


def test_music_comes_back_as_wav_midi_and_a_piano_roll(runs):
    import pretty_midi

    wav, mid, png_path = actions.generate_music(runs["musegan"], 2, 0)
    with wave.open(str(wav)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (1, 16_000, 2)
        assert w.getnframes() > 16_000  # two 1-bar segments at 100 bpm: > 2 s
    assert mid.read_bytes()[:4] == b"MThd" and pretty_midi.PrettyMIDI(str(mid)).instruments
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_panel_reads_metrics_curves_and_config(runs):
    run = runs["dcgan"]
    assert actions.curves(run).read_bytes()[:4] == b"\x89PNG"
    assert "model:" in actions.config_text(run)
    assert isinstance(actions.metrics_table(run), list)


# ------------------------------------------------------------------ damaged and busy runs
def test_a_damaged_run_is_refused_with_a_message_and_the_others_still_serve(runs, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.yaml").write_text("model: [")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    served = find_runs([bad, foreign, runs["dcgan"].path])
    assert "cannot read config" in served[0].status()
    assert "not a gankit run" in served[1].status()
    with pytest.raises(GankitError, match="cannot read config"):
        actions.sample_images(served[0], 4, 0)
    assert actions.sample_images(served[2], 4, 0).shape[2] == 3


def test_a_truncated_checkpoint_is_a_message_on_use(runs, tmp_path):

    copy = copy_run(runs["dcgan"], tmp_path)
    ckpt = sorted((copy / "checkpoints").glob("*.pt"))[-1]
    ckpt.write_bytes(ckpt.read_bytes()[:100])
    run = ServedRun.open(copy, "run")
    with pytest.raises(GankitError, match="truncated or not a gankit checkpoint"):
        actions.sample_images(run, 4, 0)


def test_a_run_still_training_says_so_and_serves_its_newest_checkpoint(runs, tmp_path):

    from gankit.training.run import RunDir

    copy = copy_run(runs["dcgan"], tmp_path)
    run = ServedRun.open(copy, "run")
    assert run.status() == "dcgan on digits, step 2 of 2"
    with RunDir(copy).training():  # as the Trainer marks it while it trains
        assert "step 2 of 2; still training" in run.status()
        assert actions.sample_images(run, 4, 0).shape[2] == 3
        for p in (copy / "checkpoints").glob("*.pt"):
            p.unlink()
        with pytest.raises(GankitError, match="still training and has written no checkpoint"):
            actions.sample_images(ServedRun.open(copy, "run"), 4, 0)
    assert "still training" not in run.status()


def test_a_run_whose_trainer_was_killed_is_not_training(runs, tmp_path):

    copy = copy_run(runs["dcgan"], tmp_path)
    for p in (copy / "checkpoints").glob("*.pt"):
        p.unlink()
    leave_stale_marker(copy)
    run = ServedRun.open(copy, "run")
    assert (copy / "training.json").exists() and "still training" not in run.status()
    with pytest.raises(GankitError, match="has no checkpoint; train it first"):
        actions.sample_images(run, 4, 0)


def test_a_newer_checkpoint_is_picked_up(runs, tmp_path):

    from gankit.training.checkpoint import load_checkpoint, save_checkpoint

    copy = copy_run(runs["dcgan"], tmp_path)
    run = ServedRun.open(copy, "run")
    before = actions.sample_images(run, 4, 0)
    state = load_checkpoint(sorted((copy / "checkpoints").glob("*.pt"))[-1])
    for v in state["nets"].values():
        if v.is_floating_point():
            v.mul_(0.5)
    save_checkpoint(copy / "checkpoints", 3, state, keep_last=3)
    assert run.step() == 3 and not np.array_equal(before, actions.sample_images(run, 4, 0))


# ------------------------------------------------------------------ one request at a time
def test_concurrent_requests_to_one_model_each_get_their_own_correct_grid(runs):
    run = runs["cdcgan"]
    want = {s: actions.sample_images(run, 9, s) for s in range(12)}
    got: dict = {}

    def ask(s):
        got[s] = actions.sample_images(run, 9, s)

    threads = [threading.Thread(target=ask, args=(s,)) for s in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[s], want[s]) for s in want)


# ------------------------------------------------------------------ the page and the command
def test_the_page_has_the_controls_each_run_declares(runs, uploads):
    pytest.importorskip("gradio")
    from gankit.serve.app import build_app

    demo = build_app(list(runs.values()), uploads, 10**6)
    ids = {c.get("props", {}).get("elem_id") for c in demo.config["components"]}
    assert {"dcgan-sample", "dcgan-interpolate", "dcgan-t", "cdcgan-class"} <= ids
    assert {"cyclegan-upload", "cyclegan-direction", "cyclegan-download"} <= ids
    assert {"seqgan-temperature", "musegan-audio", "musegan-midi", "gan-sample"} <= ids
    assert "gan-interpolate" not in ids and "dcgan-upload" not in ids
    names = {d.get("api_name") for d in demo.config["dependencies"]}
    assert {"dcgan_sample", "cyclegan_translate", "seqgan_text", "musegan_music"} <= names


def test_a_mistake_in_a_handler_is_one_line_in_the_page(runs):
    gr = pytest.importorskip("gradio")
    from gankit.serve.app import shown

    with pytest.raises(gr.Error, match=r"^'?the number of samples must be a whole number"):
        shown(lambda: actions.sample_images(runs["dcgan"], 0, 0))()


def test_serve_without_gradio_is_one_line_and_exit_2(capsys, monkeypatch, runs):
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if it were not installed
    code, _, err = cli(capsys, "serve", runs["dcgan"].path)
    assert code == 2 and 'pip install "gankit[serve]"' in err and len(err.splitlines()) == 1


def test_serve_of_a_missing_folder_is_one_line_and_exit_2(capsys, tmp_path):
    code, _, err = cli(capsys, "serve", tmp_path / "nothing")
    assert code == 2 and "does not exist" in err


def test_importing_gankit_does_not_import_gradio():
    code = "import sys, gankit, gankit.cli, gankit.serve; sys.exit('gradio' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
