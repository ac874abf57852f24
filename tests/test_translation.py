"""Image-to-image translation: the nets (shapes, skips, patch sizes), paired data, pix2pix."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from gankit.config import resolve_config
from gankit.data import build_data
from gankit.data.images import ImageConfig
from gankit.data.paired import PairedSet
from gankit.errors import ConfigError, GankitError
from gankit.models import build_model
from gankit.nn.translation import (
    PatchDiscriminator,
    ResnetGenerator,
    UNetGenerator,
    receptive_field,
)

from .conftest import cli, model_case


@pytest.mark.parametrize("size, n_down", [(16, 4), (32, 5), (256, 8)])
def test_unet_maps_images_to_images_of_the_same_size(size, n_down):
    G = UNetGenerator(1, 3, n_down, width=8).eval()
    y = G(torch.randn(2, 1, size, size))
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1
    dropouts = [m for m in G.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == min(3, n_down - 2)


def test_unet_output_pixels_depend_most_on_the_input_around_them():
    """The skips carry detail straight across: an output pixel's strongest input is nearby."""
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 4, width=8).eval()
    x = torch.randn(1, 1, 16, 16, requires_grad=True)
    G(x)[0, 0, 5, 9].backward()
    grad = x.grad[0, 0].abs()
    assert grad[2:9, 6:13].sum() > 0.8 * grad.sum()  # most of it within 3 pixels


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_patchgan_logit_sees_its_receptive_field(n_layers):
    D = PatchDiscriminator(3, width=8, n_layers=n_layers).eval()
    size = 160
    x = torch.randn(1, 3, size, size, requires_grad=True)
    out = D(x)
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    cols = (x.grad[0].abs().sum((0, 1)) > 0).nonzero()
    seen = int(cols.max() - cols.min() + 1)
    assert seen == receptive_field(n_layers)
    assert receptive_field(3) == 70  # pix2pix's 70x70 PatchGAN


@pytest.mark.parametrize("norm", ["batch", "instance"])
def test_resnet_generator_shapes(norm):
    G = ResnetGenerator(3, 1, blocks=2, width=8, norm=norm)
    assert G(torch.randn(2, 3, 20, 28)).shape == (2, 1, 20, 28)


# ---------------------------------------------------------------- paired data and pix2pix


def twin_set(flip=True, crop=3) -> PairedSet:
    """A = B: whatever happens to a pair must happen to both halves alike."""
    x = torch.randint(0, 256, (6, 1, 5, 5), dtype=torch.uint8, generator=torch.Generator())
    return PairedSet(ImageConfig(name="twins", flip=flip), 0, (x, None), (x, None), "t", crop)


def test_pairs_are_shuffled_flipped_and_cropped_together():
    data = twin_set()
    for _ in range(4):
        a, b = data.batch(4)
        assert a.shape == b.shape == (4, 1, 3, 3) and torch.equal(a, b)
    a, b = data.pairs(6, "train")
    assert torch.equal(a, b) and a.shape == (6, 1, 3, 3)


def test_paired_state_restores_the_crops_too():
    data = twin_set()
    data.batch(3)
    state = copy.deepcopy(data.state_dict())
    want = [data.batch(4) for _ in range(3)]
    again = twin_set()
    again.load_state_dict(state)
    for a, _ in want:
        assert torch.equal(again.batch(4)[0], a)


def test_edges2digits_inputs_are_canny_edges_of_the_targets():
    from skimage.feature import canny

    data = build_data(resolve_config(data="edges2digits").data, seed=0)
    a, b = data.pairs(3, "test")
    assert a.shape == b.shape == (3, 1, 32, 32) and data.info()["channels_a"] == 1
    img = ((b[0, 0] + 1) * 127.5).round().numpy() / 255
    assert torch.equal(a[0, 0] > 0, torch.from_numpy(canny(img, sigma=1.0)))


def pix2pix(*extra):
    data_name, tiny = model_case("pix2pix")
    cfg = resolve_config(model="pix2pix", data=data_name, overrides=tiny + list(extra))
    data = build_data(cfg.data, seed=0)
    torch.manual_seed(0)
    model = build_model(cfg.model, data.shape, data_info=data.info())
    return model, data


