"""DiffAugment (gankit.nn.augment, model.augment): each transformation on hand-made images, its
draws, its seeding, and its place in the game (D's and G's steps, checkpoints, the config)."""

from __future__ import annotations

import shutil

import pytest
import torch

from gankit import api
from gankit.batch import split_batch
from gankit.config import resolve_config
from gankit.data import build_data
from gankit.errors import ConfigError
from gankit.nn import augment as A
from gankit.training.checkpoint import list_checkpoints, load_checkpoint

from .conftest import cli, model_case, sets, tiny_model

ALL = ("color", "translation", "cutout")
ON = "model.augment=color,translation,cutout"


def ones(n: int = 1, c: int = 1, h: int = 8, w: int = 8, dtype=torch.float32):
    return torch.ones(n, c, h, w, dtype=dtype)


def draw(part: str, n: int = 4, size=(16, 16), seed: int = 0) -> dict:
    return A.draw((part,), n, size, torch.Generator().manual_seed(seed))


# ------------------------------------------------------------ each transformation


@pytest.mark.parametrize("part", ALL)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_each_transformation_keeps_shape_and_dtype_and_passes_gradients(part, dtype):
    x = torch.randn(4, 3, 16, 12, dtype=dtype, requires_grad=True)
    y = A.apply(x, (part,), draw(part, size=(16, 12)))
    assert y.shape == x.shape and y.dtype == x.dtype
    y.float().square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0, part


def test_translation_moves_a_pixel_by_the_offset_and_fills_with_zeros():
    x = torch.zeros(2, 1, 8, 8)
    x[:, 0, 3, 4] = 1.0
    y = A.translate(x, torch.tensor([1, -3]), torch.tensor([-1, 2]))
    assert y[0, 0, 4, 3] == 1 and y[0].sum() == 1  # down 1, left 1
    assert y[1, 0, 0, 6] == 1 and y[1].sum() == 1  # up 3, right 2
    full = A.translate(ones(1), torch.tensor([2]), torch.tensor([-1]))
    assert (full[0, 0, :2] == 0).all() and (full[0, 0, :, -1:] == 0).all()  # what came in
    assert full.sum() == 6 * 7


def test_translation_draws_at_most_an_eighth_of_each_side():
    p = A.draw(("translation",), 2000, (32, 16), torch.Generator().manual_seed(0))
    assert p["dy"].min() == -4 and p["dy"].max() == 4  # every offset of the range is drawn
    assert p["dx"].min() == -2 and p["dx"].max() == 2
    tiny = A.draw(("translation",), 50, (4, 4), torch.Generator().manual_seed(0))
    assert (tiny["dy"] == 0).all()  # under 8 pixels: no whole-pixel eighth to move by


def test_cutout_zeroes_a_square_of_half_the_side():
    y = A.cutout(ones(1, 3), torch.tensor([4]), torch.tensor([5]))
    hole = y[0] == 0
    assert (hole == hole[0]).all()  # every channel alike
    rows, cols = hole[0].nonzero().unbind(1)
    assert hole[0].sum() == 16 and (rows.min(), rows.max(), cols.min(), cols.max()) == (2, 5, 3, 6)
    # a centre at the border: the part of the square inside the image
    edge = A.cutout(ones(1), torch.tensor([0]), torch.tensor([8]))
    assert (edge == 0).sum() == 2 * 2 and (edge[0, 0, :2, 6:] == 0).all()


def test_drawn_cutouts_are_squares_clipped_at_the_border():
    size = 12
    p = draw("cutout", n=500, size=(size, size))
    y = A.cutout(ones(500, 1, size, size), p["cy"], p["cx"])
    for img in y[:, 0]:
        rows, cols = (img == 0).nonzero().unbind(1)
        assert len(rows) > 0  # never entirely outside
        h, w = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert h * w == len(rows) and h <= size // 2 and w <= size // 2  # one clipped square
    # whole when the centre is 3..9 of 0..12 on both axes: (7 / 13)^2 = 0.29 of the time
    assert ((y == 0).sum((1, 2, 3)) == (size // 2) ** 2).float().mean() > 0.2


def test_colour_changes_stay_within_their_ranges():
    p = draw("color", n=5000)
    for key, (low, high) in {
        "brightness": (-0.5, 0.5),
        "saturation": (0.0, 2.0),
        "contrast": (0.5, 1.5),
    }.items():
        v = p[key]
        assert low <= v.min() and v.max() < high and v.max() - v.min() > 0.95 * (high - low), key
    x = torch.rand(3, 3, 4, 4) * 2 - 1
    torch.testing.assert_close(A.brightness(x, torch.tensor([0.5, -0.5, 0.0])), x + torch.tensor(
        [0.5, -0.5, 0.0]).view(3, 1, 1, 1))  # fmt: skip
    grey = A.saturation(x, torch.zeros(3))  # factor 0: every channel the pixel's grey
    torch.testing.assert_close(grey, x.mean(1, keepdim=True).expand_as(x))
    torch.testing.assert_close(A.saturation(x, torch.ones(3)), x)
    flat = A.contrast(x, torch.full((3,), 0.5))  # halves each image's spread about its mean
    mean = x.mean((1, 2, 3), keepdim=True)
    torch.testing.assert_close(flat - mean, 0.5 * (x - mean))
    assert torch.equal(A.saturation(x[:, :1], torch.full((3,), 1.7)), x[:, :1])  # grey stays


def test_the_same_seed_gives_the_same_augmentation():
    x = torch.randn(6, 3, 16, 16)

    def run(seed: int):
        return A.diff_augment(x, ALL, torch.Generator().manual_seed(seed))

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))
    assert A.diff_augment(x, (), torch.Generator()) is x  # no policy: the images themselves


