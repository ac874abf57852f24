"""ProGAN: its layers against hand computation, the fade-in, the growth schedule, bad input,
exact resume in mid-fade, and a command-line run that grows 4 -> 8 -> 16 with phase grids."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit import api
from gankit.cli import main
from gankit.config import resolve_config
from gankit.data import build_data
from gankit.errors import DataError
from gankit.losses import epsilon_drift
from gankit.models import build_model
from gankit.models.progan import Growth, ProGANDiscriminator, ProGANGenerator, real_at, upsample
from gankit.nn.progressive import EqualizedConv2d, EqualizedLinear, MinibatchStd, PixelNorm
from gankit.training.checkpoint import list_checkpoints, load_checkpoint
from gankit.training.progress import ProgressBar

from .conftest import PROGAN_TINY, TRAIN_TINY
from .conftest import cli as run

TINY = PROGAN_TINY + TRAIN_TINY + ["train.metrics=[]"]


# ---------------------------------------------------------------- layers


def test_pixel_norm_divides_each_pixel_by_its_rms_over_channels():
    x = torch.tensor([3.0, 1.0, 4.0, -2.0]).view(1, 2, 1, 2)  # pixels (3, 4) and (1, -2)
    out = PixelNorm(eps=0.0)(x)
    expected = torch.tensor([3 / math.sqrt(12.5), 1 / math.sqrt(2.5), 4 / math.sqrt(12.5),
                             -2 / math.sqrt(2.5)]).view(1, 2, 1, 2)  # fmt: skip
    torch.testing.assert_close(out, expected)


def test_minibatch_std_appends_the_mean_std_of_each_group():
    # groups of 2 over a batch of 4: samples (0, 2) and (1, 3)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 4.0], [1.0, 1.0]]).view(4, 1, 1, 2)
    out = MinibatchStd(group=2, eps=0.0)(x)
    assert out.shape == (4, 2, 1, 2) and torch.equal(out[:, :1], x)
    # group (0, 2): population stds |0 - 2| / 2 = 1 and |0 - 4| / 2 = 2, mean 1.5; group (1, 3): 0
    torch.testing.assert_close(
        out[:, 1], torch.tensor([1.5, 0.0, 1.5, 0.0]).view(4, 1, 1).expand(4, 1, 2)
    )
    # a batch that does not split into groups of 4 gets a constant 0 feature
    assert torch.equal(MinibatchStd(group=4)(torch.randn(6, 1, 1, 2))[:, 1], torch.zeros(6, 1, 2))
    assert MinibatchStd.mixes_samples  # so real and fake go through D apart


def test_equalised_layers_draw_unit_weights_and_scale_them_by_the_he_constant():
    torch.manual_seed(0)
    conv, lin = EqualizedConv2d(16, 32, 3, padding=1), EqualizedLinear(64, 8, gain=1.0)
    assert 0.9 < conv.weight.std().item() < 1.1 and not conv.bias.any()
    assert conv.scale == pytest.approx(math.sqrt(2) / math.sqrt(16 * 9))
    assert lin.scale == pytest.approx(1 / 8)
    x = torch.randn(2, 16, 5, 5)
    torch.testing.assert_close(conv(x), F.conv2d(x, conv.weight * math.sqrt(2 / 144), padding=1))
    v = torch.randn(3, 64)
    torch.testing.assert_close(lin(v), v @ (lin.weight / 8).T)
    # the scale is applied at run time, so Adam sees unit-scale weights: the gradient of the
    # stored weight is scale times that of the effective one
    lin(v).sum().backward()
    torch.testing.assert_close(lin.weight.grad, v.sum(0).expand(8, 64) / 8)


# ---------------------------------------------------------------- fade-in and schedule


def tiny_nets(levels=2):
    torch.manual_seed(0)
    growth = Growth(levels, stable=10, fade=10)
    return ProGANGenerator(8, 1, [8] * (levels + 1), growth), ProGANDiscriminator(
        1, [8] * (levels + 1)
    )


@pytest.mark.parametrize("level", [1, 2])
def test_generator_fade_in_runs_from_the_old_output_upscaled_to_the_new_block(level):
    G, _ = tiny_nets()
    z = torch.randn(4, 8)
    old = upsample(G.synthesize(z, level - 1))
    assert torch.equal(G.synthesize(z, level, 0.0), old)
    h = G.start(z)
    for block in G.blocks[:level]:
        h = block(h)
    new = G.to_rgb[level](h)
    assert torch.equal(G.synthesize(z, level, 1.0), new)
    torch.testing.assert_close(G.synthesize(z, level, 0.25), old + 0.25 * (new - old))


@pytest.mark.parametrize("level", [1, 2])
def test_discriminator_fade_in_runs_from_the_old_path_to_the_new_block(level):
    _, D = tiny_nets()
    x = torch.randn(8, 1, 4 << level, 4 << level)
    old = D(F.avg_pool2d(x, 2), level - 1)
    assert torch.equal(D(x, level, 0.0), old)
    h = D.from_rgb[level](x)
    for block in reversed(D.blocks[:level]):
        h = block(h)
    assert torch.equal(D(x, level, 1.0), D.head(h).flatten())


def test_generator_samples_the_phase_training_reached_at_the_target_size():
    G, _ = tiny_nets()
    z = torch.randn(3, 8)
    G.images_seen.fill_(10 + 5)  # half-way through 8x8's fade-in
    assert torch.equal(G(z), upsample(G.synthesize(z, 1, 0.5), 2))  # nearest: 8x8 -> 16x16
    G.images_seen.fill_(10**6)
    assert torch.equal(G(z), G.synthesize(z, 2))


def test_schedule_from_images_shown():
    g = Growth(levels=3, stable=100, fade=50)  # 4x4 for 100; then fade 50 + stable 100 each
    table = {0: (0, 1.0), 99: (0, 1.0), 100: (1, 0.0), 125: (1, 0.5), 150: (1, 1.0),
             249: (1, 1.0), 250: (2, 0.0), 280: (2, 0.6), 400: (3, 0.0), 449: (3, 0.98),
             450: (3, 1.0), 10**7: (3, 1.0)}  # fmt: skip
    assert {n: g.at(n) for n in table} == table
    assert g.steps_to_grow(lambda level: 10) == 45  # 450 images to fade in 32x32
    # 100 / 50 = 2 steps; (250 - 100) / 20 -> 8 steps (to 260); (400 - 260) / 10 = 14; 50 / 10 = 5
    assert g.steps_to_grow(lambda level: (50, 20, 10, 10)[level]) == 29
    assert Growth(0, 100, 50).at(10**6) == (0, 1.0)


def test_real_images_are_average_pooled_to_the_phase_and_faded_like_g():
    x = torch.arange(64.0).view(1, 1, 8, 8)
    by_hand = x.view(1, 1, 4, 2, 4, 2).mean((3, 5))  # 2x2 block means
    assert torch.equal(real_at(x, 0), by_hand)
    assert torch.equal(real_at(x, 1), x)
    assert torch.equal(real_at(x, 1, 0.0), upsample(by_hand))
    torch.testing.assert_close(real_at(x, 1, 0.5), 0.5 * upsample(by_hand) + 0.5 * x)


def test_critic_loss_is_wgan_gp_plus_the_epsilon_drift():
    assert epsilon_drift(torch.tensor([1.0, -2.0, 3.0])).item() == pytest.approx(14 / 3)
    cfg = resolve_config(model="progan", data="digits", overrides=TINY)
    model = build_model(cfg.model, (1, 8, 8))
    x_real, x_fake = torch.randn(8, 1, 4, 4), torch.randn(8, 1, 4, 4)
    loss_d, logs = model.d_loss(x_real, x_fake)
    d_real, d_fake = model.discriminate(x_real), model.discriminate(x_fake)
    assert logs["loss/drift"].item() == pytest.approx(d_real.pow(2).mean().item(), rel=1e-5)
    expected = d_fake.mean() - d_real.mean() + 10 * logs["loss/gp"] + 0.001 * logs["loss/drift"]
    assert loss_d.item() == pytest.approx(expected.item(), rel=1e-5)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "sets, words",
    [
        (["data.img_size=12"], ["power of two", "12x12"]),
        (["data.img_size=16"], ["smaller than the target resolution 16x16", "model.upscale=true"]),
        (["train.steps=3"], ["needs 4 steps to fade in 8x8", "train.steps is 3"]),
        (["model.batch_sizes={12: 8}"], ["batch_sizes has resolution 12", "powers of two"]),
        (["train.compile=true"], ["torch.compile does not support", "drop train.compile"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, sets, words):
    out = tmp_path / "run"
    args = ["train", "--model", "progan", "--data", "digits", "--out", out]
    code, _, err = run(capsys, *args, *[a for s in TINY + sets for a in ("--set", s)])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    assert not out.exists()  # nothing written


def test_batch_sizes_above_the_target_are_unused():
    cfg = resolve_config(model="progan", data="digits", overrides=TINY)  # 8x8
    cfg.model.batch_sizes = {4: 6, 8: 10, 64: 2}  # e.g. a preset's schedule for 64x64
    data = build_data(cfg.data, seed=0)
    model = build_model(cfg.model, data.shape, data_info=data.info())
    assert [model.level_batch(level, 99) for level in (0, 1)] == [6, 10]


def test_upscaled_data_trains_when_asked():
    cfg = resolve_config(model="progan", data="lfw-faces", overrides=TINY)  # 25x25 -> 32x32
    data = build_data(cfg.data, seed=0)
    assert data.info()["n_upscaled"] == 100 and data.info()["upscaled_from"] == 25
    with pytest.raises(DataError, match="100 of the 100 training images are smaller"):
        build_model(cfg.model, data.shape, data_info=data.info())
    cfg.model.upscale = True
    assert build_model(cfg.model, data.shape, data_info=data.info()).growth.target == 32


# ---------------------------------------------------------------- training


def test_resume_in_mid_fade_is_exact(tmp_path):
    """4x4 for steps 0-1, 8x8 fading in over steps 2-5; killed after step 4 (alpha 0.5)."""
    sets = TINY + ["model.fade_images=128", "train.ckpt_every=4", "train.ema=0.9"]
    straight = api.train(None, "progan", "digits", sets + ["train.steps=8"], tmp_path / "a")
    stopped = api.train(None, "progan", "digits", sets + ["train.steps=8"], tmp_path / "b")
    (tmp_path / "b" / "checkpoints" / "step_0000008.pt").unlink()  # as if killed after step 4
    saved = load_checkpoint(tmp_path / "b" / "checkpoints" / "step_0000004.pt")["nets"]
    assert stopped.model.growth.at(int(saved["G.images_seen"])) == (1, 0.5)
    resumed = api.prepare_resume(tmp_path / "b")
    assert resumed.step == 4 and resumed.model.images_seen == 128
    assert resumed.model.growth.at(resumed.model.images_seen) == (1, 0.5)
    assert resumed.model.phase == "8x8"
    resumed.fit()
    a, b = straight.state_dict(), resumed.state_dict()
    assert a["nets"].keys() == b["nets"].keys()
    for key, value in a["nets"].items():  # G, D, G_ema and the images-shown counter
        assert torch.equal(value, b["nets"][key]), key
    for name, opt in a["optimizers"].items():
        for pid, st in opt["state"].items():
            assert torch.equal(st["exp_avg_sq"], b["optimizers"][name]["state"][pid]["exp_avg_sq"])


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A folder of 20x20 photos, trained from the command line up to 16x16 in 16 steps."""
    root = tmp_path_factory.mktemp("progan")
    rng = np.random.default_rng(0)
    (root / "photos").mkdir()
    for i in range(12):
        px = np.full((20, 20, 3), rng.integers(0, 255, 3), dtype=np.uint8)
        x, y = rng.integers(0, 10, 2)
        px[y : y + 8, x : x + 8] = 255 - px[0, 0]
        Image.fromarray(px).save(root / "photos" / f"{i}.png")
    sets = TRAIN_TINY + PROGAN_TINY + [
        "data.img_size=16", "data.workers=0", "model.stable_images=32", "model.fade_images=32",
        "model.batch_sizes={4: 16, 8: 8, 16: 8}", "train.batch_size=8", "train.sample_every=4",
        "train.report=true",
    ]  # fmt: skip
    args = ["train", "--model", "progan", "--data", root / "photos", "--steps", 16]
    args += ["--out", root / "run", *[a for s in sets for a in ("--set", s)]]
    with pytest.raises(SystemExit) as e:
        main([str(a) for a in args])
    assert e.value.code == 0
    return root / "run"