def test_pix2pix_g_loss_is_cgan_plus_lambda_l1():
    model, data = pix2pix("model.lambda_l1=7")
    a, b = data.batch(4)
    torch.manual_seed(1)  # the same dropout masks in both forward passes of G
    want_l1 = F.l1_loss(model.nets["G"](a), b).item()
    torch.manual_seed(1)
    logs = model.train_step((a, b), 0)
    assert logs["loss/l1"].item() == pytest.approx(want_l1, rel=1e-6)
    gan_term = logs["loss/G"].item() - 7 * want_l1  # softplus(-D(a, G(a))) averaged: > 0
    assert 0 < gan_term < 10 and math.isfinite(logs["loss/D"].item())


def test_l1_alone_leaves_d_untouched():
    model, data = pix2pix("model.gan_weight=0")
    d0 = copy.deepcopy(model.nets["D"].state_dict())
    g0 = copy.deepcopy(model.nets["G"].state_dict())
    logs = model.train_step(data.batch(4), 0)
    assert "loss/D" not in logs
    assert logs["loss/G"].item() == pytest.approx(100 * logs["loss/l1"].item())
    assert all(torch.equal(v, model.nets["D"].state_dict()[k]) for k, v in d0.items())
    assert any(not torch.equal(v, model.nets["G"].state_dict()[k]) for k, v in g0.items())


def test_pix2pix_samples_are_input_output_target_panels():
    model, data = pix2pix()
    z = model.fixed_inputs(data, 5, torch.Generator())
    panels = model.sample(z=z)
    a, b = data.pairs(5, "test")
    assert panels.shape == (5, 1, 16, 48)
    assert torch.equal(panels[..., :16], a) and torch.equal(panels[..., 32:], b)
    torch.testing.assert_close(panels[..., 16:32], model.translate(a))
    assert torch.equal(model.translate(a), model.translate(a))  # fixed dropout masks
    with pytest.raises(GankitError, match="gankit translate"):
        model.sample(4)


def test_pix2pix_needs_paired_data():
    cfg = resolve_config(model="pix2pix", data="digits")
    data = build_data(cfg.data, seed=0)
    with pytest.raises(ConfigError, match="paired images"):
        build_model(cfg.model, data.shape, data_info=data.info())


# ---------------------------------------------------------------- gankit translate


def save_png(path, size, mode="L"):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    color = 128 if mode == "L" else (200, 10, 10)
    Image.new(mode, size, color).save(path)
    return path


def test_translate_keeps_names_and_sizes(pix2pix_run, tmp_path, capsys):
    from PIL import Image

    one = save_png(tmp_path / "in" / "odd.png", (37, 23))
    save_png(tmp_path / "in" / "sub" / "colour.png", (16, 16), "RGB")
    code, out, err = cli(capsys, "translate", pix2pix_run, one.parent, "--out", tmp_path / "out")
    assert code == 0, err
    assert Image.open(tmp_path / "out" / "odd.png").size == (37, 23)
    assert Image.open(tmp_path / "out" / "colour.png").size == (16, 16)
    assert "converted 1 image(s) to grey" in err  # the model was trained on grey images


def test_large_images_are_tiled_seamlessly():
    from gankit.translate import run_padded, run_tiled

    x = torch.randint(0, 256, (1, 3, 70, 45), dtype=torch.uint8)
    negate = lambda t: -t  # noqa: E731  (pointwise: tiles must add up to the whole)
    y = run_tiled(negate, x, tile=16, multiple=8, overlap=4)  # uint8 in, uint8 out
    assert y.dtype == torch.uint8 and torch.equal(y, 255 - x)
    assert run_padded(negate, x.float(), 16).shape == x.shape


def test_tiled_translation_matches_the_image_size(pix2pix_run, tmp_path, capsys):
    from PIL import Image

    big = save_png(tmp_path / "big.png", (70, 50))
    code, _, err = cli(
        capsys, "translate", pix2pix_run, big, "--out", tmp_path / "o", "--max-pixels", 100
    )
    assert code == 0, err
    assert Image.open(tmp_path / "o" / "big.png").size == (70, 50)


