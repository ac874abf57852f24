"""Image GANs end to end on tiny settings: train, resume exactly, sample by class, pictures."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import api
from gankit.errors import ConfigError
from gankit.viz.pictures import nearest_images, slerp

from .conftest import IMAGE_TINY, TRAIN_TINY, tiny_model
from .conftest import cli as run

TINY = IMAGE_TINY + TRAIN_TINY


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("img") / "run"
    api.train(None, "cdcgan", "digits", TINY + ["train.steps=10", "train.metrics=[]"], out)
    return out


def test_conditional_run_draws_one_row_per_class(cond_run):
    for name in ("interpolation.png", "nearest.png"):
        assert (cond_run / "pictures" / name).is_file()
    snap = np.load(cond_run / "samples" / "step_0000010.npy")
    assert snap.shape == (100, 1, 8, 8)  # 10 classes x 10, one row each
    info = json.loads((cond_run / "data.json").read_text())
    assert info["shape"] == [1, 8, 8] and info["num_classes"] == 10


def test_sample_by_class(cond_run, capsys, tmp_path):
    model = api.load(cond_run)
    a = model.sample(6, seed=1, labels=torch.full((6,), 3))
    b = model.sample(6, seed=1, labels=torch.full((6,), 7))
    assert a.shape == (6, 1, 8, 8) and not torch.equal(a, b)  # the label changes the image
    assert torch.equal(a, model.sample(6, seed=1, labels=torch.full((6,), 3)))
    out = tmp_path / "threes.npy"
    code, _, _ = run(capsys, "sample", cond_run, "--n", 6, "--seed", 1, "--class", 3, "--out", out)
    assert code == 0 and np.array_equal(np.load(out), a.numpy())


def test_class_outside_the_models_classes(cond_run, capsys, tmp_path):
    out = tmp_path / "x.png"
    code, _, err = run(capsys, "sample", cond_run, "--class", 10, "--out", out)
    assert code == 2 and "0..9" in err and "Traceback" not in err and not out.exists()
    with pytest.raises(ConfigError, match="0..9"):
        api.load(cond_run).sample(2, labels=torch.tensor([0, -1]))


def test_class_option_needs_a_conditional_model(tmp_path, capsys):
    run_dir = tmp_path / "run"
    api.train(None, "dcgan", "digits", TINY + ["train.steps=2", "train.metrics=[]"], run_dir)
    code, _, err = run(capsys, "sample", run_dir, "--class", 1, "--out", tmp_path / "x.png")
    assert code == 2 and "conditional" in err


def test_eval_against_data_of_another_shape(cond_run, capsys):
    before = (cond_run / "metrics.jsonl").read_text()
    code, _, err = run(capsys, "eval", cond_run, "--metric", "fid", "--data", "lfw-faces")
    assert code == 2 and "shape" in err and "Traceback" not in err
    assert (cond_run / "metrics.jsonl").read_text() == before


def test_time_limit_ends_training_early(tmp_path):
    sets = TINY + ["train.metrics=[]", "train.steps=1000", "train.time_limit=0.001"]
    trainer = api.train(None, "dcgan", "digits", sets, tmp_path / "run")
    assert trainer.step == 1  # the first step already passes the limit
    assert (tmp_path / "run" / "checkpoints" / "step_0000001.pt").is_file()


def test_folder_of_images_from_the_command_line(tmp_path, capsys):
    folder = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (folder / cls).mkdir(parents=True)
        for i in range(6):
            px = rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)
            Image.fromarray(px).save(folder / cls / f"{i}.png")
    args = ["train", "--data", folder, "--out", tmp_path / "run", "--steps", 3]
    args += [a for s in TINY + ["data.img_size=8"] for a in ("--set", s)]
    code, out, err = run(capsys, *args)
    assert code == 0, err
    cfg = (tmp_path / "run" / "config.yaml").read_text()
    assert "name: dcgan" in cfg and "name: folder" in cfg  # images get the conv GAN by default


def test_slerp_ends_and_norms():
    z0, z1 = torch.randn(3, 16), torch.randn(3, 16)
    path = slerp(z0, z1, torch.linspace(0, 1, 5))
    assert path.shape == (3, 5, 16)
    assert torch.allclose(path[:, 0], z0, atol=1e-5) and torch.allclose(path[:, -1], z1, atol=1e-5)


def test_nearest_images_finds_the_copy_across_pieces():
    train = torch.randn(50, 1, 4, 4)
    samples = train[[7, 3, 42]] + 0.01
    pieces = [(train[s : s + 16], None) for s in range(0, 50, 16)]
    assert torch.equal(nearest_images(samples, pieces), train[[7, 3, 42]])


def test_metrics_with_protocols_reach_tensorboard_and_the_console(tmp_path, capsys):
    sets = TINY + ["train.steps=2", "train.tensorboard=true", "train.n_samples=100"]
    args = ["train", "--model", "dcgan", "--data", "mnist5k", "--out", tmp_path / "run"]
    code, out, err = run(capsys, *args, *[a for s in sets for a in ("--set", s)])
    assert code == 0, err
    assert "fid_classifier" in out and "n_gen=" not in out  # protocols go to metrics.jsonl
    rows = [
        json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    ]
    assert "n_gen=100" in rows[-1]["eval/fid_classifier_protocol"]
    assert list((tmp_path / "run" / "tb").glob("events.*"))


def test_defaults_pair_models_with_data_that_fits():
    from gankit.config import resolve_config

    assert resolve_config(model="dcgan").data.name == "mnist5k"
    assert resolve_config(model="cgan").data.name == "mnist5k"  # conditional: needs classes
    assert resolve_config(data="fashion-mnist").model.name == "dcgan"
    assert (resolve_config().model.name, resolve_config().data.name) == ("gan", "ring")


def test_cgan_has_batch_norm_in_g_and_dropout_in_d_unless_turned_off():
    # the two settings that made the MLP cGAN learn MNIST's classes (benchmarks/conditional.py)
    def layers(model, net, kind):
        return [m for m in model.nets[net].modules() if isinstance(m, kind)]

    model, _, _ = tiny_model("cgan")
    assert layers(model, "G", torch.nn.BatchNorm1d) and layers(model, "G", torch.nn.LeakyReLU)
    assert [m.p for m in layers(model, "D", torch.nn.Dropout)] == [0.3]
    plain, _, _ = tiny_model("cgan", extra=["model.g_norm=false", "model.d_dropout=0"])
    assert not layers(plain, "G", torch.nn.BatchNorm1d) and layers(plain, "G", torch.nn.ReLU)
    assert not layers(plain, "D", torch.nn.Dropout)