def test_processes_draw_the_global_batch_and_keep_their_rows():
    x = torch.randn(8, 1, 16, 16)
    one = A.diff_augment(x, ALL, torch.Generator().manual_seed(1))
    gens = [torch.Generator().manual_seed(1) for _ in range(2)]
    parts = [A.diff_augment(x[4 * r : 4 * r + 4], ALL, gens[r], r, 2) for r in range(2)]
    assert torch.equal(torch.cat(parts), one)  # two processes augment as one does
    assert torch.equal(gens[0].get_state(), gens[1].get_state())  # rank 0's checkpoint fits all


# ------------------------------------------------------------ in the game

IMAGE_MODELS = ["dcgan", "cdcgan", "lsgan", "cgan", "unrolled-dcgan", "progan"]


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_an_image_model_trains_with_augmentation_through_d_and_g(name, monkeypatch):
    model, data, _ = tiny_model(name, extra=[ON])
    assert model.augment_policy == ALL
    seen = []  # (batch rows, whether the images carry G's gradient) per augmentation
    real = type(model).augment

    def spy(self, x):
        seen.append((x.shape[0], x.requires_grad))
        return real(self, x)

    monkeypatch.setattr(type(model), "augment", spy)
    before = {k: v.clone() for k, v in model.nets.state_dict().items()}
    logs = model.train_step(data.batch(32 * model.batches_per_step), step=0)
    assert all(torch.isfinite(v) for v in logs.values())
    assert any(grad for _, grad in seen), "G's step sees no augmented fakes"
    assert any(not grad for _, grad in seen), "D's step sees no augmented images"
    after = model.nets.state_dict()
    for net in ("G", "D"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + "."))


def test_gradient_reaches_g_through_the_augmentation():
    model, _, _ = tiny_model("dcgan", extra=["model.augment=translation,cutout"])
    model.start(resolve_config(model="dcgan").train)
    fake = model.generate(model.noise(8))
    model.discriminate(fake).sum().backward()
    grads = [p.grad for p in model.nets["G"].parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0


def test_augmentation_off_is_the_game_unchanged():
    model, data, _ = tiny_model("dcgan")
    assert model.augment_policy == ()
    x = split_batch(data.batch(8))[0]
    torch.testing.assert_close(model.discriminate(x), model.judge(x))
    assert "augment" not in model.training_state()  # checkpoints as before


@pytest.mark.parametrize("name", ["dcgan", "progan"])
def test_resume_with_augmentation_equals_the_uninterrupted_run_bit_for_bit(name, tmp_path):
    data, tiny = model_case(name)
    opts = [*tiny, ON, "train.steps=4", "train.ckpt_every=2", "train.metrics=[]"]
    whole = api.train(model=name, data=data, overrides=opts, out=tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")
    (tmp_path / "killed" / "checkpoints" / "step_0000004.pt").unlink()
    api.resume(tmp_path / "killed")
    a, b = (load_checkpoint(list_checkpoints(r / "checkpoints")[-1]) for r in
            (whole.run.path, tmp_path / "killed"))  # fmt: skip
    assert "augment" in a and torch.equal(a["augment"], b["augment"])
    for net, weights in a["nets"].items():
        assert torch.equal(weights, b["nets"][net]), net


def test_the_seed_chooses_the_augmentation():
    def states(seed: int) -> torch.Tensor:
        model, _, cfg = tiny_model("dcgan", extra=[ON, f"train.seed={seed}"])
        model.start(cfg.train)
        return model.augment_rng.get_state()

    assert torch.equal(states(1), states(1)) and not torch.equal(states(1), states(2))


# ------------------------------------------------------------ the option


def test_a_bad_policy_is_a_config_error_naming_the_choices(capsys):
    with pytest.raises(ConfigError, match="model.augment must be a comma-separated list of color"):
        resolve_config(model="dcgan", overrides=["model.augment=color,colour"])
    assert resolve_config(model="dcgan", overrides=["model.augment=color, cutout"])
    code, _, err = cli(capsys, "train", "--model", "dcgan", *sets("model.augment=flip"))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "model.augment" in err


@pytest.mark.parametrize("name", ["gan", "pix2pix", "musegan", "seqgan"])
def test_models_that_do_not_judge_images_have_no_augment_option(name):
    with pytest.raises(ConfigError, match=r"model.augment' \(an option of cdcgan, cgan, dcgan"):
        resolve_config(model=name, overrides=[ON])


# ------------------------------------------------------------ a small training set


def test_data_limit_takes_a_fixed_subset_and_keeps_the_test_split():
    def build(seed: int, limit: int):
        return build_data(resolve_config(data="mnist5k", overrides=[f"data.limit={limit}"]).data,
                          seed=seed)  # fmt: skip

    a, b, full = build(0, 100), build(7, 100), build(0, 0)
    assert len(a.images) == 100 and torch.equal(a.images, b.images)  # not the run's seed
    assert a.info()["n_train"] == 100 and a.info()["n_test"] == full.info()["n_test"]
    assert torch.equal(a.test[0], full.test[0])
    assert a.key() != full.key()  # cached features of one are never taken for the other
    with pytest.raises(ConfigError, match="data.limit is 5000, but mnist5k has only 4000"):
        build(0, 5000)