@pytest.mark.parametrize(
    "args, words",
    [
        (["--direction", "BtoA"], "A to B only"),
        (["--direction", "sideways"], "AtoB or BtoA"),
        (["--out", "{in}"], "is one of the inputs"),
    ],
)
def test_translate_mistakes(pix2pix_run, tmp_path, capsys, args, words):
    img = save_png(tmp_path / "in" / "a.png", (8, 8))
    before = img.read_bytes()
    args = [a.format(**{"in": tmp_path / "in"}) for a in args]
    out = [] if "--out" in args else ["--out", tmp_path / "out"]
    code, _, err = cli(capsys, "translate", pix2pix_run, img, *out, *args)
    assert code == 2 and words in err and err.count("\n") == 1
    assert img.read_bytes() == before


def test_translate_needs_a_translator(tmp_path, capsys):
    from gankit import api

    from .conftest import TINY

    api.train(None, "gan", "ring", [*TINY, "train.steps=2"], tmp_path / "gan")
    img = save_png(tmp_path / "a.png", (8, 8))
    code, _, err = cli(capsys, "translate", tmp_path / "gan", img, "--out", tmp_path / "o")
    assert code == 2 and "does not translate" in err


# ---------------------------------------------------------------- a person's own pairs


def paired_folder(tmp_path, **sizes):
    for i in range(3):
        save_png(tmp_path / "A" / f"p{i}.png", sizes.get(f"a{i}", (10, 10)))
        save_png(tmp_path / "B" / f"p{i}.png", sizes.get(f"b{i}", (10, 10)), "RGB")
    return tmp_path


def build_pairs(path, *extra):
    overrides = [f"data.path={path}", "data.img_size=8", "data.workers=0", *extra]
    return build_data(resolve_config(data="paired-folder", overrides=overrides).data, 0)


def test_paired_folder_of_a_and_b(tmp_path, capsys):
    data = build_pairs(paired_folder(tmp_path), "data.channels_a=1")
    a, b = data.batch(3)
    assert a.shape == (3, 1, 8, 8) and b.shape == (3, 3, 8, 8)
    assert capsys.readouterr().err == ""  # grey A, colour B: nothing converted
    build_pairs(tmp_path)  # A wanted in colour: the grey A images are converted, and it says so
    assert "converted 3 image(s)" in capsys.readouterr().err


def test_side_by_side_pairs_are_cut_in_half(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (20, 10), (255, 0, 0))
    img.paste((0, 0, 255), (10, 0, 20, 10))  # A red, B blue
    img.save(tmp_path / "ab.png")
    a, b = build_pairs(tmp_path).pairs(1, "train")
    assert a[0, 0].mean() > 0.9 and a[0, 2].mean() < -0.9  # red
    assert b[0, 2].mean() > 0.9 and b[0, 0].mean() < -0.9  # blue


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: (paired_folder(p), (p / "B" / "p1.png").unlink()), "has no B/ twin"),
        (lambda p: paired_folder(p, b2=(12, 10)), "A is 10x10 but B is 12x10"),
        (lambda p: save_png(p / "A" / "x.png", (8, 8)), "no B/"),
        (lambda p: save_png(p / "odd.png", (9, 8)), "even width"),
    ],
)
def test_bad_pairs_are_one_line_errors(tmp_path, make, words):
    from gankit.errors import DataError

    make(tmp_path)
    with pytest.raises(DataError, match=words):
        build_pairs(tmp_path)


def test_gray2color_pairs_grey_with_colour(tmp_path):
    for i in range(4):
        save_png(tmp_path / f"{i}.png", (12, 12), "RGB")
    overrides = [f"data.path={tmp_path}", "data.img_size=8", "data.workers=0"]
    overrides.append("data.test_fraction=0.25")
    data = build_data(resolve_config(data="gray2color", overrides=overrides).data, 0)
    a, b = data.pairs(4, "train")
    assert a.shape == (3, 1, 8, 8) and b.shape == (3, 3, 8, 8)  # 1 of 4 held out for test
    luma = (0.299 * b[:, 0] + 0.587 * b[:, 1] + 0.114 * b[:, 2])[:, None]
    torch.testing.assert_close(a, luma, atol=2 / 255, rtol=0)


# ---------------------------------------------------------------- CycleGAN


def cyclegan(*extra):
    data_name, tiny = model_case("cyclegan")
    cfg = resolve_config(model="cyclegan", data=data_name, overrides=tiny + list(extra))
    data = build_data(cfg.data, seed=0)
    torch.manual_seed(0)
    return build_model(cfg.model, data.shape, data_info=data.info()), data