def test_run_grows_through_every_phase_with_a_grid_for_each(grown):
    # 4x4: 32 images at 16 (2 steps); 8x8 up to 96 at 8 (8 steps); 16x16 from step 10, at 8
    state = load_checkpoint(list_checkpoints(grown / "checkpoints")[-1])
    assert state["step"] == 16 and int(state["nets"]["G.images_seen"]) == 32 + 64 + 6 * 8
    rows = [json.loads(line) for line in (grown / "metrics.jsonl").read_text().splitlines()]
    ends = [(r["phase"], r["step"]) for r in rows if "event" in r]
    assert ends == [("4x4", 2), ("8x8", 10), ("16x16", 16)]
    for phase in ("4x4", "8x8", "16x16"):
        assert (grown / "samples" / f"phase_{phase}.png").is_file()
    # every grid is at the target size; 4x4 samples are upscaled with nearest neighbours
    small = np.load(grown / "samples" / "phase_4x4.npy")
    assert small.shape == (100, 3, 16, 16)
    assert np.array_equal(small, small[..., ::4, ::4].repeat(4, -2).repeat(4, -1))
    assert not np.array_equal(small, np.load(grown / "samples" / "phase_8x8.npy"))
    page = (grown / "report.html").read_text()
    section = page[page.index("<h2>Phases</h2>") :]
    for phase, step in ends:  # a row per phase: its name, when it ended, its grid
        assert f'<td>{phase}</td><td class="num">{step}</td>' in section
        assert f'href="samples/phase_{phase}.png"' in section
    assert (grown / "phases.gif").is_file()


def test_sample_from_a_progan_run_is_at_the_target_resolution(grown, capsys, tmp_path):
    out = tmp_path / "s.npy"
    code, _, err = run(capsys, "sample", grown, "--n", 6, "--out", out)
    assert code == 0, err
    x = np.load(out)
    assert x.shape == (6, 3, 16, 16) and np.isfinite(x).all()
    assert api.load(grown).sampler == "G_ema"  # the EMA copy of G samples


def test_progress_bar_shows_the_phase_and_alpha(capsys):
    with ProgressBar(10, 0) as bar:
        bar.update(3, {"loss/D": 1.0, "alpha": 0.25}, phase="16x16")
    out = capsys.readouterr().out
    assert "train 16x16" in out and "alpha 0.25" in out