def test_image_pool_keeps_the_last_fakes_and_mixes_old_ones_in():
    from gankit.models.cyclegan import ImagePool

    torch.manual_seed(0)
    pool = ImagePool(4, (1, 2, 2))
    first = torch.arange(4.0)[:, None, None, None].expand(4, 1, 2, 2)
    assert torch.equal(pool(first), first)  # filling up: the new fakes themselves
    out = pool(torch.full((200, 1, 2, 2), 9.0))
    old = (out != 9).all((1, 2, 3)).sum()
    assert 0 < old <= 4  # some older fakes came back, each at most once
    assert int(pool.count) == 4 and "images" in pool.state_dict()


def test_cycle_loss_is_the_round_trip_l1():
    model, data = cyclegan("model.lambda_identity=0")
    a, b = data.batch(4)
    n = model.nets
    want = F.l1_loss(n["G_BA"](n["G_AB"](a)), a) + F.l1_loss(n["G_AB"](n["G_BA"](b)), b)
    logs = model.train_step((a, b), 0)
    assert logs["loss/cycle"].item() == pytest.approx(want.item(), rel=1e-5)
    assert "loss/identity" not in logs


def test_cyclegan_panels_and_both_directions():
    model, data = cyclegan()
    z = model.fixed_inputs(data, 2, torch.Generator())
    panels = model.sample(z=z)
    assert panels.shape == (4, 3, 8, 24)
    a, b = data.pairs(2, "test")
    torch.testing.assert_close(panels[:2, :, :, 8:16], model.translate(a, "AtoB"))
    torch.testing.assert_close(panels[2:, :, :, 8:16], model.translate(b, "BtoA"))
    with pytest.raises(GankitError, match="AtoB or BtoA"):
        model.translate(a, "up")


def test_identity_loss_needs_equal_channels(tmp_path):
    with pytest.raises(ConfigError, match="lambda_identity"):
        cyclegan("data.channels_a=1")


def test_translate_a_to_b_and_back_with_cyclegan(tmp_path, capsys):
    from gankit import api

    data_name, tiny = model_case("cyclegan")
    api.train(None, "cyclegan", data_name, [*tiny, "train.steps=2"], tmp_path / "run")
    img = save_png(tmp_path / "x.png", (10, 14), "RGB")
    for direction in ("AtoB", "BtoA"):
        out = tmp_path / direction
        code, _, err = cli(
            capsys, "translate", tmp_path / "run", img, "--out", out, "--direction", direction
        )
        assert code == 0, err and (out / "x.png").is_file()


# ---------------------------------------------------------------- CyCADA's semantic loss


def semantic_case(tmp_path, *extra):
    """A tiny CycleGAN with the semantic loss on MNIST <-> a fake USPS at 8x8: (config
    overrides, model, data); its classifiers, 4 channels wide, train for 2 batches."""
    from .test_images import fake_usps

    opts = [o for o in model_case("cyclegan")[1] if not o.startswith("data.")]
    opts += [f"data.usps_path={fake_usps(tmp_path / 'usps.h5')}", "data.img_size=8"]
    opts += ["model.lambda_semantic=1", "model.semantic_steps=2", "model.semantic_width=4"]
    opts += ["train.metrics=[]", *extra]
    cfg = resolve_config(model="cyclegan", data="mnist-usps", overrides=opts)
    data = build_data(cfg.data, seed=0)
    torch.manual_seed(0)
    model = build_model(cfg.model, data.shape, data_info=data.info())
    model.start(cfg.train)
    return opts, model, data


def test_semantic_loss_is_the_cross_entropy_to_the_source_images_class():
    from gankit.models.cyclegan import semantic_loss

    def f(x):  # "classifier": the logits are the first three pixels
        return x.flatten(1)[:, :3]

    source = torch.tensor([[0.0, 2.0, 1.0, 9.0], [5.0, 0.0, 0.0, 9.0]]).view(2, 1, 2, 2)
    moved = torch.tensor([[0.0, 1.0, 0.0, 7.0], [0.0, 0.0, 0.0, 7.0]]).view(2, 1, 2, 2)
    # classes 1 and 0 (the argmax of the source's logits), then the mean cross-entropy
    want = (-math.log(math.e / (2 + math.e)) - math.log(1 / 3)) / 2
    assert semantic_loss(f, source, moved).item() == pytest.approx(want, rel=1e-6)


def test_each_generator_is_judged_by_the_classifier_of_the_domain_it_translates_from(tmp_path):
    """f_A sees only A's images and G_AB's translations of them, f_B only B's and G_BA's: no
    generator is steered by a classifier trained on its target domain's labels."""
    _, model, data = semantic_case(tmp_path)
    model.prepare(data)
    n, seen = model.nets, {"f_A": [], "f_B": []}
    for name, inputs in seen.items():
        n[name].register_forward_hook(lambda m, args, out, inputs=inputs: inputs.append(args[0]))
    a, b = data.batch(4)
    with torch.no_grad():
        want = {"f_A": [a, n["G_AB"](a)], "f_B": [b, n["G_BA"](b)]}
        semantic = sum(semantic_loss_of(n, k, *want[k]) for k in want)
    seen_before = {k: len(v) for k, v in seen.items()}
    logs = model.train_step((a, b), 0)
    for name in seen:
        got = seen[name][seen_before[name] :]
        assert len(got) == 2, name
        assert all(torch.equal(g, w) for g, w in zip(got, want[name], strict=True)), name
    assert logs["loss/semantic"].item() == pytest.approx(semantic.item(), rel=1e-5)


def semantic_loss_of(nets, name, source, moved):
    from gankit.models.cyclegan import semantic_loss

    return semantic_loss(nets[name], source, moved)


def test_semantic_loss_moves_the_generators_and_leaves_the_classifiers(tmp_path):
    _, model, data = semantic_case(tmp_path)
    model.prepare(data)
    plain = copy.deepcopy(model)
    plain.cfg.lambda_semantic = 0.0
    plain.optimizers = plain.configure_optimizers()
    classifiers = {k: v.clone() for k, v in model.nets.state_dict().items() if k[:2] == "f_"}
    batch = data.batch(4)
    torch.manual_seed(1)
    model.train_step(batch, 0)
    torch.manual_seed(1)
    plain.train_step(batch, 0)
    for G in ("G_AB", "G_BA"):
        params = zip(model.nets[G].parameters(), plain.nets[G].parameters(), strict=True)
        assert any(not torch.equal(p, q) for p, q in params), G
    after = model.nets.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in classifiers.items())
    assert all(bool(model.nets[f].trained) for f in ("f_A", "f_B"))


def test_classifiers_train_on_their_own_seed_and_leave_the_run_s_random_stream():
    from gankit.nn.digits import fit_classifier

    x, y = torch.rand(20, 1, 8, 8) * 2 - 1, torch.arange(20) % 10
    torch.manual_seed(5)
    before = torch.get_rng_state()
    one, two = (fit_classifier(x, y, 2, seed=3, width=4) for _ in range(2))
    assert torch.equal(torch.get_rng_state(), before)
    for p, q in zip(one.state_dict().values(), two.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    assert not any(p.requires_grad for p in one.parameters()) and not one.training


def test_resume_with_the_semantic_loss_is_exact_and_keeps_the_classifiers(tmp_path, monkeypatch):
    """Killed after step 2 and resumed: the classifiers come from the checkpoint (training them
    again would fail here) and the end state equals the uninterrupted run's bit for bit."""
    import shutil

    from gankit import api
    from gankit.training.checkpoint import list_checkpoints, load_checkpoint

    from .test_contract import assert_same

    # bf16 and 32x32 as the preset on CPUs that have bf16: the classifiers shrink bf16 images
    sets = ["train.steps=4", "train.ckpt_every=2", "train.precision=bf16", "data.img_size=32"]
    opts, _, _ = semantic_case(tmp_path, *sets)
    whole = api.train(model="cyclegan", data="mnist-usps", overrides=opts, out=tmp_path / "whole")
    shutil.copytree(tmp_path / "whole", tmp_path / "killed")
    (tmp_path / "killed" / "checkpoints" / "step_0000004.pt").unlink()

    def refit(*args, **kwargs):
        raise AssertionError("a resumed run trained its classifiers again")

    monkeypatch.setattr("gankit.models.cyclegan.fit_classifier", refit)
    api.resume(tmp_path / "killed")
    a, b = (load_checkpoint(list_checkpoints(r / "checkpoints")[-1]) for r in
            (whole.run.path, tmp_path / "killed"))  # fmt: skip
    assert a["nets"]["f_A.trained"] and "f_B.net.head.weight" in a["nets"]
    for key in a.keys() - {"elapsed"}:
        assert_same(a[key], b[key], key)


def test_semantic_loss_needs_labelled_domains(tmp_path, capsys):
    data, tiny = model_case("cyclegan")  # unpaired-folder: no labels
    code, _, err = cli(
        capsys, "train", "--model", "cyclegan", "--data", data, "--out", tmp_path / "run",
        *(f"--set={o}" for o in [*tiny, "model.lambda_semantic=1", "data.channels_a=1",
                                  "data.channels_b=1"]),
    )  # fmt: skip
    assert code == 2 and err.count("\n") == 1 and "model.lambda_semantic" in err, err
    assert "set it to 0" in err


def test_mnist_usps_keeps_labels_and_names_a_missing_file(tmp_path):
    from gankit.errors import DataError

    from .test_images import fake_usps

    path = fake_usps(tmp_path / "usps.h5")
    data = build_data(
        resolve_config(data="mnist-usps", overrides=[f"data.usps_path={path}"]).data, 0
    )
    a, b = data.batch(3)
    assert a.shape == b.shape == (3, 1, 32, 32)
    usps = data.domain("B")
    assert usps.num_classes == 10 and len(usps.test[0]) == 5
    x, y = data.labelled("B")  # for the semantic loss's classifiers: the whole train split
    assert x.shape == (12, 1, 32, 32) and torch.equal(
        y.sort().values, (torch.arange(12) % 10).sort().values
    )
    assert data.info()["num_classes"] == [10, 10]
    missing = [f"data.usps_path={tmp_path / 'nope.h5'}"]
    with pytest.raises(DataError, match="nope.h5 does not exist"):
        build_data(resolve_config(data="mnist-usps", overrides=missing).data, 0)


# ---------------------------------------------------------------- metrics


def test_paired_scores_equal_hand_computed_values():
    from gankit.metrics.translation import paired_scores

    real = torch.full((2, 1, 16, 16), -1.0)  # black, 0 on the [0, 1] scale
    same = paired_scores(real, real)
    assert same["l1"] == 0 and same["ssim"] == pytest.approx(1.0)
    grey = torch.full_like(real, 1 / 255 * 2 * 51 - 1)  # 51 / 255 = 0.2 everywhere
    s = paired_scores(grey, real)
    assert s["l1"] == pytest.approx(0.2, abs=1e-6)
    assert s["psnr"] == pytest.approx(10 * math.log10(1 / 0.2**2), abs=1e-3)  # 13.98 dB
    assert s["ssim"] < 0.1  # constant images: only the luminance term, 1e-4 / (0.04 + 1e-4)


def test_translation_metric_scores_pix2pix_runs_and_only_those(pix2pix_run, capsys):
    import json

    code, out, err = cli(capsys, "eval", pix2pix_run, "--metric", "translation", "--n", "4")
    assert code == 0, err
    row = json.loads((pix2pix_run / "metrics.jsonl").read_text().splitlines()[-1])
    assert 0 < row["eval/l1"] < 2 and -1 <= row["eval/ssim"] <= 1 and row["eval/psnr"] > 0
    assert "n=4 pairs" in row["eval/translation_protocol"]

    from gankit.errors import MetricError
    from gankit.metrics.translation import translation

    data = build_data(resolve_config(data="digits").data, seed=0)
    with pytest.raises(MetricError, match="needs paired data"):
        translation.check(data)


def test_usps_classifier_data_is_28x28_in_range(tmp_path):
    from gankit.metrics.classifier import load_split

    from .test_images import fake_usps

    xtr, ytr, xte, yte = load_split("usps", str(fake_usps(tmp_path / "usps.h5")))
    assert xtr.shape == (12, 1, 28, 28) and xte.shape == (5, 1, 28, 28)
    assert -1 <= xtr.min() and xtr.max() <= 1 and ytr.tolist() == [i % 10 for i in range(12)]


def test_shipped_usps_classifier_loads():
    from gankit.metrics.classifier import classifier_info, load_classifier

    net = load_classifier("usps")
    assert net(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
    assert classifier_info("usps")["test_acc"] > 0.9
